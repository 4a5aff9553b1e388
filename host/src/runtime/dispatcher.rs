//! Guests' `invoke` and `spawn` imports, routed back into the runtime in-process.

use std::sync::Weak;

use super::core::Inner;
use crate::protocol::spawn as pb;
use crate::wasm::chain::CallChain;
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
            let target = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| &id.name);
            let caller = request.caller.as_ref().map_or("", |caller| &caller.name);
            let chain = if request.r#async || request.scheduled_to != 0 {
                chain.hop(
                    &format!("{target}.{}", request.action_name),
                    inner.routing.max_hops,
                    inner.routing.max_messages,
                )
            } else {
                chain.waiting_on(caller, target)
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
