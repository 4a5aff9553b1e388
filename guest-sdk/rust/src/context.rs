//! What an action sees of its actor: typed state, identity, caller, metadata and tags.

use prost::{Message, Name};

use crate::any::unpack;
pub use crate::bindings::spawn::actor::types::ActorId;
use crate::bindings::spawn::actor::types::Invocation;
use crate::error::Result;

/// The actor's view of the current turn.
#[derive(Debug, Clone)]
pub struct Context<S> {
    state: Option<S>,
    self_id: ActorId,
    caller: Option<ActorId>,
    metadata: Vec<(String, String)>,
    tags: Vec<(String, String)>,
}

impl<S: Message + Name + Default> Context<S> {
    /// Builds the context of `invocation`, decoding the state as an `S`.
    pub(crate) fn from_invocation(invocation: &mut Invocation) -> Result<Self> {
        let state = invocation.state.take().map(|any| unpack::<S>(&any)).transpose()?;
        Ok(Context {
            state,
            self_id: invocation.self_id.clone(),
            caller: invocation.caller.take(),
            metadata: std::mem::take(&mut invocation.metadata),
            tags: std::mem::take(&mut invocation.tags),
        })
    }

    /// The current state, if the actor has one yet.
    pub fn state(&self) -> Option<&S> {
        self.state.as_ref()
    }

    /// The current state, or the default value of `S` if there is none yet.
    pub fn state_or_default(&self) -> S
    where
        S: Clone,
    {
        self.state.clone().unwrap_or_default()
    }

    /// This actor instance's id (for an unnamed instance, `parent` is its template).
    pub fn self_id(&self) -> &ActorId {
        &self.self_id
    }

    /// Who invoked this action, when known.
    pub fn caller(&self) -> Option<&ActorId> {
        self.caller.as_ref()
    }

    /// The value of request metadata `key`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        lookup(&self.metadata, key)
    }

    /// All request metadata, sorted by key.
    pub fn metadata_entries(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        lookup(&self.tags, key)
    }

    /// All tags, sorted by key.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
