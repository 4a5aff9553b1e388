//! Runs one turn of one actor in a sandboxed instance, and types the outcome.
//!
//! Instantiation, not the guest's work, dominates the cost of a call, so the executor keeps
//! the instances of recently active actors warm between their turns (one per turn that
//! overlaps another of the same actor, up to a bound): never shared between two actors,
//! dropped after a trap or a deadline, evicted least-recently-used beyond
//! [`crate::wasm::limits::Limits::warm_instances`] or past the pool's memory budget, and
//! never reused across module versions.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::Store;

use super::chain::{CallChain, within};
use super::dispatch::Dispatcher;
use super::engine::ActorEngine;
use super::host::{HostState, Turn};
use super::limiter::MemoryCapExceeded;
use super::module::ActorModule;
use super::sandbox::Sandbox;
use super::warm::{WarmInstance, WarmKey, WarmPool};
use crate::protocol::invocation::Invocation;
use crate::protocol::wit::{self as bindings, types as wit};

/// The least time a request must have left for a turn of it to start: with less, the turn
/// is not started (its caller's deadline has as good as passed; 504 in standalone).
pub const MIN_TURN_TIME: Duration = Duration::from_millis(10);

/// Why a turn produced no value. Every variant leaves the actor's state unchanged.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The guest returned an error of its own.
    #[error("{0}")]
    Guest(GuestError),
    /// The request's deadline had passed (or was less than [`MIN_TURN_TIME`] away) when the
    /// turn would have started: nothing ran.
    #[error("the request's deadline passed before the turn started")]
    NotStarted,
    /// The call ran past its deadline (CPU-bound, or blocked in a host call).
    #[error("exceeded the call deadline of {} ms", .0.as_millis())]
    Deadline(Duration),
    /// The guest tried to grow its memory past the cap.
    #[error("exceeded the memory limit of {} MiB", .0 >> 20)]
    MemoryLimit(usize),
    /// The guest trapped (a panic, an invalid access, ...).
    #[error("the guest trapped: {0}")]
    Trap(String),
    /// The turn returned more than the module may.
    #[error("the turn returned {bytes} bytes, more than the limit of {max}")]
    ReplyTooLarge {
        /// What the turn returned (reply, state, workflow payloads).
        bytes: usize,
        /// The module's limit.
        max: usize,
    },
}

/// The guest's own error, with a message naming its kind.
#[derive(Debug)]
pub struct GuestError(pub wit::Error);

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            wit::Error::UnknownAction(message) => write!(f, "unknown action: {message}"),
            wit::Error::BadPayload(message) => write!(f, "bad payload: {message}"),
            wit::Error::Failed(message) => write!(f, "the actor failed: {message}"),
        }
    }
}

/// What a call returned: timed out, trapped, or the instance and the guest's answer.
type CallResult =
    Result<wasmtime::Result<(bindings::Actor, Result<wit::Value, wit::Error>)>, tokio::time::error::Elapsed>;

/// Runs turns on an engine.
#[derive(Clone)]
pub struct Executor {
    engine: Arc<ActorEngine>,
    warm: Option<Arc<Mutex<WarmPool>>>,
}

impl Executor {
    /// An executor on `engine`, keeping up to `engine.limits().warm_instances` warm within
    /// `engine.limits().warm_memory_bytes`.
    pub fn new(engine: Arc<ActorEngine>) -> Self {
        let limits = engine.limits();
        let per_actor = NonZeroUsize::new(limits.warm_per_actor).unwrap_or(NonZeroUsize::MIN);
        let warm = NonZeroUsize::new(limits.warm_instances)
            .map(|capacity| Arc::new(Mutex::new(WarmPool::new(capacity, per_actor, limits.warm_memory_bytes))));
        Executor { engine, warm }
    }

    /// The engine turns run on.
    pub fn engine(&self) -> &Arc<ActorEngine> {
        &self.engine
    }

