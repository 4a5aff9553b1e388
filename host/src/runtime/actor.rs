//! One active actor: its state, its turns (built-ins or the guest's `handle`), persisting
//! its state (snapshots, checkpoints, deactivation), and the workflow each turn asks for.
//! When it runs is [`super::active`]'s business.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::store::{StateKey, StoredState};
use super::{GET_STATE_ACTIONS, INIT_ACTIONS, Inner, InvokeFailure, InvokeResult, defines};
use crate::bindings::types as wit;
use crate::convert::{self, CallSpec, DEFAULT_DEACTIVATION_TIMEOUT_MS, DEFAULT_SNAPSHOT_TIMEOUT_MS};
use crate::protocol::{self as pb, actors};
use crate::registry::ActorEntry;

/// One invocation of the actor.
pub(super) struct Turn {
    pub action: String,
    pub payload: Option<prost_types::Any>,
    pub metadata: HashMap<String, String>,
    pub caller: Option<actors::ActorId>,
    /// Where the reply goes; `None` for async invocations.
    pub reply: Option<oneshot::Sender<InvokeResult>>,
}

/// An active actor's state and what it needs to take turns.
pub(super) struct Actor {
    inner: Arc<Inner>,
    id: actors::ActorId,
    /// The module and definition serving this actor: looked up again before every turn,
    /// so that a reload takes effect on the next turn.
    entry: ActorEntry,
    state: Option<prost_types::Any>,
    tags: HashMap<String, String>,
    revision: i64,
    /// Whether the state or tags changed since they were last stored, and since when.
    dirty: bool,
    dirty_since: Instant,
    /// When its last turn ended (or it was activated).
    idle_since: Instant,
}

fn timeout_or(ms: u64, default_ms: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default_ms } else { ms })
}

