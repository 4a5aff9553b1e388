//! Standalone mode: an embedded, single-node Spawn runtime.
//!
//! It does in-process what the Spawn proxy does for a cluster: it activates actors, gives
//! each one a mailbox so that it runs one turn at a time, keeps their state in an embedded
//! database (write-behind snapshots, write-through checkpoints), runs timers, pub/sub
//! channels and workflows, and serves the proxy's client API so that existing Spawn
//! clients work unchanged. Past one node, use sidecar mode and the real proxy.

mod active;
mod actor;
mod server;
pub mod store;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::active::ActiveActors;
use self::actor::Turn;
use self::store::StateStore;
use crate::bindings::types as wit;
use crate::cache::CodeCache;
use crate::convert::{self, CallSpec};
use crate::engine::{ActorEngine, BoxFuture, Dispatcher, Limits};
use crate::executor::Executor;
use crate::http::HttpLimits;
use crate::modules::ModuleSet;
use crate::protocol::{self as pb, actors};
use crate::registry::ActorEntry;
use crate::watch::{self, DirectoryWatch};

/// Everything standalone mode needs to start.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The directory of `.wasm` components.
    pub actors_dir: PathBuf,
    /// The directory of the state database.
    pub data_dir: PathBuf,
    /// Where to serve the client API.
    pub listen: SocketAddr,
    /// The actor system this runtime serves.
    pub system: String,
    /// Limits for every guest call.
    pub limits: Limits,
    /// Sync every commit to disk (survives power loss, not only process crashes).
    pub fsync: bool,
    /// Follow changes of the actors directory.
    pub watch: bool,
    /// Limits on the wire.
    pub http: HttpLimits,
}

/// Why an invocation or spawn failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeFailure {
    /// The request names another actor system.
    #[error("unknown actor system `{requested}`: this runtime serves `{served}`")]
    UnknownSystem {
        /// The system requested.
        requested: String,
        /// The system served.
        served: String,
    },
    /// No loaded component provides the actor, and no instance of that name was spawned.
    #[error("Actor {actor} not found on ActorSystem {system}")]
    ActorNotFound {
        /// The actor.
        actor: String,
        /// The system.
        system: String,
    },
    /// The actor has no such action.
    #[error("Action [{action}] not found for Actor [{actor}]")]
    ActionNotFound {
        /// The actor.
        actor: String,
        /// The action.
        action: String,
    },
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The actor's turn failed (guest error, trap, deadline, memory) or its state could
    /// not be stored. Its state is unchanged.
    #[error("{actor}.{action} failed: {cause}")]
    Failed {
        /// The actor.
        actor: String,
        /// The action.
        action: String,
        /// Why.
        cause: String,
    },
    /// The runtime is shutting down.
    #[error("the runtime is shutting down")]
    ShuttingDown,
}

/// A reply: the reply `Any`, or `None` for no-reply and async calls.
pub type InvokeResult = Result<Option<prost_types::Any>, InvokeFailure>;

/// The built-in actions that answer the stored state unless the actor defines one of them.
const GET_STATE_ACTIONS: [&str; 5] = ["get", "Get", "get_state", "getState", "GetState"];
/// The actions run on every activation, if the actor defines one.
const INIT_ACTIONS: [&str; 4] = ["init", "Init", "setup", "Setup"];
/// How long graceful shutdown waits for actors to persist their state.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// A running standalone runtime and its client API server.
pub struct Standalone {
    runtime: Runtime,
    local_addr: SocketAddr,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _watch: Option<DirectoryWatch>,
}

