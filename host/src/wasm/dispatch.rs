//! Where guests' calls to other actors go, as a trait: the wasm layer runs guests without
//! knowing whether a Spawn proxy (sidecar) or the embedded runtime (standalone) serves them.

use std::pin::Pin;

use crate::protocol::spawn as pb;

/// A boxed future, so that [`Dispatcher`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a guest's `invoke` and `spawn` imports go: the Spawn proxy in sidecar mode, the
/// embedded runtime in standalone mode.
pub trait Dispatcher: Send + Sync + 'static {
    /// Runs an invocation and returns the target's reply (`None` for no-reply or async).
    fn invoke(&self, request: pb::InvocationRequest) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>>;
    /// Registers unnamed actor instances.
    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>>;
}
