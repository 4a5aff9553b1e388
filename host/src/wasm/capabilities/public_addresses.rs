//! Which addresses are public: anything else (loopback, private, link-local, shared,
//! documentation, benchmarking, multicast, reserved, unspecified, and IPv6 forms standing
//! for such an IPv4 address) is reachable only when granted by address, by the module and
//! the operator both.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `addr` is an ordinary public address; anything else (loopback, private,
/// link-local, shared, documentation, benchmarking, multicast, reserved, unspecified) is
/// reachable only when granted by address.
pub fn is_public(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) if v6.is_loopback() || v6.is_unspecified() => false,
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => {
                let [first, second, ..] = v6.segments();
                !(v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00 // unique local
                    || (first & 0xffc0) == 0xfe80 // link-local
                    || (first & 0xffc0) == 0xfec0 // site-local (deprecated, still routed locally)
                    || (first == 0x64 && second == 0xff9b) // local-use NAT64, 64:ff9b:1::/48
                    || (first == 0x2001 && second == 0x0db8)) // documentation
            }
        },
    }
}

/// The IPv4 address an IPv6 address stands for, in the forms that reach one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated), well-known NAT64
/// (`64:ff9b::a.b.c.d`) and 6to4 (`2002:aabb:ccdd::`).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let v4 = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    if let Some(mapped) = v6.to_ipv4_mapped() {
        return Some(mapped);
    }
    match s {
        [0, 0, 0, 0, 0, 0, high, low] | [0x64, 0xff9b, 0, 0, 0, 0, high, low] => Some(v4(high, low)),
        [0x2002, high, low, ..] => Some(v4(high, low)),
        _ => None,
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // shared address space
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 240)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ordinary_addresses_are_public() {
        for addr in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::8.8.8.8",
            "::10.0.0.1",
            "2002:a00:1::",
            "2002:7f00:1::1",
            "fec0::1",
        ] {
            assert!(!is_public(addr.parse().unwrap()), "{addr}");
        }
        for addr in ["93.184.216.34", "1.1.1.1", "2606:4700::1111", "64:ff9b::1.1.1.1", "2002:101:101::"] {
            assert!(is_public(addr.parse().unwrap()), "{addr}");
        }
    }
}
