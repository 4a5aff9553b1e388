//! Reading the host's `invocation` record, whose strings and byte strings are spans of one
//! buffer (`data`): each is checked once, in bounds and (for text) UTF-8, before an action
//! sees any of it.

use crate::bindings::spawn::actor::types::{ActorIdSpan, AnySpan, Invocation, Span};
use crate::context::ActorId;
use crate::error::{Error, Result};

/// `span` of `data`, if it lies within it.
pub(crate) fn bytes(data: &[u8], span: Span) -> Result<&[u8]> {
    let start = span.start as usize;
    start.checked_add(span.len as usize).and_then(|end| data.get(start..end)).ok_or_else(|| {
        Error::BadPayload(format!("the host sent a span {}+{} outside the invocation", span.start, span.len))
    })
}

/// `span` of `data` as text.
pub(crate) fn text(data: &[u8], span: Span) -> Result<&str> {
    std::str::from_utf8(bytes(data, span)?)
        .map_err(|error| Error::BadPayload(format!("the host sent text that is not UTF-8: {error}")))
}

/// A packed message of `data`: its type URL and its bytes.
pub(crate) fn any(data: &[u8], any: AnySpan) -> Result<(&str, &[u8])> {
    Ok((text(data, any.type_url)?, bytes(data, any.value)?))
}

/// An actor id of `data`, read after [`check`] passed.
pub(crate) fn actor_id(data: &[u8], id: ActorIdSpan) -> ActorId {
    let text = |span| text(data, span).map(str::to_owned).unwrap_or_default();
    ActorId { name: text(id.name), system: text(id.system), parent: id.parent.map(text) }
}

/// The (key, value) pairs of `pairs`, read after [`check`] passed.
pub(crate) fn pairs(data: &[u8], pairs: &[(Span, Span)]) -> Vec<(String, String)> {
    let text = |span| text(data, span).map(str::to_owned).unwrap_or_default();
    pairs.iter().map(|(key, value)| (text(*key), text(*value))).collect()
}

/// Checks every span of `invocation` except the payload's and the state's, which are read
/// when they are decoded: the identities, metadata and tags an action may read later.
pub(crate) fn check(invocation: &Invocation) -> Result<()> {
    let data = invocation.data.as_slice();
    let id = |id: &ActorIdSpan| -> Result<()> {
        text(data, id.name)?;
        text(data, id.system)?;
        id.parent.map(|parent| text(data, parent)).transpose()?;
        Ok(())
    };
    id(&invocation.self_id)?;
    invocation.caller.as_ref().map(id).transpose()?;
    for (key, value) in &invocation.pairs {
        text(data, *key)?;
        text(data, *value)?;
    }
    if invocation.metadata_count as usize > invocation.pairs.len() {
        return Err(Error::BadPayload("the host sent more metadata than pairs".into()));
    }
    Ok(())
}

/// Lays out an invocation as the host does, from its parts: for tests, and the SDK's
/// [`crate::testing`] helpers.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    data: Vec<u8>,
}

impl Layout {
    /// Appends `bytes` and says where they lie.
    pub(crate) fn push(&mut self, bytes: &[u8]) -> Span {
        let span = Span { start: self.data.len() as u32, len: bytes.len() as u32 };
        self.data.extend_from_slice(bytes);
        span
    }

    /// Appends a packed message.
    pub(crate) fn any(&mut self, type_url: &str, value: &[u8]) -> AnySpan {
        AnySpan { type_url: self.push(type_url.as_bytes()), value: self.push(value) }
    }

    /// Appends an actor id.
    pub(crate) fn actor_id(&mut self, id: &ActorId) -> ActorIdSpan {
        ActorIdSpan {
            name: self.push(id.name.as_bytes()),
            system: self.push(id.system.as_bytes()),
            parent: id.parent.as_ref().map(|parent| self.push(parent.as_bytes())),
        }
    }

    /// The buffer the spans point into.
    pub(crate) fn finish(self) -> Vec<u8> {
        self.data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::testing::TestInvocation;

    #[test]
    fn the_context_reads_identities_metadata_and_tags_from_their_spans() {
        let caller = ActorId { name: "joe".into(), system: "sys".into(), parent: None };
        let me = ActorId { name: "c-1".into(), system: "sys".into(), parent: Some("counters".into()) };
        let invocation = TestInvocation::new("counters", "increment")
            .self_id(me.clone())
            .caller(caller.clone())
            .metadata("trace", "t-1")
            .metadata("user", "ana")
            .tag("region", "eu")
            .build();
        let context = Context::<()>::from_invocation(invocation).unwrap();
        assert_eq!(context.self_id(), &me);
        assert_eq!(context.caller(), Some(&caller));
        assert_eq!(context.metadata("user"), Some("ana"));
        assert_eq!(context.metadata("region"), None, "a tag is not metadata");
        assert_eq!(context.tags(), [("region".to_owned(), "eu".to_owned())]);
        assert_eq!(context.metadata_entries().len(), 2);
    }

    #[test]
    fn a_span_out_of_bounds_is_refused_before_the_action_runs() {
        let mut invocation = TestInvocation::new("counters", "increment").metadata("k", "v").build();
        invocation.pairs[0].1 = Span { start: 1_000, len: 1 };
        assert!(matches!(Context::<()>::from_invocation(invocation), Err(Error::BadPayload(_))));
        let mut invocation = TestInvocation::new("counters", "increment").build();
        invocation.metadata_count = 3;
        assert!(matches!(Context::<()>::from_invocation(invocation), Err(Error::BadPayload(_))));
    }

    #[test]
    fn spans_outside_the_buffer_or_not_utf8_are_bad_payloads() {
        let data = b"abc\xff";
        assert_eq!(text(data, Span { start: 1, len: 2 }).unwrap(), "bc");
        assert!(matches!(bytes(data, Span { start: 3, len: 2 }), Err(Error::BadPayload(_))));
        assert!(matches!(bytes(data, Span { start: u32::MAX, len: u32::MAX }), Err(Error::BadPayload(_))));
        assert!(matches!(text(data, Span { start: 2, len: 2 }), Err(Error::BadPayload(_))));
        assert_eq!(bytes(data, Span { start: 4, len: 0 }).unwrap(), b"");
    }
}
