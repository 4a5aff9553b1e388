//! The state a runtime shares between its server, its actors and its clock, and how an
//! actor name resolves to the definition serving it. What the runtime *does* with it is
//! in the sibling modules, each adding the methods of one job to [`Inner`].
//!
//! Each piece of shared state has one owner type with a lock of its own ([`ActiveActors`],
//! [`SpawnedInstances`], [`Channels`], [`Clock`]); their methods never hold their lock
//! while calling out, so no code path holds two of these locks at once (the rules are in
//! `docs/architecture.md`, "Concurrency").

use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::channels::Channels;
use super::clock::Clock;
use super::config::RoutingLimits;
use super::failure::InvokeFailure;
use super::spawned::SpawnedInstances;
use super::store::StateStore;
use super::table::ActiveActors;
use crate::modules::registry::ActorEntry;
use crate::modules::set::ModuleSet;
use crate::protocol::spawn::actors;
use crate::protocol::wit::types as wit;
use crate::wasm::dispatch::Dispatcher;
use crate::wasm::executor::Executor;

/// The shared state of one runtime.
pub(super) struct Inner {
    pub(super) system: String,
    pub(super) executor: Executor,
    pub(super) modules: Arc<ModuleSet>,
    pub(super) store: StateStore,
    /// Active actors, their mailboxes and housekeeping.
    pub(super) active: ActiveActors,
    /// Spawned unnamed instances: name → template. Only stored ones.
    pub(super) spawned: SpawnedInstances,
    /// Which actors receive each channel's broadcasts; every instance followed.
    pub(super) channels: Channels,
    /// Timer ticks and calls scheduled for later.
    pub(super) clock: Clock,
    /// Actor tasks, the housekeeping and clock tasks, for shutdown.
    pub(super) tasks: TaskTracker,
    pub(super) stopping: CancellationToken,
    /// Cancelled when shutdown begins: readiness turns down and the server drains.
    pub(super) draining: CancellationToken,
    /// Where guests' `invoke` and `spawn` imports go: back into this runtime.
    pub(super) dispatcher: Arc<dyn Dispatcher>,
    pub(super) routing: RoutingLimits,
    /// Actors whose state shutdown could not store, and why (a leaf lock).
    pub(super) unsaved: Mutex<Vec<(String, String)>>,
}

/// What an invocation targets once resolved.
pub(super) struct Target {
    pub(super) id: actors::ActorId,
    pub(super) entry: ActorEntry,
}

impl Inner {
    /// A new chain for a request that starts here (from a client, a timer, or a message
    /// nobody waits for): the host's call timeout from now.
    pub(super) fn new_deadline(&self) -> Instant {
        Instant::now() + self.executor.engine().limits().call_timeout
    }

    /// Waits until `next` (if any), or until `earlier` is signalled (something earlier was
    /// scheduled): `true`; or until the runtime stops: `false`. The loop of a task that
    /// serves a schedule.
    pub(super) async fn wait_for(&self, next: Option<tokio::time::Instant>, earlier: &Notify) -> bool {
        let sleep = async {
            match next {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => true,
            () = earlier.notified() => true,
            () = self.stopping.cancelled() => false,
        }
    }

    pub(super) fn not_found(&self, actor: &str) -> InvokeFailure {
        InvokeFailure::ActorNotFound { actor: actor.to_owned(), system: self.system.clone() }
    }

    pub(super) fn check_system(&self, system: &str) -> Result<(), InvokeFailure> {
        if system == self.system {
            Ok(())
        } else {
            Err(InvokeFailure::UnknownSystem { requested: system.to_owned(), served: self.system.clone() })
        }
    }

    /// The definition serving instance `name` (a named actor, or a spawned instance of an
    /// unnamed one), and whether it is a spawned instance. Every call goes through it.
    pub(super) fn definition_of(&self, name: &str) -> Result<(ActorEntry, bool), InvokeFailure> {
        let registry = self.modules.registry();
        let (entry, spawned) = match self.spawned.template_of(name) {
            Some(template) => (registry.get(&template).cloned(), true),
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
    pub(super) fn resolve(&self, name: &str) -> Result<Target, InvokeFailure> {
        let (entry, spawned) = self.definition_of(name)?;
        // A spawned instance's parent is the template that defines it.
        let parent = if spawned { entry.definition().name.clone() } else { String::new() };
        let id = actors::ActorId { name: name.to_owned(), system: self.system.clone(), parent };
        Ok(Target { id, entry })
    }
}
