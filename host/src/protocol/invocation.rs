//! One turn's input as the host holds it, and its lowering to the guest's `invocation`
//! record (WIT 0.2), where every string and byte string lies in one buffer.
//!
//! The host works with owned fields (they come from a decoded `ActorInvocation` or from an
//! active actor's memory); the guest receives the lean record, which wasmtime writes into
//! its memory with two calls into its allocator instead of one per string.

use crate::protocol::spawn::actors::ActorId;
use crate::protocol::wit::types as wit;

/// One turn of an actor, as the host builds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    /// The definition the turn is for (one component may define several actors).
    pub actor: String,
    /// The action to run.
    pub action: String,
    /// The input; `None` for a no-op payload.
    pub payload: Option<wit::Any>,
    /// The actor's current state; `None` if it has none yet.
    pub state: Option<wit::Any>,
    /// The instance being invoked (an empty parent is none).
    pub self_id: ActorId,
    /// Who invoked it, when known.
    pub caller: Option<ActorId>,
    /// Request metadata from the caller.
    pub metadata: wit::StringMap,
    /// The instance's current tags.
    pub tags: wit::StringMap,
}

/// Why an invocation cannot be lowered.
#[derive(Debug, thiserror::Error)]
#[error("the invocation is {0} bytes or more; a guest's invocation is at most 4 GiB")]
pub struct TooLarge(usize);

impl Invocation {
    /// The record the guest is called with, for the definition at position `actor` of the
    /// component's `describe` list.
    pub fn lower(&self, actor: u32) -> Result<wit::Invocation, TooLarge> {
        // Checked once for the whole buffer: then no span's start or end passes `u32`.
        let len = self.data_len();
        if u32::try_from(len).is_err() {
            return Err(TooLarge(len));
        }
        let mut data = Data(Vec::with_capacity(len));
        let action = data.push(self.action.as_bytes());
        let payload = self.payload.as_ref().map(|any| data.any(any));
        let state = self.state.as_ref().map(|any| data.any(any));
        let self_id = data.actor_id(&self.self_id);
        let caller = self.caller.as_ref().map(|id| data.actor_id(id));
        let pairs = self.metadata.iter().chain(&self.tags);
        let pairs = pairs.map(|(key, value)| (data.push(key.as_bytes()), data.push(value.as_bytes()))).collect();
        Ok(wit::Invocation {
            data: data.0,
            actor,
            action,
            payload,
            state,
            self_id,
            caller,
            pairs,
            metadata_count: self.metadata.len() as u32,
        })
    }

    /// The bytes of every string and byte string, so that `data` is allocated once.
    fn data_len(&self) -> usize {
        let any = |any: &Option<wit::Any>| any.as_ref().map_or(0, |any| any.type_url.len() + any.value.len());
        let id = |id: &ActorId| id.name.len() + id.system.len() + id.parent.len();
        let pairs = |pairs: &wit::StringMap| pairs.iter().map(|(key, value)| key.len() + value.len()).sum::<usize>();
        self.action.len()
            + any(&self.payload)
            + any(&self.state)
            + id(&self.self_id)
            + self.caller.as_ref().map_or(0, id)
            + pairs(&self.metadata)
            + pairs(&self.tags)
    }
}

/// The `data` buffer being filled, at most `u32::MAX` bytes (checked by [`Invocation::lower`]).
struct Data(Vec<u8>);

impl Data {
    fn push(&mut self, bytes: &[u8]) -> wit::Span {
        let span = wit::Span { start: self.0.len() as u32, len: bytes.len() as u32 };
        self.0.extend_from_slice(bytes);
        span
    }

    fn any(&mut self, any: &wit::Any) -> wit::AnySpan {
        wit::AnySpan { type_url: self.push(any.type_url.as_bytes()), value: self.push(&any.value) }
    }

    fn actor_id(&mut self, id: &ActorId) -> wit::ActorIdSpan {
        wit::ActorIdSpan {
            name: self.push(id.name.as_bytes()),
            system: self.push(id.system.as_bytes()),
            parent: (!id.parent.is_empty()).then(|| self.push(id.parent.as_bytes())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(data: &[u8], span: wit::Span) -> &str {
        std::str::from_utf8(&data[span.start as usize..][..span.len as usize]).unwrap()
    }

    #[test]
    fn every_string_lands_in_data_where_its_span_says() {
        let invocation = Invocation {
            actor: "counters".into(),
            action: "increment".into(),
            payload: Some(wit::Any { type_url: "t/domain.Increment".into(), value: vec![8, 1] }),
            state: None,
            self_id: ActorId { name: "c-1".into(), system: "sys".into(), parent: "counters".into() },
            caller: Some(ActorId { name: "joe".into(), system: "sys".into(), parent: String::new() }),
            metadata: vec![("k".into(), "v".into())],
            tags: vec![("t1".into(), "x".into()), ("t2".into(), String::new())],
        };
        let lean = invocation.lower(3).unwrap();
        let data = &lean.data;
        assert_eq!(data.len(), invocation.data_len(), "allocated once, exactly");
        assert_eq!(lean.actor, 3);
        assert_eq!(text(data, lean.action), "increment");
        let payload = lean.payload.unwrap();
        assert_eq!(text(data, payload.type_url), "t/domain.Increment");
        assert_eq!(&data[payload.value.start as usize..][..2], &[8, 1]);
        assert!(lean.state.is_none());
        assert_eq!(text(data, lean.self_id.name), "c-1");
        assert_eq!(text(data, lean.self_id.parent.unwrap()), "counters");
        assert_eq!(text(data, lean.caller.unwrap().name), "joe");
        assert_eq!(lean.caller.unwrap().parent, None);
        let pairs: Vec<_> = lean.pairs.iter().map(|(key, value)| (text(data, *key), text(data, *value))).collect();
        assert_eq!(pairs, [("k", "v"), ("t1", "x"), ("t2", "")]);
        assert_eq!(lean.metadata_count, 1);
    }
}
