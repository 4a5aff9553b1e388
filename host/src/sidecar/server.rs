//! The user-function HTTP server the proxy calls: `POST /api/v1/actors/actions` with an
//! `ActorInvocation`, answered with an `ActorInvocationResponse`.
//!
//! A failed turn answers a response the proxy can read and that changes nothing (see
//! [`super::failure`]); a burst above `--max-in-flight` waits (see [`super::admission`]);
//! overload past the queue answers an empty body, which the proxy retries when synchronous.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use opentelemetry::trace::SpanKind;
use prost::Message;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::admission::Admission;
use super::body::{self, BodyError};
use super::checkpoint::CheckpointWarnings;
use super::failure::{self, Code, Failure};
use super::proxy::ProxyClient;
use super::ticks::{self, Ticks};
use crate::console::{self, Console};
use crate::http::{self, Access, HttpLimits};
use crate::modules::set::ModuleSet;
use crate::protocol::convert;
use crate::protocol::spawn as pb;
use crate::telemetry::recent::RecentRequests;
use crate::telemetry::{Span, TraceContext};
use crate::wasm::chain::CallChain;
use crate::wasm::dispatch::put_trace;
use crate::wasm::executor::Executor;

/// What the handlers share.
pub(super) struct AppState {
    pub(super) executor: Executor,
    pub(super) modules: Arc<ModuleSet>,
    proxy: Arc<ProxyClient>,
    system: String,
    max_body_bytes: usize,
    /// How long a body may take to arrive after its headers (`--header-timeout-ms`).
    body_timeout: Duration,
    /// Invocations in flight (`--max-in-flight`) and waiting (`--max-queued`).
    admission: Admission,
    ready: AtomicBool,
    /// Set on SIGTERM: readiness is down while the server keeps serving (the drain period).
    stopping: AtomicBool,
    draining: CancellationToken,
    checkpoints: CheckpointWarnings,
    ticks: Ticks,
}

impl AppState {
    pub(super) fn new(
        executor: Executor,
        modules: Arc<ModuleSet>,
        proxy: Arc<ProxyClient>,
        system: String,
        limits: HttpLimits,
        max_queued: usize,
    ) -> Self {
        AppState {
            executor,
            modules,
            proxy,
            system,
            max_body_bytes: limits.max_body_bytes,
            body_timeout: limits.header_timeout,
            admission: Admission::new(limits.max_in_flight, max_queued),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            draining: CancellationToken::new(),
            checkpoints: CheckpointWarnings::default(),
            ticks: Ticks::default(),
        }
    }

    pub(super) fn executor(&self) -> &Executor {
        &self.executor
    }

    pub(super) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub(super) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.stopping.load(Ordering::Acquire) && !self.draining.is_cancelled()
    }

    /// Readiness turns down for good; the server keeps serving.
    pub(super) fn begin_stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Readiness turns down and the server stops accepting new connections.
    pub(super) fn begin_draining(&self) {
        self.draining.cancel();
    }
}

pub(super) async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    limits: HttpLimits,
    access: Access,
) -> std::io::Result<()> {
    // No layers on the actions route: each would box and move every call's future.
    let api = Router::new().route("/api/v1/actors/actions", post(invoke_action).fallback(failure::wrong_method));
    let app = http::with_operations(api.merge(console::routes(access.clone())), access).with_state(state.clone());
    http::serve(listener, app, limits, state.draining.clone()).await
}

impl http::Operations for Arc<AppState> {
    fn modules(&self) -> &ModuleSet {
        &self.modules
    }

    fn metrics(&self) -> &crate::metrics::Metrics {
        self.executor.engine().metrics()
    }

    fn ready(&self) -> bool {
        self.is_ready()
    }
}

impl Console for Arc<AppState> {
    const MODE: &'static str = "sidecar";

    fn system(&self) -> &str {
        &self.system
    }

    fn active_instances(&self) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
        None
    }

    fn recent_requests(&self) -> &RecentRequests {
        self.executor.engine().telemetry().recent()
    }
}