impl Standalone {
    /// Loads the components, opens the store, activates the stateful named actors and
    /// starts serving the client API. Returns once the server listens.
    pub async fn start(config: RuntimeConfig) -> anyhow::Result<Standalone> {
        let engine = Arc::new(ActorEngine::new(config.limits.clone())?);
        let store = StateStore::open(&config.data_dir, config.fsync)?;
        let cache = CodeCache::open(&config.data_dir.join("code-cache"), engine.engine())?;
        let modules = ModuleSet::load(engine.clone(), Some(cache), &config.actors_dir)
            .await
            .with_context(|| format!("reading the actors directory {}", config.actors_dir.display()))?;
        let watch = if config.watch { Some(watch::watch(modules.clone())?) } else { None };
        let runtime = Runtime::start(config.system.clone(), Executor::new(engine), modules, store).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the client API to {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let draining = runtime.inner.draining.clone();
        let server = tokio::spawn(server::serve(listener, runtime.clone(), config.http, draining));
        tracing::info!(%local_addr, system = %config.system, data = %config.data_dir.display(), "standalone runtime serving the client API");
        Ok(Standalone { runtime, local_addr, server, _watch: watch })
    }

    /// The address of the client API.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Serves until `shutdown` resolves, then stops accepting calls and persists every
    /// active actor.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let draining = self.runtime.inner.draining.clone();
        let served = crate::http::serve_until(&mut self.server, shutdown, move || draining.cancel()).await;
        self.runtime.shutdown().await;
        served
    }
}

/// The runtime: cheap to clone, shared by the server, the actors and their timers.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    system: String,
    executor: Executor,
    modules: Arc<ModuleSet>,
    store: StateStore,
    /// Active actors, their mailboxes and housekeeping.
    active: ActiveActors,
    /// Spawned unnamed instances: name → template.
    spawned: Mutex<HashMap<String, String>>,
    /// Channel topic → subscribed (actor, action).
    subscriptions: Mutex<HashMap<String, Vec<(String, String)>>>,
    /// The running timers of each actor.
    timers: Mutex<HashMap<String, Timers>>,
    /// Actor tasks, timers and scheduled calls, for shutdown.
    tasks: TaskTracker,
    stopping: CancellationToken,
    /// Cancelled when shutdown begins: readiness turns down and the server drains.
    draining: CancellationToken,
    dispatcher: Arc<RuntimeDispatcher>,
}

impl Runtime {
    /// Starts the runtime over loaded components and an open store: restores spawned
    /// instances, then activates every stateful named actor, as the proxy does.
    pub async fn start(
        system: String,
        executor: Executor,
        modules: Arc<ModuleSet>,
        store: StateStore,
    ) -> anyhow::Result<Runtime> {
        let spawned = store.spawned(&system).await?.into_iter().map(|id| (id.name, id.parent)).collect();
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            system,
            executor,
            modules,
            store,
            active: ActiveActors::default(),
            spawned: Mutex::new(spawned),
            subscriptions: Mutex::default(),
            timers: Mutex::default(),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            draining: CancellationToken::new(),
            dispatcher: Arc::new(RuntimeDispatcher(weak.clone())),
        });
        let runtime = Runtime { inner };
        runtime.inner.tasks.spawn(runtime.inner.clone().keep_house());
        runtime.inner.activate_eager_actors();
        let inner = runtime.inner.clone();
        let mut changes = inner.modules.subscribe();
        runtime.inner.tasks.spawn(async move {
            loop {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    () = inner.stopping.cancelled() => return,
                }
                inner.modules_changed();
            }
        });
        Ok(runtime)
    }

    /// The process's metrics.
    pub fn metrics_registry(&self) -> &crate::metrics::Metrics {
        self.inner.executor.engine().metrics()
    }

    /// The loaded components.
    pub fn modules(&self) -> &Arc<ModuleSet> {
        &self.inner.modules
    }

    /// The actor system served.
    pub fn system(&self) -> &str {
        &self.inner.system
    }

    /// Runs an invocation with the proxy's semantics; see [`InvokeFailure`] for errors.
    pub async fn invoke(&self, request: pb::InvocationRequest) -> InvokeResult {
        self.inner.invoke(request).await
    }

    /// Registers unnamed instances (their templates must be unnamed actors).
    pub async fn spawn(&self, request: pb::SpawnRequest) -> Result<(), InvokeFailure> {
        self.inner.spawn(request).await
    }

    /// Whether the actor instance `name` is active (in memory, with its mailbox).
    pub fn is_active(&self, name: &str) -> bool {
        self.inner.active.contains(name)
    }

    /// Whether the runtime still accepts calls (readiness): not once shutdown has begun.
    pub fn is_running(&self) -> bool {
        !self.inner.stopping.is_cancelled() && !self.inner.draining.is_cancelled()
    }

    /// Stops accepting calls, stops timers and scheduled calls, lets every active actor
    /// finish its mailbox and persist its state (bounded by a grace period).
    pub async fn shutdown(&self) {
        self.inner.draining.cancel();
        self.inner.stopping.cancel();
        let count = self.inner.stop_actors();
        self.inner.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.inner.tasks.wait()).await.is_err() {
            tracing::error!("some actors did not stop within {SHUTDOWN_GRACE:?}; their unsaved state is lost");
        } else {
            tracing::info!(actors = count, "every active actor persisted its state");
        }
    }
}

