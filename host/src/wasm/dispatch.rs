//! Where guests' calls to other actors go, as a trait: the wasm layer runs guests without
//! knowing whether a Spawn proxy (sidecar) or the embedded runtime (standalone) serves them.

use std::pin::Pin;

use super::chain::CallChain;
use crate::protocol::spawn as pb;

/// A boxed future, so that [`Dispatcher`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a guest's `invoke` and `spawn` imports go: the Spawn proxy in sidecar mode, the
/// embedded runtime in standalone mode.
pub trait Dispatcher: Send + Sync + 'static {
    /// Runs an invocation made by a turn whose request's chain is `chain`, and returns the
    /// target's reply (`None` for no-reply or async); a synchronous one waits at most until
    /// the chain's deadline.
    fn invoke(
        &self,
        request: pb::InvocationRequest,
        chain: CallChain,
    ) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>>;
    /// Registers unnamed actor instances.
    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>>;
}
