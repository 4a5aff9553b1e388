//! Guests' `invoke` and `spawn` imports, routed back into the runtime in-process.

use std::sync::Weak;

use super::core::Inner;
use crate::protocol::spawn as pb;
use crate::wasm::chain::{CallChain, is_synchronous, target_of};
use crate::wasm::dispatch::{BoxFuture, Dispatcher};

/// Guests' `invoke` and `spawn` imports, routed in-process.
pub(super) struct RuntimeDispatcher(pub(super) Weak<Inner>);

impl Dispatcher for RuntimeDispatcher {
    /// A synchronous invoke waits along the caller's chain (a cycle is refused at once); an
    /// async or scheduled one is a routing hop of it.
    fn invoke(
        &self,
        request: pb::InvocationRequest,
        chain: CallChain,
    ) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>> {
        Box::pin(async move {
            let inner = self.0.upgrade().ok_or("the runtime has stopped")?;
            let chain = if is_synchronous(&request) {
                chain.invoked(&request)
            } else {
                let to = format!("{}.{}", target_of(&request), request.action_name);
                chain.hop(&to, inner.routing.max_hops, inner.routing.max_messages)
            };
            let chain = chain.map_err(|error| error.to_string())?;
            inner.invoke_in(request, chain).await.map_err(|failure| failure.to_string())
        })
    }

    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let inner = self.0.upgrade().ok_or("the runtime has stopped")?;
            inner.spawn(request).await.map_err(|failure| failure.to_string())
        })
    }
}
