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
    if !same_type(&any.type_url, &M::type_url()) {
        return Err(Error::BadPayload(format!("expected {}, got {}", M::full_name(), any.type_url)));
    }
    M::decode(any.value.as_slice())
        .map_err(|error| Error::BadPayload(format!("cannot decode {}: {error}", M::full_name())))
}

/// Whether two type URLs name the same message (see [`unpack`]).
pub fn same_type(a: &str, b: &str) -> bool {
    fn normal(url: &str) -> impl Iterator<Item = char> + '_ {
        let name = url.rsplit_once('/').map_or(url, |(_, name)| name);
        name.trim_start_matches('.').chars().filter(|c| *c != '_').map(|c| c.to_ascii_lowercase())
    }
    normal(a).eq(normal(b))
}
