//! An invocation's way in: checks, then now, later (`scheduled_to`), or fire-and-forget.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use super::actions::check_action;
use super::actor::Turn;
use super::core::Inner;
use super::failure::{InvokeFailure, InvokeResult};
use crate::protocol::spawn as pb;

impl Inner {
    /// Runs an invocation with the proxy's semantics; see [`InvokeFailure`] for errors.
    pub(super) async fn invoke(self: &Arc<Self>, request: pb::InvocationRequest) -> InvokeResult {
        if self.stopping.is_cancelled() {
            return Err(InvokeFailure::ShuttingDown);
        }
        self.check_system(request.system.as_ref().map_or("", |system| system.name.as_str()))?;
        let id = request.actor.as_ref().and_then(|actor| actor.id.as_ref());
        let name = id.map_or("", |id| id.name.as_str()).to_owned();
        if name.is_empty() {
            return Err(InvokeFailure::BadRequest("the request names no actor (actor.id.name)".into()));
        }
        if !request.register_ref.is_empty() {
            self.spawn_one(&name, &request.register_ref).await?;
        }
        let (entry, _) = self.definition_of(&name)?;
        check_action(entry.definition(), &name, &request.action_name)?;
        // The request's fields move into the turn: nothing is copied on the call path.
        let (scheduled_to, asynchronous) = (request.scheduled_to, request.r#async);
        let mut turn = Turn {
            action: request.action_name,
            payload: match request.payload {
                Some(pb::invocation_request::Payload::Value(any)) => pb::non_empty(Some(any)),
                _ => None,
            },
            metadata: request.metadata,
            caller: request.caller.filter(|caller| !caller.name.is_empty()),
            reply: None,
        };
        let now_ms = unix_ms();
        if scheduled_to > now_ms {
            let delay = Duration::from_millis((scheduled_to - now_ms) as u64);
            let inner = self.clone();
            self.tasks.spawn(async move {
                tokio::select! {
                    () = tokio::time::sleep(delay) => inner.deliver(&name, turn),
                    () = inner.stopping.cancelled() => {
                        tracing::warn!(actor = %name, "shutdown dropped a scheduled invocation that had not run yet");
                    }
                }
            });
            return Ok(None);
        }
        if asynchronous {
            self.deliver(&name, turn);
            return Ok(None);
        }
        let (reply, answer) = oneshot::channel();
        turn.reply = Some(reply);
        self.deliver(&name, turn);
        answer.await.unwrap_or(Err(InvokeFailure::ShuttingDown))
    }
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}
