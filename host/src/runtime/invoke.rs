//! An invocation's way in: checks, then now, later (`scheduled_to`: kept in the store until
//! it ran, see [`super::timers`]), or fire-and-forget.
//!
//! Every invocation is part of a request's [`CallChain`]: one that starts here (a client's
//! call, a timer's tick, a scheduled or async message) gets the host's call timeout; one
//! made along a chain (a pipe, a forward, a guest's synchronous invoke) keeps its caller's
//! deadline. A synchronous caller waits at most until that deadline; then its turn, if
//! still queued, is dropped unrun, and if running, is interrupted (see [`super::turn`]).
//! A message nobody waits for has no caller to time out: however long it queued, it runs,
//! with a deadline of its own from when its turn starts.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::SpanKind;
use tokio::sync::oneshot;

use super::actions::check_action;
use super::actor::Turn;
use super::core::Inner;
use super::failure::{InvokeFailure, InvokeResult};
use crate::protocol::spawn as pb;
use crate::telemetry::TraceContext;
use crate::wasm::chain::{CallChain, target_of};

/// How long past the deadline a caller waits for the turn's own answer.
const ANSWER_GRACE: Duration = Duration::from_millis(100);

impl Inner {
    /// Runs an invocation that starts a request, with the proxy's semantics; see
    /// [`InvokeFailure`] for errors.
    /// The request's span is the child of the `traceparent` in its metadata, if it has one.
    pub(super) async fn invoke(self: &Arc<Self>, request: pb::InvocationRequest) -> InvokeResult {
        let parent = TraceContext::from_metadata(|key| request.metadata.get(key).map(String::as_str));
        let telemetry = self.executor.engine().telemetry();
        let mut span = telemetry.start(|| "invoke".into(), SpanKind::Server, parent.as_ref());
        span.set_instance(target_of(&request));
        if span.is_recording() {
            span.set("spawn.action", request.action_name.clone());
        }
        let chain = CallChain::traced(self.new_deadline(), span.context().clone());
        let result = self.invoke_in(request, chain).await;
        if let Err(failure) = &result {
            span.fail(failure.to_string());
        }
        result
    }

    /// Runs an invocation along `chain`.
    pub(super) async fn invoke_in(self: &Arc<Self>, request: pb::InvocationRequest, chain: CallChain) -> InvokeResult {
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
        if request.scheduled_to > unix_ms() {
            return self.schedule(&name, request).await.map(|()| None);
        }
        let asynchronous = request.r#async;
        let mut turn = Turn::from_request(request, chain);
        if asynchronous {
            // Nobody waits for it: its turn detaches its chain and gets its deadline when it
            // starts (see `take_turn`).
            self.deliver(&name, turn)?;
            return Ok(None);
        }
        if turn.chain.expired() {
            return Err(InvokeFailure::DeadlineExceeded { actor: name, action: turn.action });
        }
        let deadline = turn.chain.deadline();
        let action = turn.action.clone();
        let (reply, answer) = oneshot::channel();
        turn.reply = Some(reply);
        self.deliver(&name, turn)?;
        // A little past the deadline, so that a turn interrupted at the deadline answers first,
        // with its own cause.
        match tokio::time::timeout_at((deadline + ANSWER_GRACE).into(), answer).await {
            Ok(result) => result.unwrap_or(Err(InvokeFailure::ShuttingDown)),
            // Dropping `answer` tells the turn its caller is gone.
            Err(_) => Err(InvokeFailure::DeadlineExceeded { actor: name, action }),
        }
    }
}

/// Now, in Unix milliseconds (the unit of `scheduled_to`).
pub(super) fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}
