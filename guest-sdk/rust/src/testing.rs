//! Helpers to unit-test actors natively, without a host: build an invocation, call
//! [`Actor::handle`](crate::Actor::handle), decode what it returned.

use prost::{Message, Name};

use crate::any::{pack, unpack};
use crate::bindings::spawn::actor::types::{Any, Invocation, Value};
use crate::context::ActorId;
use crate::invocation::Layout;

/// An invocation as the host would send it.
#[derive(Debug, Clone)]
pub struct TestInvocation {
    action: String,
    payload: Option<Any>,
    state: Option<Any>,
    self_id: ActorId,
    caller: Option<ActorId>,
    metadata: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl TestInvocation {
    /// Action `action` of actor `actor` (instance named like the actor, system `test`).
    pub fn new(actor: &str, action: &str) -> Self {
        TestInvocation {
            action: action.to_owned(),
            payload: None,
            state: None,
            self_id: ActorId { name: actor.to_owned(), system: "test".to_owned(), parent: None },
            caller: None,
            metadata: Vec::new(),
            tags: Vec::new(),
        }
    }

    /// The input.
    pub fn payload<M: Message + Name>(mut self, message: &M) -> Self {
        self.payload = Some(pack(message));
        self
    }

    /// The actor's current state.
    pub fn state<M: Message + Name>(mut self, state: &M) -> Self {
        self.state = Some(pack(state));
        self
    }

    /// The invoked instance (by default named like the actor, in system `test`).
    pub fn self_id(mut self, id: ActorId) -> Self {
        self.self_id = id;
        self
    }

    /// Who invokes the action.
    pub fn caller(mut self, id: ActorId) -> Self {
        self.caller = Some(id);
        self
    }

    /// A tag of the actor.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A request metadata entry.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.metadata.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The invocation, laid out as the host lays it out (for [`Actor::handle`](crate::Actor::handle),
    /// which ignores its actor number).
    pub fn build(self) -> Invocation {
        let mut layout = Layout::default();
        let action = layout.push(self.action.as_bytes());
        let payload = self.payload.as_ref().map(|any| layout.any(&any.type_url, &any.value));
        let state = self.state.as_ref().map(|any| layout.any(&any.type_url, &any.value));
        let self_id = layout.actor_id(&self.self_id);
        let caller = self.caller.as_ref().map(|id| layout.actor_id(id));
        let pairs = self.metadata.iter().chain(&self.tags);
        let pairs = pairs.map(|(key, value)| (layout.push(key.as_bytes()), layout.push(value.as_bytes()))).collect();
        Invocation {
            data: layout.finish(),
            actor: 0,
            action,
            payload,
            state,
            self_id,
            caller,
            pairs,
            metadata_count: self.metadata.len() as u32,
        }
    }
}

/// The reply in `value`, decoded as an `M`; `None` if there is none or it is not an `M`.
pub fn reply_as<M: Message + Name + Default>(value: &Value) -> Option<M> {
    value.reply.as_ref().and_then(|any| unpack(any).ok())
}

/// The new state in `value`, decoded as an `M`; `None` if the state is kept.
pub fn state_as<M: Message + Name + Default>(value: &Value) -> Option<M> {
    value.state.as_ref().and_then(|any| unpack(any).ok())
}