/// Kinds the proxy activates at start-up when stateful.
fn activated_at_start(kind: wit::Kind) -> bool {
    matches!(kind, wit::Kind::Named | wit::Kind::Task)
}

/// What an invocation targets once resolved.
struct Target {
    id: actors::ActorId,
    entry: ActorEntry,
}

/// The running timers of one actor, and what they were started from.
struct Timers {
    spec: Vec<wit::TimerAction>,
    stop: CancellationToken,
}

impl Inner {
    /// Activates every stateful named actor not active yet, as the proxy does at start-up.
    fn activate_eager_actors(self: &Arc<Self>) {
        let registry = self.modules.registry();
        let eager =
            registry.definitions().filter(|definition| definition.stateful && activated_at_start(definition.kind));
        for definition in eager {
            if let Err(error) = self.activate(&definition.name) {
                tracing::warn!(actor = %definition.name, %error, "could not activate at start-up");
            }
        }
    }

    /// After a reload: timers and subscriptions follow the new definitions, actors that
    /// are gone stop receiving them, new stateful named actors are activated.
    fn modules_changed(self: &Arc<Self>) {
        // Every actor that ever had timers or subscriptions, and every active one.
        let mut names: HashSet<String> = self.active.names().into_iter().collect();
        names.extend(self.timers.lock().unwrap().keys().cloned());
        names.extend(self.subscriptions.lock().unwrap().values().flatten().map(|(actor, _)| actor.clone()));
        let mut subscriptions = HashMap::new();
        for name in names {
            match self.resolve(&name) {
                Ok(target) => {
                    self.start_timers(&target);
                    add_subscriptions(&mut subscriptions, &target);
                }
                Err(_) => {
                    if let Some(timers) = self.timers.lock().unwrap().remove(&name) {
                        timers.stop.cancel();
                    }
                }
            }
        }
        // Swapped in one step, so that no broadcast finds the channels empty meanwhile.
        *self.subscriptions.lock().unwrap() = subscriptions;
        let loaded: HashSet<u64> = self.modules.registry().modules().map(|module| module.id).collect();
        self.executor.forget_modules_except(&loaded);
        self.activate_eager_actors();
    }

    fn not_found(&self, actor: &str) -> InvokeFailure {
        InvokeFailure::ActorNotFound { actor: actor.to_owned(), system: self.system.clone() }
    }

    fn check_system(&self, system: &str) -> Result<(), InvokeFailure> {
        if system == self.system {
            Ok(())
        } else {
            Err(InvokeFailure::UnknownSystem { requested: system.to_owned(), served: self.system.clone() })
        }
    }

    /// The definition serving instance `name` (a named actor, or a spawned instance of an
    /// unnamed one), and whether it is a spawned instance. Allocates nothing: every call
    /// goes through it.
    fn definition_of(&self, name: &str) -> Result<(ActorEntry, bool), InvokeFailure> {
        let registry = self.modules.registry();
        let (entry, spawned) = match self.spawned.lock().unwrap().get(name) {
            Some(template) => (registry.get(template).cloned(), true),
            None => (registry.get(name).cloned(), false),
        };
        let entry = entry.ok_or_else(|| self.not_found(name))?;
        if !spawned && entry.definition().kind == wit::Kind::Unnamed {
            // A template is not an instance: it is only addressed through spawn or register_ref.
            return Err(InvokeFailure::BadRequest(format!(
                "`{name}` is an unnamed actor: spawn an instance of it (SpawnRequest or register_ref) and invoke that"
            )));
        }
        Ok((entry, spawned))
    }

    /// The instance called `name` with its full identity, for activating it.
    fn resolve(&self, name: &str) -> Result<Target, InvokeFailure> {
        let (entry, spawned) = self.definition_of(name)?;
        // A spawned instance's parent is the template that defines it.
        let parent = if spawned { entry.definition().name.clone() } else { String::new() };
        let id = actors::ActorId { name: name.to_owned(), system: self.system.clone(), parent };
        Ok(Target { id, entry })
    }