    /// Runs `invocation` in `module`, on the actor's warm instance if it has one, else on
    /// a fresh one, until the module's call timeout or the request's deadline (`chain`),
    /// whichever comes first. The guest's `invoke` and `spawn` imports go to `dispatcher`.
    pub async fn run(
        &self,
        module: &ActorModule,
        invocation: Invocation,
        dispatcher: Arc<dyn Dispatcher>,
        chain: CallChain,
    ) -> Result<wit::Value, InvokeError> {
        let started = std::time::Instant::now();
        let Some(index) = module.definitions.iter().position(|definition| definition.name == invocation.actor) else {
            let message = format!("this component has no actor `{}`", invocation.actor);
            return Err(InvokeError::Guest(GuestError(wit::Error::Failed(message))));
        };
        let definition = &module.definitions[index];
        // Actions the actor does not declare share one label, so that callers cannot grow
        // the metrics without bound.
        let action = declared_action(definition, &invocation.action).unwrap_or("(undeclared)");
        // The names move into the turn; the debug line below keeps copies only when enabled.
        let logged = tracing::enabled!(tracing::Level::DEBUG)
            .then(|| (invocation.self_id.name.clone(), invocation.action.clone()));
        let (trace_id, span_id) = (chain.trace().trace_id, chain.trace().span_id);
        let outcome = match invocation.lower(index as u32) {
            Ok(lowered) => {
                let Invocation { action, self_id, .. } = invocation;
                let turn = Turn { self_id, action, dispatcher: Some(dispatcher), chain };
                self.turn(module, lowered, turn, started).await
            }
            Err(error) => Err(InvokeError::Guest(GuestError(wit::Error::BadPayload(error.to_string())))),
        };
        let label = match &outcome {
            Ok(_) => "ok",
            Err(InvokeError::Guest(_)) => "guest_error",
            Err(InvokeError::Deadline(_) | InvokeError::NotStarted) => "deadline",
            Err(InvokeError::MemoryLimit(_)) => "memory_limit",
            Err(InvokeError::Trap(_)) => "trap",
            Err(InvokeError::ReplyTooLarge { .. }) => "reply_too_large",
        };
        let elapsed = started.elapsed();
        self.engine.metrics().invocation(&definition.name, action, label, elapsed);
        let (instance, called) =
            logged.as_ref().map_or(("", ""), |(instance, called)| (instance.as_str(), called.as_str()));
        tracing::debug!(
            actor = instance,
            definition = %definition.name,
            action = called,
            module = %module.hash,
            outcome = label,
            elapsed_us = elapsed.as_micros() as u64,
            %trace_id,
            %span_id,
            "invocation"
        );
        outcome
    }

    /// Calls the guest with `invocation` for `turn`, on a warm instance of the actor if
    /// there is one.
    async fn turn(
        &self,
        module: &ActorModule,
        invocation: wit::Invocation,
        turn: Turn,
        started: std::time::Instant,
    ) -> Result<wit::Value, InvokeError> {
        let sandbox = &module.sandbox;
        let deadline = (started + sandbox.call_timeout).min(turn.chain.deadline());
        // Decided once, against the request's own deadline: a turn with almost no time left
        // would only turn its caller's deadline into a guest error ("0 ms").
        if turn.chain.deadline().saturating_duration_since(started) < MIN_TURN_TIME {
            return Err(InvokeError::NotStarted);
        }
        let key = (module.id, turn.self_id.name.clone());
        let (mut store, warm_actor) = match self.checkout(&key) {
            Some(mut warm) => {
                self.engine.rearm(&mut warm.store, turn, deadline);
                (warm.store, Some(warm.actor))
            }
            None => (self.engine.store(turn, sandbox, deadline), None),
        };
        let call = async {
            let actor = match warm_actor {
                Some(actor) => actor,
                None => module.pre().instantiate_async(&mut store).await?,
            };
            let outcome = actor.spawn_actor_handler().call_handle(&mut store, &invocation).await?;
            wasmtime::Result::Ok((actor, outcome))
        };
        let result = within(deadline, call).await;
        store.data().finish_output();
        self.settle(key, store, result, sandbox, deadline - started)
    }