impl Actor {
    /// Loads the actor's stored state (or starts it with its initial tags) and runs its
    /// `init` action. Fails with the actor's name and the cause if the state cannot be read.
    pub(super) async fn activate(
        inner: Arc<Inner>,
        id: actors::ActorId,
        entry: ActorEntry,
    ) -> Result<Actor, (String, String)> {
        let stored = match inner.store.load(StateKey::of(&id)).await {
            Ok(stored) => stored,
            Err(error) => return Err((id.name, error.to_string())),
        };
        let (state, tags, revision) = match stored {
            Some(stored) => (stored.state, stored.tags, stored.revision),
            None => (None, entry.definition().initial_tags.iter().cloned().collect(), 0),
        };
        let now = Instant::now();
        let mut actor =
            Actor { inner, id, entry, state, tags, revision, dirty: false, dirty_since: now, idle_since: now };
        actor.init().await;
        Ok(actor)
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

    /// Stores the state if it changed since it was last stored. On failure the next
    /// attempt comes a snapshot period later.
    pub(super) async fn persist(&mut self) -> Result<(), InvokeFailure> {
        if !self.dirty || !self.entry.definition().stateful {
            return Ok(());
        }
        let stored = StoredState { state: self.state.clone(), tags: self.tags.clone(), revision: self.revision };
        match self.inner.store.save(StateKey::of(&self.id), stored).await {
            Ok(()) => {
                self.dirty = false;
                Ok(())
            }
            Err(error) => {
                tracing::error!(actor = %self.name(), %error, "cannot store the actor's state; will retry");
                self.dirty_since = Instant::now();
                Err(InvokeFailure::Failed {
                    actor: self.id.name.clone(),
                    action: "persist".into(),
                    cause: error.to_string(),
                })
            }
        }
    }

    /// Runs the actor's `init`/`setup` action, if it defines one: only its state and tags
    /// count, and a failure is logged and ignored, as the proxy does.
    async fn init(&mut self) {
        let definition = self.entry.definition();
        let Some(action) = INIT_ACTIONS.iter().find(|action| defines(definition, action)) else { return };
        let turn =
            Turn { action: (*action).to_owned(), payload: None, metadata: HashMap::new(), caller: None, reply: None };
        match self.run_guest(&turn).await {
            Ok(value) => self.apply(value.state, value.tags),
            Err(cause) => tracing::warn!(actor = %self.name(), action, %cause, "init failed; ignored"),
        }
    }

    async fn run_guest(&self, turn: &Turn) -> Result<wit::Value, String> {
        let invocation = wit::Invocation {
            actor: self.entry.definition().name.clone(),
            action: turn.action.clone(),
            payload: turn.payload.clone().map(convert::any_to_wit),
            state: self.state.clone().map(convert::any_to_wit),
            self_id: convert::actor_id_to_wit(self.id.clone()),
            caller: turn.caller.clone().map(convert::actor_id_to_wit),
            metadata: convert::map_to_wit(turn.metadata.clone()),
            tags: convert::map_to_wit(self.tags.clone()),
        };
        let dispatcher = self.inner.dispatcher.clone();
        self.inner.executor.run(&self.entry.module, invocation, dispatcher).await.map_err(|error| error.to_string())
    }

    fn apply(&mut self, state: Option<wit::Any>, tags: Option<wit::StringMap>) {
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

    /// Follows a reload: the current module of this actor's definition, if it still exists.
    fn refresh_entry(&mut self) -> bool {
        let registry = self.inner.modules.registry();
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

    /// One turn (see [`Actor::take_turn`]); it is idle from the end of it.
    pub(super) async fn turn(&mut self, turn: Turn) {
        self.take_turn(turn).await;
        self.touch();
    }

    /// One turn: built-ins, or the guest's `handle`, then state, checkpoint, workflow and
    /// the reply (or the routed target's reply).
    async fn take_turn(&mut self, turn: Turn) {
        if !self.refresh_entry() {
            respond(turn.reply, Err(self.inner.not_found(&self.id.name)));
            return;
        }
        let definition = self.entry.definition();
        if GET_STATE_ACTIONS.contains(&turn.action.as_str()) && !defines(definition, &turn.action) {
            respond(turn.reply, Ok(self.state.clone()));
            return;
        }
        let value = match self.run_guest(&turn).await {
            Ok(value) => value,
            Err(cause) => {
                tracing::warn!(actor = %self.name(), action = %turn.action, "invocation failed: {cause}");
                let failure = InvokeFailure::Failed { actor: self.id.name.clone(), action: turn.action, cause };
                respond(turn.reply, Err(failure));
                return;
            }
        };
        let before = value.checkpoint.then(|| (self.state.clone(), self.tags.clone(), self.revision, self.dirty));
        self.apply(value.state, value.tags);
        if let Some((state, tags, revision, dirty)) = before
            && let Err(failure) = self.persist().await
        {
            // The turn failed: its state must not be saved later by a snapshot either.
            (self.state, self.tags, self.revision, self.dirty) = (state, tags, revision, dirty);
            respond(turn.reply, Err(failure));
            return;
        }
        let reply = value.reply.map(convert::any_from_wit);
        self.broadcast(value.broadcast);
        self.side_effects(value.effects, &turn.metadata);
        match value.routing {
            None => respond(turn.reply, Ok(reply)),
            Some(wit::Routing::Pipe(route)) => self.route(route, reply, turn.metadata, turn.reply),
            Some(wit::Routing::Forward(route)) => self.route(route, turn.payload, turn.metadata, turn.reply),
        }
    }

    fn broadcast(&self, broadcast: Option<wit::Broadcast>) {
        let Some(broadcast) = broadcast else { return };
        for (actor, action) in self.inner.subscribers(&broadcast.channel) {
            let call = CallSpec {
                actor,
                action,
                payload: broadcast.payload.clone(),
                asynchronous: true,
                ..CallSpec::default()
            };
            self.spawn_call(convert::invocation_request(&self.id, call), "broadcast");
        }
    }

    fn side_effects(&self, effects: Vec<wit::SideEffect>, metadata: &HashMap<String, String>) {
        for effect in effects {
            let mut request = convert::side_effect_request(&self.id, effect);
            for (key, value) in metadata {
                request.metadata.entry(key.clone()).or_insert_with(|| value.clone());
            }
            self.spawn_call(request, "side effect");
        }
    }

    /// Runs `request` on its own task, logging a failure.
    fn spawn_call(&self, request: pb::InvocationRequest, what: &'static str) {
        let inner = self.inner.clone();
        let from = self.id.name.clone();
        self.inner.tasks.spawn(async move {
            let target = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map(|id| id.name.clone());
            if let Err(error) = inner.invoke(request).await {
                tracing::warn!(actor = %from, target = ?target, %error, "{what} failed");
            }
        });
    }

    /// Pipe or forward: invokes the target with `payload` on its own task (so this actor
    /// takes its next turn meanwhile); a synchronous caller gets the target's reply.
    fn route(
        &self,
        route: wit::Route,
        payload: Option<prost_types::Any>,
        metadata: HashMap<String, String>,
        reply: Option<oneshot::Sender<InvokeResult>>,
    ) {
        let call = CallSpec {
            actor: route.actor,
            action: route.action,
            payload: payload.map(convert::any_to_wit),
            metadata: convert::map_to_wit(metadata),
            asynchronous: false,
            scheduled_to: None,
            register_ref: route.register_ref,
        };
        let request = convert::invocation_request(&self.id, call);
        let inner = self.inner.clone();
        self.inner.tasks.spawn(async move {
            let result = inner.invoke(request).await;
            respond(reply, result);
        });
    }
}

fn respond(reply: Option<oneshot::Sender<InvokeResult>>, result: InvokeResult) {
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}