    async fn invoke(self: &Arc<Self>, request: pb::InvocationRequest) -> InvokeResult {
        if self.stopping.is_cancelled() {
            return Err(InvokeFailure::ShuttingDown);
        }
        self.check_system(request.system.as_ref().map_or("", |system| system.name.as_str()))?;
        let id = request.actor.as_ref().and_then(|actor| actor.id.as_ref());
        let name = id.map_or("", |id| id.name.as_str()).to_owned();
        if name.is_empty() {
            return Err(InvokeFailure::BadRequest("the request names no actor (actor.id.name)".into()));
        }
        if !request.register_ref.is_empty() {
            self.spawn_one(&name, &request.register_ref).await?;
        }
        let (entry, _) = self.definition_of(&name)?;
        check_action(entry.definition(), &name, &request.action_name)?;
        // The request's fields move into the turn: nothing is copied on the call path.
        let (scheduled_to, asynchronous) = (request.scheduled_to, request.r#async);
        let mut turn = Turn {
            action: request.action_name,
            payload: match request.payload {
                Some(pb::invocation_request::Payload::Value(any)) => pb::non_empty(Some(any)),
                _ => None,
            },
            metadata: request.metadata,
            caller: request.caller.filter(|caller| !caller.name.is_empty()),
            reply: None,
        };
        let now_ms = unix_ms();
        if scheduled_to > now_ms {
            let delay = Duration::from_millis((scheduled_to - now_ms) as u64);
            let inner = self.clone();
            self.tasks.spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => inner.deliver(&name, turn),
                    () = inner.stopping.cancelled() => {
                        tracing::warn!(actor = %name, "shutdown dropped a scheduled invocation that had not run yet");
                    }
                }
            });
            return Ok(None);
        }
        if asynchronous {
            self.deliver(&name, turn);
            return Ok(None);
        }
        let (reply, answer) = oneshot::channel();
        turn.reply = Some(reply);
        self.deliver(&name, turn);
        answer.await.unwrap_or(Err(InvokeFailure::ShuttingDown))
    }

    fn subscribe(&self, target: &Target) {
        if !target.entry.definition().channels.is_empty() {
            add_subscriptions(&mut self.subscriptions.lock().unwrap(), target);
        }
    }

    /// Starts the actor's timers on its first activation, or restarts them if its
    /// definition's timers changed; they keep firing (and reactivating it) while the
    /// runtime runs, as the proxy's scheduler does.
    fn start_timers(self: &Arc<Self>, target: &Target) {
        let spec = &target.entry.definition().timer_actions;
        let mut timers = self.timers.lock().unwrap();
        if timers.get(&target.id.name).is_some_and(|running| running.spec == *spec) {
            return;
        }
        if let Some(old) = timers.remove(&target.id.name) {
            old.stop.cancel();
        }
        if spec.is_empty() {
            return;
        }
        let stop = self.stopping.child_token();
        for timer in spec {
            let inner = self.clone();
            let id = target.id.clone();
            let action = timer.action.clone();
            let period = Duration::from_millis(u64::from(timer.period_ms));
            let stop = stop.clone();
            self.tasks.spawn(async move {
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        () = stop.cancelled() => return,
                    }
                    // Synchronous: the next tick waits for this one's turn, so that a slow
                    // timer never piles ticks up in the mailbox.
                    let call = CallSpec { actor: id.name.clone(), action: action.clone(), ..CallSpec::default() };
                    let request = convert::invocation_request(&id, call);
                    if let Err(error) = inner.invoke(request).await {
                        tracing::warn!(actor = %id.name, timer = %action, %error, "timer tick failed");
                    }
                }
            });
        }
        timers.insert(target.id.name.clone(), Timers { spec: spec.clone(), stop });
    }

    /// The subscribers of `topic`.
    fn subscribers(&self, topic: &str) -> Vec<(String, String)> {
        self.subscriptions.lock().unwrap().get(topic).cloned().unwrap_or_default()
    }

    async fn spawn(&self, request: pb::SpawnRequest) -> Result<(), InvokeFailure> {
        if request.actors.is_empty() {
            return Err(InvokeFailure::BadRequest("the SpawnRequest lists no actors".into()));
        }
        for id in &request.actors {
            self.check_system(&id.system)?;
            if id.name.is_empty() || id.parent.is_empty() {
                return Err(InvokeFailure::BadRequest("each spawned ActorId needs a name and a parent".into()));
            }
        }
        for id in request.actors {
            self.spawn_one(&id.name, &id.parent).await?;
        }
        Ok(())
    }

    /// Records instance `name` of the unnamed actor `parent` (durably), unless it exists.
    async fn spawn_one(&self, name: &str, parent: &str) -> Result<(), InvokeFailure> {
        if self.spawned.lock().unwrap().get(name).is_some_and(|existing| existing == parent) {
            return Ok(());
        }
        let registry = self.modules.registry();
        let template = registry.get(parent).ok_or_else(|| self.not_found(parent))?;
        if template.definition().kind != wit::Kind::Unnamed {
            return Err(InvokeFailure::BadRequest(format!("`{parent}` is not an unnamed actor; it cannot be spawned")));
        }
        if registry.get(name).is_some() {
            return Err(InvokeFailure::BadRequest(format!("`{name}` is the name of a loaded actor; choose another")));
        }
        // Reserved before the write, so that a concurrent spawn of the same name with
        // another parent is refused instead of racing it to the store.
        match self.spawned.lock().unwrap().entry(name.to_owned()) {
            std::collections::hash_map::Entry::Occupied(existing) if existing.get() == parent => return Ok(()),
            std::collections::hash_map::Entry::Occupied(existing) => {
                return Err(InvokeFailure::BadRequest(format!(
                    "`{name}` is already an instance of `{}`, not of `{parent}`",
                    existing.get()
                )));
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(parent.to_owned());
            }
        }
        let id = actors::ActorId { name: name.to_owned(), system: self.system.clone(), parent: parent.to_owned() };
        if let Err(error) = self.store.record_spawn(id).await {
            self.spawned.lock().unwrap().remove(name);
            return Err(InvokeFailure::Failed {
                actor: name.to_owned(),
                action: "spawn".into(),
                cause: error.to_string(),
            });
        }
        Ok(())
    }
}

