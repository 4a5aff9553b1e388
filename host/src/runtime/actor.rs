//! One active actor: its identity, the definition serving it, its state and when it
//! last changed or worked. Plain data and the rules on it; the turns it takes are
//! [`super::turn`]'s, when it runs is [`super::scheduler`]'s.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::clock::Ticket;
use super::failure::{InvokeFailure, InvokeResult};
use super::store::StoredState;
use crate::modules::registry::{ActorEntry, ActorRegistry};
use crate::protocol::convert::{self, DEFAULT_DEACTIVATION_TIMEOUT_MS, DEFAULT_SNAPSHOT_TIMEOUT_MS};
use crate::protocol::invocation::Invocation;
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;
use crate::wasm::chain::CallChain;

/// One invocation of the actor.
pub(super) struct Turn {
    pub action: String,
    pub payload: Option<prost_types::Any>,
    pub metadata: HashMap<String, String>,
    pub caller: Option<actors::ActorId>,
    /// Where the reply goes; `None` for a message nobody waits for (async, scheduled,
    /// broadcast, side effect, timer tick): such a turn's deadline starts when it does.
    pub reply: Option<oneshot::Sender<InvokeResult>>,
    /// The request this turn is part of: its deadline, waiting actors and hops.
    pub chain: CallChain,
    /// Not a call: something the runtime does to the actor between two of its turns.
    pub control: Option<Control>,
    /// Set by the clock for a timer tick or a scheduled call: dropped with the turn.
    pub ticket: Option<Ticket>,
    /// When it was made: its time in the mailbox is told on its span.
    pub queued: std::time::Instant,
}

impl Turn {
    /// A call of `action` that nobody waits for yet.
    pub(super) fn call(action: String, payload: Option<prost_types::Any>, chain: CallChain) -> Turn {
        Turn {
            action,
            payload,
            metadata: HashMap::new(),
            caller: None,
            reply: None,
            chain,
            control: None,
            ticket: None,
            queued: std::time::Instant::now(),
        }
    }

    /// The turn `request` asks for (its fields move in: nothing is copied on the call path).
    pub(super) fn from_request(request: pb::InvocationRequest, chain: CallChain) -> Turn {
        let payload = match request.payload {
            Some(pb::invocation_request::Payload::Value(any)) => pb::non_empty(Some(any)),
            _ => None,
        };
        Turn {
            metadata: request.metadata,
            caller: request.caller.filter(|caller| !caller.name.is_empty()),
            ..Turn::call(request.action_name, payload, chain)
        }
    }

    /// A control message for the actor, in order with its calls.
    pub(super) fn control(control: Control, chain: CallChain) -> Turn {
        Turn { control: Some(control), ..Turn::call(String::new(), None, chain) }
    }
}

/// What the runtime does to an actor in its mailbox, in order with its calls, so that no
/// turn runs meanwhile (see [`super::revisions`]).
pub(super) enum Control {
    /// Store its pending change now, so that what the store answers next includes it.
    Flush(oneshot::Sender<Result<(), InvokeFailure>>),
    /// Make a stored revision its current state (as a new revision) and activate it
    /// afresh from it; answers the new revision.
    Restore(i64, oneshot::Sender<Result<i64, InvokeFailure>>),
}

/// An active actor's state and what it needs to take turns.
pub(super) struct Actor {
    pub(super) id: actors::ActorId,
    /// The module and definition serving this actor: looked up again before every turn,
    /// so that a reload takes effect on the next turn.
    pub(super) entry: ActorEntry,
    pub(super) state: Option<prost_types::Any>,
    pub(super) tags: HashMap<String, String>,
    pub(super) revision: i64,
    /// The revision and store sequence number of its last save (see [`StoredState::seq`]).
    pub(super) saved: (i64, i64),
    /// Whether the state or tags changed since they were last stored, and since when.
    pub(super) dirty: bool,
    pub(super) dirty_since: Instant,
    /// When its last turn ended (or it was activated).
    idle_since: Instant,
}

fn timeout_or(ms: u64, default_ms: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default_ms } else { ms })
}

