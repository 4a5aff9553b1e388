//! Calls from an actor to the runtime: invoking and spawning other actors, and logging.
//! In sidecar mode they go to the Spawn proxy; standalone, to the embedded runtime.

use prost::{Message, Name};

use crate::any::{pack, unpack};
use crate::bindings::spawn::actor::runtime::{self, InvokeRequest};
use crate::bindings::spawn::actor::types::Any;
use crate::error::Error;

/// A call to another actor, built fluently and sent with [`Invoke::call`],
/// [`Invoke::call_as`] or [`Invoke::cast`].
#[derive(Debug, Clone)]
#[must_use = "an Invoke does nothing until it is sent"]
pub struct Invoke(InvokeRequest);

impl Invoke {
    /// Action `action` of actor `actor`, with a no-op payload unless one is set.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Invoke(InvokeRequest {
            actor: actor.into(),
            action: action.into(),
            payload: None,
            metadata: Vec::new(),
            async_: false,
            scheduled_to: None,
            register_ref: None,
        })
    }

    /// The input.
    pub fn payload<M: Message + Name>(mut self, message: &M) -> Self {
        self.0.payload = Some(pack(message));
        self
    }

    /// Add request metadata.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.metadata.push((key.into(), value.into()));
        self
    }

    /// Spawn the target from the unnamed template `parent` first, if it does not exist.
    pub fn register_ref(mut self, parent: impl Into<String>) -> Self {
        self.0.register_ref = Some(parent.into());
        self
    }

    /// Run at `unix_ms` (absolute Unix time in milliseconds); implies [`Invoke::cast`].
    pub fn scheduled_to(mut self, unix_ms: i64) -> Self {
        self.0.scheduled_to = Some(unix_ms);
        self
    }

    /// Call and wait for the reply: `None` if the target replied nothing.
    pub fn call(self) -> Result<Option<Any>, Error> {
        runtime::invoke(&self.0).map_err(Error::Failed)
    }

    /// Call and decode the reply as an `R`.
    pub fn call_as<R: Message + Name + Default>(self) -> Result<R, Error> {
        let actor = self.0.actor.clone();
        match self.call()? {
            Some(any) => unpack(&any),
            None => Err(Error::Failed(format!("`{actor}` replied nothing; expected {}", R::full_name()))),
        }
    }

    /// Send without waiting for the reply.
    pub fn cast(mut self) -> Result<(), Error> {
        self.0.async_ = true;
        runtime::invoke(&self.0).map(drop).map_err(Error::Failed)
    }
}

/// Spawn an instance named `name` of the unnamed actor `parent`.
pub fn spawn(name: &str, parent: &str) -> Result<(), Error> {
    runtime::spawn(name, parent).map_err(Error::Failed)
}

/// Log `message` at `level` in the host's log, tagged with this actor and action.
pub fn log(level: Level, message: &str) {
    runtime::log(level, message);
}

pub use crate::bindings::spawn::actor::runtime::LogLevel as Level;
