//! `allowed_outbound_hosts`: the destinations a module's outbound HTTP may reach, as
//! patterns checked when the module loads, and the rule for addresses that are not public.
//!
//! The grammar of one pattern:
//!
//! ```text
//! pattern = scheme "://" host [ ":" port ]
//! scheme  = "http" / "https"
//! host    = "*"              ; any host name (never an address literal)
//!         / "*." name        ; any name under `name` (not `name` itself)
//!         / name             ; exactly this name, case-insensitive
//!         / ipv4 / "[" ipv6 "]"   ; exactly this address
//! port    = 1-65535 / "*"    ; absent: the scheme's default, 80 or 443
//! name    = label *( "." label ), each label 1-63 letters, digits or `-`
//! ```
//!
//! No path, query, user or trailing `/`. An address that is not public (loopback, private,
//! link-local, ...: [`super::public_addresses`]) is reachable only through a pattern naming
//! that address, whatever name led to it.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use serde::Deserialize;
use wasmtime_wasi::WasiCtxBuilder;

use super::capability::Capability;
use super::policy::GrantPolicy;
use super::public_addresses::is_public;

/// The scheme of a destination or pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The port a URL without one means.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }

    fn parse(text: &str) -> Option<Scheme> {
        match text {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if *self == Scheme::Http { "http" } else { "https" })
    }
}

/// A destination's host: a name (lowercase) or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A DNS name, lowercased.
    Name(String),
    /// An address literal.
    Addr(IpAddr),
}

impl Host {
    /// The host of a URL authority (`example.com`, `127.0.0.1`, `[::1]`).
    pub fn parse(text: &str) -> Host {
        let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(addr) => Host::Addr(addr),
            Err(_) => Host::Name(text.to_ascii_lowercase()),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Addr(IpAddr::V6(addr)) => write!(f, "[{addr}]"),
            Host::Addr(addr) => write!(f, "{addr}"),
        }
    }
}

/// Where one request goes: scheme, host and port (the default one filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Its scheme.
    pub scheme: Scheme,
    /// Its host.
    pub host: Host,
    /// Its port.
    pub port: u16,
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    AnyName,
    Subdomains(String),
    Exact(Host),
}

/// One checked pattern of `allowed_outbound_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundPattern {
    scheme: Scheme,
    host: HostPattern,
    /// `None` for any port.
    port: Option<u16>,
}

impl OutboundPattern {
    /// Parses one pattern, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<OutboundPattern, String> {
        let bad = |why: &str| {
            format!(
                "`{text}` is not an outbound host pattern ({why}); e.g. \"https://api.example.com\", \"http://127.0.0.1:*\", \"https://*.example.com:8443\""
            )
        };
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad("no `scheme://`"))?;
        let scheme = Scheme::parse(scheme).ok_or_else(|| bad("the scheme must be http or https"))?;
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("only scheme, host and port: no path, query or user"));
        }
        let (host, port) = match rest.rfind(':') {
            Some(colon) if !rest[colon..].contains(']') => (&rest[..colon], Some(&rest[colon + 1..])),
            _ => (rest, None),
        };
        let port = match port {
            None => Some(scheme.default_port()),
            Some("*") => None,
            Some(port) => {
                Some(port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("the port must be 1-65535 or *"))?)
            }
        };
        let host = if host == "*" {
            HostPattern::AnyName
        } else if let Some(suffix) = host.strip_prefix("*.") {
            HostPattern::Subdomains(
                valid_name(suffix).ok_or_else(|| bad("a `*.` wildcard must be followed by a host name"))?,
            )
        } else if host.starts_with('[') {
            match Host::parse(host) {
                Host::Addr(addr @ IpAddr::V6(_)) => HostPattern::Exact(Host::Addr(addr)),
                _ => return Err(bad("not an IPv6 address in brackets")),
            }
        } else if let Ok(addr) = host.parse::<Ipv4Addr>() {
            HostPattern::Exact(Host::Addr(IpAddr::V4(addr)))
        } else {
            HostPattern::Exact(Host::Name(valid_name(host).ok_or_else(|| bad("not a host name, address or wildcard"))?))
        };
        Ok(OutboundPattern { scheme, host, port })
    }

    fn matches(&self, destination: &Destination) -> bool {
        let host = match (&self.host, &destination.host) {
            (HostPattern::AnyName, Host::Name(_)) => true,
            (HostPattern::Subdomains(suffix), Host::Name(name)) => {
                name.strip_suffix(suffix.as_str()).is_some_and(|head| head.len() > 1 && head.ends_with('.'))
            }
            (HostPattern::Exact(host), other) => host == other,
            _ => false,
        };
        host && self.scheme == destination.scheme && self.port.is_none_or(|port| port == destination.port)
    }
}

impl fmt::Display for OutboundPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme)?;
        match &self.host {
            HostPattern::AnyName => f.write_str("*")?,
            HostPattern::Subdomains(suffix) => write!(f, "*.{suffix}")?,
            HostPattern::Exact(host) => write!(f, "{host}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => f.write_str(":*"),
        }
    }
}

/// A lowercased host name if `text` is one.
fn valid_name(text: &str) -> Option<String> {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    (text.len() <= 253 && text.split('.').all(label_ok)).then(|| text.to_ascii_lowercase())
}

