//! The workflow a turn asks for: broadcasts to a channel's subscribers, side effects, and
//! pipes or forwards to another actor. Each runs on its own task, so that the actor takes
//! its next turn meanwhile, and each is one routing hop of its request's chain, so that a
//! loop of them is cut at the hop limit.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::actor::respond;
use super::core::Inner;
use super::failure::InvokeResult;
use crate::protocol::convert::{self, CallSpec};
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;
use crate::wasm::chain::{CallChain, target_of};

impl Inner {
    /// Sends `broadcast` from `from` to every subscriber of its channel, asynchronously.
    pub(super) fn broadcast(
        self: &Arc<Self>,
        from: &actors::ActorId,
        chain: &CallChain,
        broadcast: Option<wit::Broadcast>,
    ) {
        let Some(broadcast) = broadcast else { return };
        for (actor, action) in self.channels.subscribers(&broadcast.channel) {
            let Some(chain) = self.hop(from, chain, &actor, &action, "broadcast") else { continue };
            let call = CallSpec {
                actor,
                action,
                payload: broadcast.payload.clone(),
                asynchronous: true,
                ..CallSpec::default()
            };
            self.spawn_call(from, convert::invocation_request(from, call), chain, "broadcast");
        }
    }

    /// Runs `from`'s side effects, each with the turn's metadata under its own.
    pub(super) fn side_effects(
        self: &Arc<Self>,
        from: &actors::ActorId,
        chain: &CallChain,
        effects: Vec<wit::SideEffect>,
        metadata: &HashMap<String, String>,
    ) {
        for effect in effects {
            let Some(chain) = self.hop(from, chain, &effect.actor, &effect.action, "side effect") else { continue };
            let mut request = convert::side_effect_request(from, effect);
            for (key, value) in metadata {
                request.metadata.entry(key.clone()).or_insert_with(|| value.clone());
            }
            self.spawn_call(from, request, chain, "side effect");
        }
    }

    /// `chain` one hop further, to `actor.action`; `None` (logged) past the hop limit.
    fn hop(
        &self,
        from: &actors::ActorId,
        chain: &CallChain,
        actor: &str,
        action: &str,
        what: &'static str,
    ) -> Option<CallChain> {
        match chain.hop(&format!("{actor}.{action}"), self.routing.max_hops, self.routing.max_messages) {
            Ok(chain) => Some(chain),
            Err(error) => {
                tracing::warn!(actor = %from.name, target = %actor, %error, "{what} dropped");
                None
            }
        }
    }

    /// Runs `request` along `chain` on its own task, logging a failure.
    fn spawn_call(
        self: &Arc<Self>,
        from: &actors::ActorId,
        request: pb::InvocationRequest,
        chain: CallChain,
        what: &'static str,
    ) {
        let inner = self.clone();
        let from = from.name.clone();
        self.tasks.spawn(async move {
            let target = target_of(&request).to_owned();
            if let Err(error) = inner.invoke_in(request, chain).await {
                tracing::warn!(actor = %from, %target, %error, "{what} failed");
            }
        });
    }

    /// Pipe or forward: invokes the target with `payload` on its own task, one hop further
    /// along the same request (same deadline); a synchronous caller gets the target's reply,
    /// and if it gives up, so does the routed call. A route to an actor waiting in the chain
    /// is refused at once: it would queue behind the turn that waits for it.
    pub(super) fn route(
        self: &Arc<Self>,
        from: &actors::ActorId,
        chain: &CallChain,
        route: wit::Route,
        payload: Option<prost_types::Any>,
        metadata: HashMap<String, String>,
        mut reply: Option<oneshot::Sender<InvokeResult>>,
    ) {
        let chain = match chain.routed(
            &from.name,
            &route.actor,
            &route.action,
            self.routing.max_hops,
            self.routing.max_messages,
        ) {
            Ok(chain) => chain,
            Err(error) => {
                tracing::warn!(actor = %from.name, %error, "pipe or forward refused");
                respond(reply, Err(error.into()));
                return;
            }
        };
        let call = CallSpec {
            actor: route.actor,
            action: route.action,
            payload: payload.map(convert::any_to_wit),
            metadata: convert::map_to_wit(metadata),
            // Nobody waits for a route of a message nobody waited for: it is one too.
            asynchronous: reply.is_none(),
            scheduled_to: None,
            register_ref: route.register_ref,
        };
        let request = convert::invocation_request(from, call);
        let inner = self.clone();
        self.tasks.spawn(async move {
            let call = inner.invoke_in(request, chain);
            let result = match reply.as_mut() {
                Some(waiting) => tokio::select! {
                    result = call => result,
                    () = waiting.closed() => return,
                },
                None => call.await,
            };
            respond(reply, result);
        });
    }
}