async fn invoke_action(State(state): State<Arc<AppState>>, body: Body) -> Response {
    let arrived = Instant::now();
    let deadline = arrived + state.executor.engine().limits().call_timeout;
    let _permit = match state.admission.admit(deadline).await {
        Ok(permit) => permit,
        Err(refused) => return failure::overloaded(refused),
    };
    let body = match body::read_within(body, state.max_body_bytes, state.body_timeout).await {
        Ok(body) => body,
        Err(error @ BodyError::Late { .. }) => {
            return Failure::new(StatusCode::REQUEST_TIMEOUT, Code::DeadlineExceeded, error.to_string())
                .answer("?", "?", None);
        }
        Err(error @ BodyError::TooLarge { .. }) => {
            return Failure::new(StatusCode::PAYLOAD_TOO_LARGE, Code::ResourceExhausted, error.to_string())
                .answer("?", "?", None);
        }
        Err(error @ BodyError::Read(_)) => {
            return Failure::new(StatusCode::BAD_REQUEST, Code::InvalidArgument, error.to_string())
                .answer("?", "?", None);
        }
    };
    let mut invocation = match pb::ActorInvocation::decode(body) {
        Ok(invocation) => invocation,
        Err(error) => {
            let cause = format!("the body is not an ActorInvocation: {error}");
            return Failure::new(StatusCode::BAD_REQUEST, Code::InvalidArgument, cause).answer("?", "?", None);
        }
    };
    let action = invocation.action_name.clone();
    let Some(name) = convert::definition_name(&invocation).map(str::to_owned) else {
        let failure = Failure::new(StatusCode::BAD_REQUEST, Code::InvalidArgument, "the invocation names no actor");
        return failure.answer("?", &action, None);
    };
    let entry = state.modules.registry().get(&name).cloned();
    let skipped = match &entry {
        Some(entry) => state.ticks.skip(entry.definition(), &invocation),
        None => ticks::skip_unknown(&invocation),
    };
    if let Some(skipped) = skipped {
        tracing::debug!(actor = %name, action = %action, "answered with a no-op: {skipped}");
        return failure::answered(StatusCode::OK, ticks::noop_response(&invocation));
    }
    let mut span = turn_span(&state, &name, &mut invocation);
    let (wit_invocation, context) = convert::invocation_to_wit(&name, invocation);
    let Some(entry) = entry else {
        let cause = format!("no loaded component provides actor `{name}`");
        return Failure::new(StatusCode::NOT_FOUND, Code::NotFound, cause).answer(&name, &action, Some(context));
    };
    let dispatcher = state.proxy.clone();
    let chain = CallChain::traced(deadline, span.context().clone());
    let outcome = state.executor.run(&entry.module, wit_invocation, dispatcher, chain).await;
    if let Err(error) = &outcome {
        span.fail(error.to_string());
    }
    match outcome {
        Ok(value) => {
            let mut response = convert::response_from_wit(context, value);
            if response.actor_system.is_empty() {
                response.actor_system = state.system.clone();
            }
            if response.checkpoint {
                // Broken in the proxy (it crashes the actor call): cleared, said once per action.
                response.checkpoint = false;
                state.checkpoints.cleared(&name, &action);
            }
            failure::answered(StatusCode::OK, response)
        }
        Err(error) => Failure::of(&error).answer(&name, &action, Some(context)),
    }
}

/// Opens the turn's span, the child of the `traceparent` the proxy passed on in the
/// invocation's metadata (if any), and shows it to the guest in that metadata.
fn turn_span(state: &AppState, name: &str, invocation: &mut pb::ActorInvocation) -> Span {
    let context = invocation.current_context.get_or_insert_with(Default::default);
    let parent = TraceContext::from_metadata(|key| context.metadata.get(key).map(String::as_str));
    let action = &invocation.action_name;
    let telemetry = state.executor.engine().telemetry();
    let mut span = telemetry.start(|| format!("{name}.{action}").into(), SpanKind::Server, parent.as_ref());
    span.set_instance(invocation.actor.as_ref().map_or("", |actor| actor.name.as_str()));
    if span.is_recording() {
        span.set("spawn.actor", name.to_owned());
        span.set("spawn.action", action.clone());
    }
    put_trace(&mut context.metadata, span.context());
    span
}
