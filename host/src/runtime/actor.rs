//! One active actor: a task that owns its state and runs the turns in its mailbox one at
//! a time, persists changed state (snapshots, checkpoints, deactivation), and starts the
//! workflow each turn asks for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::store::{StateKey, StoredState};
use super::{GET_STATE_ACTIONS, INIT_ACTIONS, Inner, InvokeFailure, InvokeResult, defines};
use crate::bindings::types as wit;
use crate::convert::{self, CallSpec, DEFAULT_DEACTIVATION_TIMEOUT_MS, DEFAULT_SNAPSHOT_TIMEOUT_MS};
use crate::protocol::{self as pb, actors};
use crate::registry::ActorEntry;

/// What an actor's mailbox carries. The turn is boxed: a mailbox allocates its slots in
/// blocks of 32, and an idle actor's mailbox must stay small.
pub(super) enum Mail {
    /// Run one turn.
    Turn(Box<Turn>),
    /// Persist and stop (runtime shutdown).
    Stop,
}

/// One invocation of the actor.
pub(super) struct Turn {
    pub action: String,
    pub payload: Option<prost_types::Any>,
    pub metadata: HashMap<String, String>,
    pub caller: Option<actors::ActorId>,
    /// Where the reply goes; `None` for async invocations.
    pub reply: Option<oneshot::Sender<InvokeResult>>,
}

struct Actor {
    inner: Arc<Inner>,
    id: actors::ActorId,
    /// The module and definition serving this actor: looked up again before every turn,
    /// so that a reload takes effect on the next turn.
    entry: ActorEntry,
    state: Option<prost_types::Any>,
    tags: HashMap<String, String>,
    revision: i64,
    /// Whether the state or tags changed since they were last stored.
    dirty: bool,
}

/// The actor's task: load state, run `init`, then serve the mailbox until idle for the
/// deactivation timeout (or until the runtime stops), persisting as it goes.
pub(super) async fn run(
    inner: Arc<Inner>,
    id: actors::ActorId,
    entry: ActorEntry,
    mut mailbox: mpsc::UnboundedReceiver<Mail>,
) {
    let definition = entry.definition();
    let (stateful, initial_tags) = (definition.stateful, &definition.initial_tags);
    let idle_timeout = timeout_or(definition.deactivation_timeout_ms, DEFAULT_DEACTIVATION_TIMEOUT_MS);
    let snapshot_every = timeout_or(definition.snapshot_timeout_ms, DEFAULT_SNAPSHOT_TIMEOUT_MS);
    let stored = match inner.store.load(StateKey::of(&id)).await {
        Ok(stored) => stored,
        Err(error) => {
            tracing::error!(actor = %id.name, %error, "cannot load the actor's state; failing its calls");
            inner.active.lock().unwrap().remove(&id.name);
            mailbox.close();
            while let Some(mail) = mailbox.recv().await {
                if let Mail::Turn(turn) = mail
                    && let Turn { reply: Some(reply), action, .. } = *turn
                {
                    let cause = error.to_string();
                    let _ = reply.send(Err(InvokeFailure::Failed { actor: id.name.clone(), action, cause }));
                }
            }
            return;
        }
    };
    let (state, tags, revision) = match stored {
        Some(stored) => (stored.state, stored.tags, stored.revision),
        None => (None, initial_tags.iter().cloned().collect(), 0),
    };
    let mut actor = Actor { inner, id, entry, state, tags, revision, dirty: false };
    Box::pin(actor.init()).await;

    // The futures of a turn and of a save are large and short-lived: boxed, they take
    // memory only while they run, so that an idle actor's task stays small.
    let mut snapshots = tokio::time::interval_at(Instant::now() + snapshot_every, snapshot_every);
    snapshots.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut idle_since = Instant::now();
    loop {
        tokio::select! {
            mail = mailbox.recv() => match mail {
                Some(Mail::Turn(turn)) => {
                    Box::pin(actor.turn(*turn)).await;
                    idle_since = Instant::now();
                }
                Some(Mail::Stop) | None => break,
            },
            _ = snapshots.tick(), if stateful => {
                let _ = Box::pin(actor.persist()).await;
            }
            () = tokio::time::sleep_until(idle_since + idle_timeout) => {
                if Box::pin(actor.persist()).await.is_ok() && actor.inner.try_retire(&actor.id.name, &mailbox) {
                    tracing::debug!(actor = %actor.id.name, "deactivated after {idle_timeout:?} idle");
                    return;
                }
                idle_since = Instant::now();
            }
        }
    }
    // Stopping: finish what is queued, then persist.
    mailbox.close();
    while let Some(mail) = mailbox.recv().await {
        if let Mail::Turn(turn) = mail {
            Box::pin(actor.turn(*turn)).await;
        }
    }
    let _ = Box::pin(actor.persist()).await;
}

fn timeout_or(ms: u64, default_ms: u64) -> Duration {
    Duration::from_millis(if ms == 0 { default_ms } else { ms })
}

impl Actor {
    fn name(&self) -> &str {
        &self.id.name
    }

    /// Stores the state if it changed since it was last stored.
    async fn persist(&mut self) -> Result<(), InvokeFailure> {
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
        if let Some(state) = state {
            self.state = Some(convert::any_from_wit(state));
            self.revision += 1;
            self.dirty = true;
        }
        if let Some(tags) = tags {
            self.tags = convert::map_from_wit(tags);
            self.dirty = true;
        }
    }

    /// Follows a reload: the current module of this actor's definition, if it still exists.
    fn refresh_entry(&mut self) -> bool {
        let definition = self.entry.definition().name.clone();
        match self.inner.modules.registry().get(&definition) {
            Some(entry) => {
                if !Arc::ptr_eq(&entry.module, &self.entry.module) {
                    self.entry = entry.clone();
                }
                true
            }
            None => false,
        }
    }

    /// One turn: built-ins, or the guest's `handle`, then state, checkpoint, workflow and
    /// the reply (or the routed target's reply).
    async fn turn(&mut self, turn: Turn) {
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
