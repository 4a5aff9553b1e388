//! [`Runtime`]: the handle by which the server (and tests) use a running runtime.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channels::Channels;
use super::clock::Clock;
use super::config::RoutingLimits;
use super::core::Inner;
use super::dispatcher::RuntimeDispatcher;
use super::failure::{InvokeFailure, InvokeResult, ShutdownError};
use super::spawned::SpawnedInstances;
use super::store::{Revision, RevisionSummary, StateStore};
use super::table::ActiveActors;
use crate::modules::set::ModuleSet;
use crate::protocol::json::JsonCodec;
use crate::protocol::spawn as pb;
use crate::wasm::executor::Executor;

/// How long graceful shutdown waits for actors to persist their state.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The runtime: cheap to clone, shared by the server, the actors and their timers.
#[derive(Clone)]
pub struct Runtime {
    pub(super) inner: Arc<Inner>,
}

impl Runtime {
    /// Starts the runtime over loaded components and an open store: restores spawned
    /// instances and the calls scheduled for later, then activates every stateful named
    /// actor, as the proxy does.
    pub async fn start(
        system: String,
        executor: Executor,
        modules: Arc<ModuleSet>,
        store: StateStore,
        routing: RoutingLimits,
    ) -> anyhow::Result<Runtime> {
        let spawned = store.spawned(&system).await?.into_iter().map(|id| (id.name, id.parent));
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            system,
            executor,
            modules,
            store,
            active: ActiveActors::default(),
            spawned: SpawnedInstances::new(spawned),
            channels: Channels::default(),
            clock: Clock::default(),
            tasks: TaskTracker::new(),
            stopping: CancellationToken::new(),
            draining: CancellationToken::new(),
            dispatcher: Arc::new(RuntimeDispatcher(weak.clone())),
            routing,
            unsaved: Mutex::default(),
        });
        let scheduled = inner.restore_scheduled().await?;
        if scheduled > 0 {
            tracing::info!(scheduled, "scheduled calls kept from before the start; late ones run now");
        }
        let runtime = Runtime { inner };
        runtime.inner.tasks.spawn(runtime.inner.clone().keep_house());
        runtime.inner.tasks.spawn(runtime.inner.clone().keep_time());
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

    /// Revision `revision` of instance `name`'s state (`None`: the current one); its
    /// pending change, if it is active, is stored first.
    pub async fn state_at(&self, name: &str, revision: Option<i64>) -> Result<Revision, InvokeFailure> {
        self.inner.state_at(name, revision).await
    }

    /// The kept revisions of instance `name`'s state, newest first.
    pub async fn state_history(&self, name: &str) -> Result<Vec<RevisionSummary>, InvokeFailure> {
        self.inner.state_history(name).await
    }

    /// Makes revision `revision` the current state of the actors `request` lists (spawning
    /// the unnamed instances among them first), as a new revision each.
    pub async fn restore(&self, request: pb::SpawnRequest, revision: i64) -> Result<(), InvokeFailure> {
        self.inner.restore(request, revision).await
    }

    /// The input message type instance `name`'s action `action` declares, if any (an
    /// unknown actor is an error; an unknown action declares none).
    pub fn input_type(&self, name: &str, action: &str) -> Result<Option<String>, InvokeFailure> {
        let (entry, _) = self.inner.definition_of(name)?;
        Ok(entry.module.signature(&entry.definition().name, action).and_then(|signature| signature.input.clone()))
    }

    /// JSON conversions for calls to the instance `name`: its module's messages (a spawned
    /// instance's are its template's), the protocol's only if no module serves it.
    pub fn json_for(&self, name: &str) -> Arc<JsonCodec> {
        self.inner.definition_of(name).map_or_else(|_| JsonCodec::protocol(), |(entry, _)| entry.module.json.clone())
    }

    /// Whether the actor instance `name` is active (in memory, with its mailbox).
    pub fn is_active(&self, name: &str) -> bool {
        self.inner.active.contains(name)
    }

    /// The active instances (in memory, with their mailboxes) of each actor definition:
    /// a named actor's instance is itself, an unnamed one's are those spawned from it.
    pub fn active_instances(&self) -> BTreeMap<String, Vec<String>> {
        let mut active = BTreeMap::<String, Vec<String>>::new();
        // The table's lock is released before the spawned instances' is taken: never both.
        for name in self.inner.active.names() {
            let definition = self.inner.spawned.template_of(&name).map_or_else(|| name.clone(), |t| t.to_string());
            active.entry(definition).or_default().push(name);
        }
        active.values_mut().for_each(|instances| instances.sort());
        active
    }

    /// Instances with timers, and records in the clock's schedule (what ticking instances
    /// cost: measured by the benchmarks).
    pub fn clock_sizes(&self) -> (usize, usize) {
        self.inner.clock.sizes()
    }

    /// Whether the runtime still accepts calls (readiness): not once shutdown has begun.
    pub fn is_running(&self) -> bool {
        !self.inner.stopping.is_cancelled() && !self.inner.draining.is_cancelled()
    }

    /// Stops accepting calls and the clock (calls scheduled for later stay stored for the
    /// next start), lets every active actor finish its mailbox and persist its state
    /// (bounded by a grace period, each failed save tried again). Fails naming the actors
    /// whose state could not be stored.
    pub async fn shutdown(&self) -> Result<(), ShutdownError> {
        self.inner.draining.cancel();
        self.inner.stopping.cancel();
        let count = self.inner.stop_actors();
        self.inner.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.inner.tasks.wait()).await.is_err() {
            tracing::error!("some actors did not stop within {SHUTDOWN_GRACE:?}; their unsaved state is lost");
            return Err(ShutdownError::Timeout(SHUTDOWN_GRACE));
        }
        let unsaved = std::mem::take(&mut *self.inner.unsaved.lock().unwrap());
        if unsaved.is_empty() {
            tracing::info!(actors = count, "every active actor persisted its state");
            return Ok(());
        }
        for (actor, cause) in &unsaved {
            tracing::error!(%actor, %cause, "the actor's state was not stored at shutdown");
        }
        Err(ShutdownError::Unsaved(unsaved))
    }
}