impl Actor {
    /// The actor as stored (or, if it never was, with its initial tags).
    pub(super) fn new(id: actors::ActorId, entry: ActorEntry, stored: Option<StoredState>) -> Actor {
        let (state, tags, revision, saved) = match stored {
            Some(stored) => (stored.state, stored.tags, stored.revision, (stored.revision, stored.seq)),
            None => (None, entry.definition().initial_tags.iter().cloned().collect(), 0, (-1, 0)),
        };
        let now = Instant::now();
        Actor { id, entry, state, tags, revision, saved, dirty: false, dirty_since: now, idle_since: now }
    }

    /// The instance name.
    pub(super) fn name(&self) -> &str {
        &self.id.name
    }

    fn idle_timeout(&self) -> Duration {
        timeout_or(self.entry.definition().deactivation_timeout_ms, DEFAULT_DEACTIVATION_TIMEOUT_MS)
    }

    fn snapshot_deadline(&self) -> Option<Instant> {
        let definition = self.entry.definition();
        (self.dirty && definition.stateful)
            .then(|| self.dirty_since + timeout_or(definition.snapshot_timeout_ms, DEFAULT_SNAPSHOT_TIMEOUT_MS))
    }

    /// When it next needs a snapshot or deactivation, if it stays idle.
    pub(super) fn next_housekeeping(&self) -> Instant {
        let idle = self.idle_since + self.idle_timeout();
        self.snapshot_deadline().map_or(idle, |snapshot| snapshot.min(idle))
    }

    /// Whether it has been idle for its deactivation timeout by `now`.
    pub(super) fn idle_expired(&self, now: Instant) -> bool {
        now >= self.idle_since + self.idle_timeout()
    }

    /// Whether its changed state is due to be stored by `now`.
    pub(super) fn snapshot_due(&self, now: Instant) -> bool {
        self.snapshot_deadline().is_some_and(|deadline| now >= deadline)
    }

    /// Counts it as idle from now.
    pub(super) fn touch(&mut self) {
        self.idle_since = Instant::now();
    }

    /// Takes the state and tags a turn returned; each new state is a new revision.
    pub(super) fn apply(&mut self, state: Option<wit::Any>, tags: Option<wit::StringMap>) {
        if state.is_none() && tags.is_none() {
            return;
        }
        if let Some(state) = state {
            self.state = Some(convert::any_from_wit(state));
            self.revision += 1;
        }
        if let Some(tags) = tags {
            self.tags = convert::map_from_wit(tags);
        }
        if !self.dirty {
            self.dirty = true;
            self.dirty_since = Instant::now();
        }
    }

    /// Follows a reload: the current module of this actor's definition in `registry`, if
    /// it still exists.
    pub(super) fn refresh_entry(&mut self, registry: &ActorRegistry) -> bool {
        let newer = match registry.get(&self.entry.definition().name) {
            Some(entry) if Arc::ptr_eq(&entry.module, &self.entry.module) => None,
            Some(entry) => Some(entry.clone()),
            None => return false,
        };
        if let Some(entry) = newer {
            self.entry = entry;
        }
        true
    }

    /// What the guest is called with for `turn`.
    pub(super) fn invocation(&self, turn: &Turn) -> Invocation {
        Invocation {
            actor: self.entry.definition().name.clone(),
            action: turn.action.clone(),
            payload: turn.payload.clone().map(convert::any_to_wit),
            state: self.state.clone().map(convert::any_to_wit),
            self_id: self.id.clone(),
            caller: turn.caller.clone(),
            metadata: convert::map_to_wit(turn.metadata.clone()),
            tags: convert::map_to_wit(self.tags.clone()),
        }
    }

    /// What a snapshot or checkpoint stores: its next save, or its last one again if only
    /// its tags changed since (the same revision).
    pub(super) fn stored(&self) -> StoredState {
        let (saved_revision, saved_seq) = self.saved;
        let seq = if self.revision == saved_revision { saved_seq.max(1) } else { saved_seq + 1 };
        StoredState { state: self.state.clone(), tags: self.tags.clone(), revision: self.revision, seq }
    }
}

/// Sends `result` to the caller waiting for it, if one is.
pub(super) fn respond(reply: Option<oneshot::Sender<InvokeResult>>, result: InvokeResult) {
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}
