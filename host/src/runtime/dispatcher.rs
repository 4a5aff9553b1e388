//! Guests' `invoke` and `spawn` imports, routed back into the runtime in-process.

use std::sync::Weak;

use super::core::Inner;
use crate::protocol::spawn as pb;
use crate::wasm::dispatch::{BoxFuture, Dispatcher};

/// Guests' `invoke` and `spawn` imports, routed in-process.
pub(super) struct RuntimeDispatcher(pub(super) Weak<Inner>);

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
