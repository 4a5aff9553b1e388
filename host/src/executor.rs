//! Runs one turn of one actor: a fresh sandboxed instance from the module's prepared
//! `InstancePre`, a call of the exported `handle`, and a typed outcome.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::types as wit;
use crate::convert;
use crate::engine::{ActorEngine, Dispatcher, Turn};
use crate::module::ActorModule;

/// Why a turn produced no value. Every variant leaves the actor's state unchanged.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The guest returned an error of its own.
    #[error("{0}")]
    Guest(GuestError),
    /// The call ran past its deadline (CPU-bound, or blocked in a host call).
    #[error("exceeded the call deadline of {} ms", .0.as_millis())]
    Deadline(Duration),
    /// The guest tried to grow its memory past the cap.
    #[error("exceeded the memory limit of {} MiB", .0 >> 20)]
    MemoryLimit(usize),
    /// The guest trapped (a panic, an invalid access, ...).
    #[error("the guest trapped: {0}")]
    Trap(String),
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

/// Runs turns on an engine.
#[derive(Clone)]
pub struct Executor {
    engine: Arc<ActorEngine>,
}

impl Executor {
    /// An executor on `engine`.
    pub fn new(engine: Arc<ActorEngine>) -> Self {
        Executor { engine }
    }

    /// The engine turns run on.
    pub fn engine(&self) -> &Arc<ActorEngine> {
        &self.engine
    }

    /// Runs `invocation` in a fresh instance of `module`. The guest's `invoke` and `spawn`
    /// imports go to `dispatcher`.
    pub async fn run(
        &self,
        module: &ActorModule,
        invocation: wit::Invocation,
        dispatcher: Arc<dyn Dispatcher>,
    ) -> Result<wit::Value, InvokeError> {
        let turn = Turn {
            self_id: convert::actor_id_from_wit(invocation.self_id.clone()),
            action: invocation.action.clone(),
            dispatcher: Some(dispatcher),
        };
        let limits = self.engine.limits();
        let mut store = self.engine.store(turn);
        let call = async {
            let instance = module.pre().instantiate_async(&mut store).await?;
            instance.spawn_actor_handler().call_handle(&mut store, &invocation).await
        };
        match tokio::time::timeout(limits.call_timeout, call).await {
            Err(_) => Err(InvokeError::Deadline(limits.call_timeout)),
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(error))) => Err(InvokeError::Guest(GuestError(error))),
            Ok(Err(trap)) => Err(classify_trap(&trap, limits)),
        }
    }
}

fn classify_trap(error: &wasmtime::Error, limits: &crate::engine::Limits) -> InvokeError {
    if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
        return InvokeError::Deadline(limits.call_timeout);
    }
    let message = format!("{error:#}");
    if message.contains("forcing trap when growing memory") {
        return InvokeError::MemoryLimit(limits.memory_bytes);
    }
    InvokeError::Trap(message)
}
