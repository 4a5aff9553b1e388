//! The workflow a turn asks for: broadcasts to a channel's subscribers, side effects, and
//! pipes or forwards to another actor. Each runs on its own task, so that the actor takes
//! its next turn meanwhile.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::actor::respond;
use super::core::Inner;
use super::failure::InvokeResult;
use crate::protocol::convert::{self, CallSpec};
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;

impl Inner {
    /// Sends `broadcast` from `from` to every subscriber of its channel, asynchronously.
    pub(super) fn broadcast(self: &Arc<Self>, from: &actors::ActorId, broadcast: Option<wit::Broadcast>) {
        let Some(broadcast) = broadcast else { return };
        for (actor, action) in self.subscribers(&broadcast.channel) {
            let call = CallSpec {
                actor,
                action,
                payload: broadcast.payload.clone(),
                asynchronous: true,
                ..CallSpec::default()
            };
            self.spawn_call(from, convert::invocation_request(from, call), "broadcast");
        }
    }

    /// Runs `from`'s side effects, each with the turn's metadata under its own.
    pub(super) fn side_effects(
        self: &Arc<Self>,
        from: &actors::ActorId,
        effects: Vec<wit::SideEffect>,
        metadata: &HashMap<String, String>,
    ) {
        for effect in effects {
            let mut request = convert::side_effect_request(from, effect);
            for (key, value) in metadata {
                request.metadata.entry(key.clone()).or_insert_with(|| value.clone());
            }
            self.spawn_call(from, request, "side effect");
        }
    }

    /// Runs `request` on its own task, logging a failure.
    fn spawn_call(self: &Arc<Self>, from: &actors::ActorId, request: pb::InvocationRequest, what: &'static str) {
        let inner = self.clone();
        let from = from.name.clone();
        self.tasks.spawn(async move {
            let target = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map(|id| id.name.clone());
            if let Err(error) = inner.invoke(request).await {
                tracing::warn!(actor = %from, target = ?target, %error, "{what} failed");
            }
        });
    }

    /// Pipe or forward: invokes the target with `payload` on its own task; a synchronous
    /// caller gets the target's reply.
    pub(super) fn route(
        self: &Arc<Self>,
        from: &actors::ActorId,
        route: wit::Route,
        payload: Option<prost_types::Any>,
        metadata: HashMap<String, String>,
        reply: Option<oneshot::Sender<InvokeResult>>,
    ) {
        let call = CallSpec {
            actor: route.actor,
            action: route.action,
            payload: payload.map(convert::any_to_wit),
            metadata: convert::map_to_wit(metadata),
            asynchronous: false,
            scheduled_to: None,
            register_ref: route.register_ref,
        };
        let request = convert::invocation_request(from, call);
        let inner = self.clone();
        self.tasks.spawn(async move {
            let result = inner.invoke(request).await;
            respond(reply, result);
        });
    }
}
