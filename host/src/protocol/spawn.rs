//! The Spawn wire protocol: prost types generated from `proto/`, and the conventions around
//! `google.protobuf.Any` type URLs that every part of the host shares.

#![allow(missing_docs)] // generated code; the .proto files carry the documentation.

/// `spawn.actors`: actor definitions, ids, settings.
pub mod actors {
    include!(concat!(env!("OUT_DIR"), "/spawn.actors.rs"));
}

/// `spawn.state`: persisted-state messages.
pub mod state {
    include!(concat!(env!("OUT_DIR"), "/spawn.state.rs"));
}

include!(concat!(env!("OUT_DIR"), "/spawn.rs"));

/// The encoded `google.protobuf.FileDescriptorSet` of the Spawn protocol (with its imports),
/// for JSON conversions.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/spawn.fds"));

/// The prefix of every type URL we emit, as the proxy and the other SDKs do.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// The protocol version we announce in `ServiceInfo` (the proxy reports 1.2).
pub const PROTOCOL_MAJOR_VERSION: i32 = 1;
/// See [`PROTOCOL_MAJOR_VERSION`].
pub const PROTOCOL_MINOR_VERSION: i32 = 2;

/// Whether two type URLs name the same message, tolerating the spellings seen in the wild:
/// any prefix before the last `/`, a leading `.`, the case of the name and underscores
/// (the proxy lower-cases package segments and drops `_` when it builds a type URL).
pub fn same_type_url(a: &str, b: &str) -> bool {
    fn normal(url: &str) -> impl Iterator<Item = char> + '_ {
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        name.trim_start_matches('.').chars().filter(|c| *c != '_').map(|c| c.to_ascii_lowercase())
    }
    normal(a).eq(normal(b))
}

/// An `Any` with an empty type URL carries no value (the proxy sends such an `Any` for
/// "no state"); this maps it to `None`.
pub fn non_empty(any: Option<prost_types::Any>) -> Option<prost_types::Any> {
    any.filter(|any| !any.type_url.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Name;

    #[test]
    fn type_urls_match_tolerantly() {
        assert!(same_type_url("type.googleapis.com/domain.JoeState", "domain.JoeState"));
        assert!(same_type_url("type.googleapis.com/my_pkg.State", "/mypkg.State"));
        assert!(same_type_url(".Domain.joestate", "type.googleapis.com/domain.JoeState"));
        assert!(!same_type_url("domain.JoeState", "domain.Counter"));
        assert!(!same_type_url("domain.Joe", "domain.JoeState"));
    }

    #[test]
    fn generated_type_urls_use_the_google_prefix() {
        assert_eq!(JsonType::type_url(), "type.googleapis.com/spawn.JSONType");
        assert_eq!(actors::ActorId::type_url(), "type.googleapis.com/spawn.actors.ActorId");
    }

    #[test]
    fn empty_any_is_no_value() {
        assert_eq!(non_empty(Some(prost_types::Any::default())), None);
        let any = prost_types::Any { type_url: "x.Y".into(), value: vec![] };
        assert_eq!(non_empty(Some(any.clone())), Some(any));
    }
}
