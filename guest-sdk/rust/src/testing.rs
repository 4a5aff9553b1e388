//! Helpers to unit-test actors natively, without a host: build an invocation, call
//! [`Actor::handle`](crate::Actor::handle), decode what it returned.

use prost::{Message, Name};

use crate::any::{pack, unpack};
use crate::bindings::spawn::actor::types::{ActorId, Invocation, Value};

/// An invocation as the host would send it.
#[derive(Debug, Clone)]
pub struct TestInvocation(Invocation);

impl TestInvocation {
    /// Action `action` of actor `actor` (instance named like the actor, system `test`).
    pub fn new(actor: &str, action: &str) -> Self {
        TestInvocation(Invocation {
            actor: actor.to_owned(),
            action: action.to_owned(),
            payload: None,
            state: None,
            self_id: ActorId { name: actor.to_owned(), system: "test".to_owned(), parent: None },
            caller: None,
            metadata: Vec::new(),
            tags: Vec::new(),
        })
    }

    /// The input.
    pub fn payload<M: Message + Name>(mut self, message: &M) -> Self {
        self.0.payload = Some(pack(message));
        self
    }

    /// The actor's current state.
    pub fn state<M: Message + Name>(mut self, state: &M) -> Self {
        self.0.state = Some(pack(state));
        self
    }

    /// A tag of the actor.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.0.tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// A request metadata entry.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.0.metadata.push((key.to_owned(), value.to_owned()));
        self
    }

    /// The invocation.
    pub fn build(self) -> Invocation {
        self.0
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