    /// Types the outcome of a call, keeping the instance warm if it is healthy and its turn
    /// is taken.
    fn settle(
        &self,
        key: WarmKey,
        store: Store<HostState>,
        result: CallResult,
        sandbox: &Sandbox,
        budget: Duration,
    ) -> Result<wit::Value, InvokeError> {
        match result {
            Err(_) => Err(InvokeError::Deadline(budget)),
            Ok(Err(trap)) => Err(classify_trap(&trap, sandbox, budget)),
            Ok(Ok((actor, outcome))) => {
                if let Ok(value) = &outcome {
                    let bytes = returned_bytes(value);
                    if bytes > sandbox.max_reply_bytes {
                        // The turn is discarded, and so is the instance whose memory saw it.
                        return Err(InvokeError::ReplyTooLarge { bytes, max: sandbox.max_reply_bytes });
                    }
                }
                self.checkin(key, store, actor);
                outcome.map_err(|error| InvokeError::Guest(GuestError(error)))
            }
        }
    }

    /// Drops the warm instances of modules no longer loaded (after a reload or removal), so
    /// that old versions do not hold memory and pool slots until evicted.
    pub fn forget_modules_except(&self, loaded: &std::collections::HashSet<u64>) {
        let Some(warm) = &self.warm else { return };
        let mut warm = warm.lock().unwrap();
        warm.retain_modules(loaded);
        self.engine.metrics().set_warm_instances(warm.len(), warm.memory());
    }

    /// Drops the warm instances of actor instance `name` in `module`, if it has any: its
    /// next turn starts from a fresh instance, as after an activation (a restored state
    /// must not meet what the guest kept in memory from before).
    pub fn forget_instance(&self, module: &ActorModule, name: &str) {
        let Some(warm) = &self.warm else { return };
        let mut warm = warm.lock().unwrap();
        warm.forget(&(module.id, name.to_owned()));
        self.engine.metrics().set_warm_instances(warm.len(), warm.memory());
    }

    fn checkout(&self, key: &WarmKey) -> Option<WarmInstance> {
        let mut warm = self.warm.as_ref()?.lock().unwrap();
        let instance = warm.take(key);
        self.engine.metrics().set_warm_instances(warm.len(), warm.memory());
        instance
    }

    /// Keeps a healthy instance for the actor's next turn (the least recently used ones go
    /// if the pool is full).
    fn checkin(&self, key: WarmKey, mut store: Store<HostState>, actor: bindings::Actor) {
        if let Some(warm) = &self.warm {
            store.data_mut().park();
            let mut warm = warm.lock().unwrap();
            warm.keep(key, WarmInstance { store, actor });
            self.engine.metrics().set_warm_instances(warm.len(), warm.memory());
        }
    }
}

/// `action` as `definition` declares it (an action or a timer action), if it does.
fn declared_action<'a>(definition: &'a wit::ActorDefinition, action: &str) -> Option<&'a str> {
    let actions = definition.actions.iter().chain(definition.timer_actions.iter().map(|timer| &timer.action));
    actions.map(String::as_str).find(|declared| *declared == action)
}

/// The bytes a turn returns: reply, new state, tags and workflow (each side effect counts
/// at least 1 KiB, so that a flood of empty ones hits the cap too).
fn returned_bytes(value: &wit::Value) -> usize {
    let size = |any: &Option<wit::Any>| any.as_ref().map_or(0, |any| any.value.len() + any.type_url.len());
    let pairs = |pairs: &[(String, String)]| pairs.iter().map(|(key, value)| key.len() + value.len()).sum::<usize>();
    let effect = |effect: &wit::SideEffect| {
        (size(&effect.payload) + pairs(&effect.metadata) + effect.actor.len() + effect.action.len()).max(1024)
    };
    size(&value.reply)
        + size(&value.state)
        + value.tags.as_deref().map_or(0, pairs)
        + value.broadcast.as_ref().map_or(0, |broadcast| size(&broadcast.payload) + broadcast.channel.len())
        + value.effects.iter().map(effect).sum::<usize>()
}

fn classify_trap(error: &wasmtime::Error, sandbox: &Sandbox, budget: Duration) -> InvokeError {
    if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
        return InvokeError::Deadline(budget);
    }
    if error.downcast_ref::<MemoryCapExceeded>().is_some() {
        return InvokeError::MemoryLimit(sandbox.memory_bytes);
    }
    let message = format!("{error:#}");
    InvokeError::Trap(message)
}
