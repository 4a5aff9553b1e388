//! Packing and unpacking protobuf messages as `google.protobuf.Any` values.

use prost::{Message, Name};

use crate::bindings::spawn::actor::types::Any;
use crate::error::Error;

/// Packs `message` with its type URL, `type.googleapis.com/<package>.<Message>`.
pub fn pack<M: Message + Name>(message: &M) -> Any {
    Any { type_url: M::type_url(), value: message.encode_to_vec() }
}

/// Unpacks `any` as an `M`, checking its type URL tolerantly (prefix, leading dot, case and
/// underscores are ignored, as the Spawn proxy rewrites them).
pub fn unpack<M: Message + Name + Default>(any: &Any) -> Result<M, Error> {
    unpack_parts(&any.type_url, &any.value)
}

/// [`unpack`] of a message given as its type URL and bytes.
pub(crate) fn unpack_parts<M: Message + Name + Default>(type_url: &str, value: &[u8]) -> Result<M, Error> {
    if !names::<M>(type_url) && !same_type(type_url, &M::type_url()) {
        return Err(Error::BadPayload(format!("expected {}, got {type_url}", M::full_name())));
    }
    M::decode(value).map_err(|error| Error::BadPayload(format!("cannot decode {}: {error}", M::full_name())))
}

/// Whether `type_url` names `M` exactly, as this SDK and the host write it: checked on every
/// call without building `M`'s type URL, before the tolerant comparison.
fn names<M: Name>(type_url: &str) -> bool {
    let name = type_url.rsplit_once('/').map_or(type_url, |(_, name)| name);
    let name = if M::PACKAGE.is_empty() {
        Some(name)
    } else {
        name.strip_prefix(M::PACKAGE).and_then(|rest| rest.strip_prefix('.'))
    };
    name == Some(M::NAME)
}

/// Whether two type URLs name the same message (see [`unpack`]).
pub fn same_type(a: &str, b: &str) -> bool {
    fn normal(url: &str) -> impl Iterator<Item = char> + '_ {
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        name.trim_start_matches('.').chars().filter(|c| *c != '_').map(|c| c.to_ascii_lowercase())
    }
    normal(a).eq(normal(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, Message)]
    struct Greeting {}

    impl Name for Greeting {
        const PACKAGE: &'static str = "demo.v1";
        const NAME: &'static str = "Greeting";
    }

    #[test]
    fn the_exact_name_and_the_proxys_rewrites_are_the_same_type() {
        assert!(names::<Greeting>("type.googleapis.com/demo.v1.Greeting"));
        assert!(names::<Greeting>("demo.v1.Greeting"));
        assert!(!names::<Greeting>("type.googleapis.com/demo.v1.Greetings"));
        assert!(!names::<Greeting>("type.googleapis.com/other.Greeting"));
        let any = |type_url: &str| Any { type_url: type_url.into(), value: Vec::new() };
        assert!(unpack::<Greeting>(&any("type.googleapis.com/.demo.v1.greeting")).is_ok(), "tolerant");
        assert!(unpack::<Greeting>(&any("type.googleapis.com/demo.v1.Farewell")).is_err());
    }
}
