//! What an action sees of its actor: typed state, identity, caller, metadata and tags.

use std::sync::OnceLock;

use prost::{Message, Name};

use crate::any::unpack_parts;
use crate::bindings::spawn::actor::types::Invocation;
use crate::error::Result;
use crate::invocation;

/// The identity of an actor instance in an actor system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ActorId {
    /// The instance name. For an unnamed actor this is the name it was spawned with.
    pub name: String,
    /// The actor system the instance lives in.
    pub system: String,
    /// For an instance of an unnamed actor, the template (definition) name.
    pub parent: Option<String>,
}

/// The actor's view of the current turn. Its state is decoded before the action runs; its
/// identities, metadata and tags are read from the invocation when first asked for, so that
/// an action pays only for what it reads.
#[derive(Debug, Clone)]
pub struct Context<S> {
    state: Option<S>,
    invocation: Invocation,
    self_id: OnceLock<ActorId>,
    caller: OnceLock<Option<ActorId>>,
    metadata: OnceLock<Vec<(String, String)>>,
    tags: OnceLock<Vec<(String, String)>>,
}

impl<S: Message + Name + Default> Context<S> {
    /// Builds the context of `invocation`, decoding the state as an `S`.
    pub(crate) fn from_invocation(invocation: Invocation) -> Result<Self> {
        invocation::check(&invocation)?;
        let state = match invocation.state {
            Some(any) => {
                let (type_url, value) = invocation::any(&invocation.data, any)?;
                Some(unpack_parts::<S>(type_url, value)?)
            }
            None => None,
        };
        Ok(Context {
            state,
            invocation,
            self_id: OnceLock::new(),
            caller: OnceLock::new(),
            metadata: OnceLock::new(),
            tags: OnceLock::new(),
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
        self.self_id.get_or_init(|| invocation::actor_id(&self.invocation.data, self.invocation.self_id))
    }

    /// Who invoked this action, when known.
    pub fn caller(&self) -> Option<&ActorId> {
        let invocation = &self.invocation;
        self.caller.get_or_init(|| invocation.caller.map(|id| invocation::actor_id(&invocation.data, id))).as_ref()
    }

    /// The value of request metadata `key`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        lookup(self.metadata_entries(), key)
    }

    /// The trace this turn is part of: the W3C trace id (32 hex digits) of the
    /// `traceparent` the host puts in the turn's metadata, so that actor code can log it or
    /// hand it to systems outside Spawn. `None` if the host passed none.
    pub fn trace_id(&self) -> Option<&str> {
        self.traceparent().map(|(trace, _)| trace)
    }

    /// This turn's span id (16 hex digits): the parent of the calls it makes.
    pub fn span_id(&self) -> Option<&str> {
        self.traceparent().map(|(_, span)| span)
    }

    fn traceparent(&self) -> Option<(&str, &str)> {
        let mut fields = self.metadata("traceparent")?.split('-');
        let _version = fields.next()?;
        let trace = fields.next().filter(|trace| trace.len() == 32)?;
        let span = fields.next().filter(|span| span.len() == 16)?;
        Some((trace, span))
    }

    /// All request metadata, sorted by key.
    pub fn metadata_entries(&self) -> &[(String, String)] {
        let (metadata, _) = self.invocation.pairs.split_at(self.invocation.metadata_count as usize);
        self.metadata.get_or_init(|| invocation::pairs(&self.invocation.data, metadata))
    }

    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        lookup(self.tags(), key)
    }

    /// All tags, sorted by key.
    pub fn tags(&self) -> &[(String, String)] {
        let (_, tags) = self.invocation.pairs.split_at(self.invocation.metadata_count as usize);
        self.tags.get_or_init(|| invocation::pairs(&self.invocation.data, tags))
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