/// Adds `target`'s channel subscriptions to `subscriptions` (topic → (actor, action)).
fn add_subscriptions(subscriptions: &mut HashMap<String, Vec<(String, String)>>, target: &Target) {
    for channel in &target.entry.definition().channels {
        let action = if channel.action.is_empty() { "receive".to_owned() } else { channel.action.clone() };
        let subscribers = subscriptions.entry(channel.topic.clone()).or_default();
        let subscriber = (target.id.name.clone(), action);
        if !subscribers.contains(&subscriber) {
            subscribers.push(subscriber);
        }
    }
}

/// Rejects an action the actor does not define (the built-in get-state actions always
/// exist).
fn check_action(definition: &wit::ActorDefinition, actor: &str, action: &str) -> Result<(), InvokeFailure> {
    if defines(definition, action) || GET_STATE_ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(InvokeFailure::ActionNotFound { actor: actor.to_owned(), action: action.to_owned() })
    }
}

/// Whether the actor's definition declares `action` (as an action or a timer).
fn defines(definition: &wit::ActorDefinition, action: &str) -> bool {
    definition.actions.iter().any(|name| name == action)
        || definition.timer_actions.iter().any(|timer| timer.action == action)
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}

/// Guests' `invoke` and `spawn` imports, routed in-process.
struct RuntimeDispatcher(Weak<Inner>);

impl Dispatcher for RuntimeDispatcher {
    fn invoke(&self, request: pb::InvocationRequest) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>> {
        Box::pin(async move {
            let inner = self.0.upgrade().ok_or("the runtime has stopped")?;
            let target = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map(|id| id.name.as_str());
            let caller = request.caller.as_ref().map(|caller| caller.name.as_str());
            if !request.r#async && request.scheduled_to == 0 && target.is_some() && target == caller {
                return Err("an actor cannot invoke itself synchronously: it would wait for its own turn".into());
            }
            inner.invoke(request).await.map_err(|failure| failure.to_string())
        })
    }

    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let inner = self.0.upgrade().ok_or("the runtime has stopped")?;
            inner.spawn(request).await.map_err(|failure| failure.to_string())
        })
    }
}