/// `allowed_outbound_hosts = ["http://127.0.0.1:*", "https://api.example.com"]`: empty
/// (the default) allows nothing. Cheap to clone: every instance of a module shares it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedOutboundHosts(Arc<[OutboundPattern]>);

impl AllowedOutboundHosts {
    /// The list of `patterns`, or the first one's mistake.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<AllowedOutboundHosts, String> {
        let parsed: Result<Vec<_>, _> = patterns.iter().map(|p| OutboundPattern::parse(p.as_ref())).collect();
        Ok(AllowedOutboundHosts(parsed?.into()))
    }

    /// The patterns, as the canonical text each parses back from.
    pub fn patterns(&self) -> impl Iterator<Item = &OutboundPattern> {
        self.0.iter()
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a pattern allows `destination`.
    pub fn allows(&self, destination: &Destination) -> bool {
        self.0.iter().any(|pattern| pattern.matches(destination))
    }

    /// Whether a pattern names the address `addr` itself for `scheme`, on `port` exactly
    /// when one is given (on any port otherwise): what the operator's list must do for a
    /// module to reach an address that is not public, or, with the port, this host's own.
    pub fn names_address(&self, scheme: Scheme, addr: IpAddr, port: Option<u16>) -> bool {
        let addr = addr.to_canonical();
        self.0.iter().any(|pattern| {
            matches!(&pattern.host, HostPattern::Exact(Host::Addr(named)) if named.to_canonical() == addr)
                && pattern.scheme == scheme
                && port.is_none_or(|port| pattern.port == Some(port))
        })
    }

    /// Whether a pattern allows the address `addr` itself (for `destination`'s scheme and
    /// port): what an address that is not public needs.
    pub fn allows_address(&self, destination: &Destination, addr: IpAddr) -> bool {
        self.allows(&Destination { host: Host::Addr(addr), ..destination.clone() })
    }
}

impl From<Vec<OutboundPattern>> for AllowedOutboundHosts {
    fn from(patterns: Vec<OutboundPattern>) -> Self {
        AllowedOutboundHosts(patterns.into())
    }
}

impl<'de> Deserialize<'de> for AllowedOutboundHosts {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patterns = Vec::<String>::deserialize(deserializer)?;
        AllowedOutboundHosts::parse(&patterns).map_err(serde::de::Error::custom)
    }
}

impl Capability for AllowedOutboundHosts {
    const KEY: &'static str = "allowed_outbound_hosts";

    /// Every pattern was checked as it was read; one naming an address that is not public
    /// needs the operator's list to name that address too.
    fn admit(&mut self, policy: &GrantPolicy) -> Result<(), String> {
        for pattern in self.0.iter() {
            let HostPattern::Exact(Host::Addr(addr)) = pattern.host else { continue };
            if !is_public(addr) && !policy.names_address(pattern.scheme, addr) {
                return Err(format!(
                    "grants.{}: `{pattern}` names {addr}, which is not a public address (loopback, private, link-local, ...); \
                     the host allows it only when its --allowed-outbound-hosts (SPAWN_WASM_ALLOWED_OUTBOUND_HOSTS) names that address too",
                    Self::KEY
                ));
            }
        }
        Ok(())
    }

    /// Nothing reaches the WASI context: `wasi:http` asks [`super::OutboundHttp`] per request.
    fn grant(&self, _wasi: &mut WasiCtxBuilder) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination(scheme: Scheme, host: &str, port: u16) -> Destination {
        Destination { scheme, host: Host::parse(host), port }
    }

    #[test]
    fn patterns_match_scheme_host_and_port() {
        let allowed = AllowedOutboundHosts::parse(&[
            "http://127.0.0.1:*",
            "https://api.example.com",
            "https://*.example.org:8443",
            "http://[::1]:8080",
            "http://*:81",
        ])
        .unwrap();
        let yes = [
            destination(Scheme::Http, "127.0.0.1", 9),
            destination(Scheme::Https, "API.example.com", 443),
            destination(Scheme::Https, "a.b.example.org", 8443),
            destination(Scheme::Http, "[::1]", 8080),
            destination(Scheme::Http, "anything.test", 81),
        ];
        let no = [
            destination(Scheme::Https, "127.0.0.1", 9),
            destination(Scheme::Https, "api.example.com", 444),
            destination(Scheme::Http, "api.example.com", 443),
            destination(Scheme::Https, "example.org", 8443),
            destination(Scheme::Https, "evilexample.org", 8443),
            destination(Scheme::Http, "10.0.0.1", 81),
        ];
        assert!(yes.iter().all(|d| allowed.allows(d)), "{yes:?}");
        assert!(no.iter().all(|d| !allowed.allows(d)), "{no:?}");
    }

    #[test]
    fn malformed_patterns_are_named_with_the_reason() {
        for (pattern, reason) in [
            ("api.example.com", "no `scheme://`"),
            ("ftp://a.example", "http or https"),
            ("https://a.example/path", "no path"),
            ("https://a.example:0", "1-65535"),
            ("https://a.example:http", "1-65535"),
            ("https://*.", "wildcard"),
            ("https://a*.example", "not a host name"),
            ("https://[127.0.0.1]", "IPv6"),
            ("https://", "not a host name"),
        ] {
            let error = OutboundPattern::parse(pattern).unwrap_err();
            assert!(error.contains(pattern) && error.contains(reason), "{pattern}: {error}");
        }
    }
}
