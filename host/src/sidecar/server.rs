//! The user-function HTTP server the proxy calls: `POST /api/v1/actors/actions` with an
//! `ActorInvocation`, answered with an `ActorInvocationResponse`.
//!
//! Every failure answers a non-2xx status with an empty body, which the proxy reports as an
//! error (it reads the body, not the status: a 2xx with a body would claim success).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::proxy::ProxyClient;
use crate::http::{self, HttpLimits};
use crate::modules::set::ModuleSet;
use crate::protocol::convert;
use crate::protocol::spawn as pb;
use crate::protocol::wit::types as wit;
use crate::wasm::chain::CallChain;
use crate::wasm::executor::{Executor, GuestError, InvokeError};

/// What the handlers share.
pub(super) struct AppState {
    executor: Executor,
    pub(super) modules: Arc<ModuleSet>,
    proxy: Arc<ProxyClient>,
    system: String,
    ready: AtomicBool,
    draining: CancellationToken,
}

impl AppState {
    pub(super) fn new(executor: Executor, modules: Arc<ModuleSet>, proxy: Arc<ProxyClient>, system: String) -> Self {
        AppState { executor, modules, proxy, system, ready: AtomicBool::new(false), draining: CancellationToken::new() }
    }

    pub(super) fn executor(&self) -> &Executor {
        &self.executor
    }

    pub(super) fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Release);
    }

    pub(super) fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.draining.is_cancelled()
    }

    /// Readiness turns down and the server stops accepting new connections.
    pub(super) fn begin_draining(&self) {
        self.draining.cancel();
    }
}

pub(super) async fn serve(listener: TcpListener, state: Arc<AppState>, limits: HttpLimits) -> std::io::Result<()> {
    let api = Router::new().route("/api/v1/actors/actions", post(invoke_action));
    let app = http::with_operations(http::limited(api, limits)).with_state(state.clone());
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

/// A failure answered with a status and an empty body, after a log line naming actor,
/// action and cause.
fn failure(status: StatusCode, actor: &str, action: &str, cause: &dyn std::fmt::Display) -> Response {
    tracing::warn!(actor, action, status = status.as_u16(), "invocation failed: {cause}");
    status.into_response()
}

async fn invoke_action(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let invocation = match pb::ActorInvocation::decode(body) {
        Ok(invocation) => invocation,
        Err(error) => {
            let cause = format!("the body is not an ActorInvocation: {error}");
            return failure(StatusCode::BAD_REQUEST, "?", "?", &cause);
        }
    };
    let action = invocation.action_name.clone();
    let Some(name) = convert::definition_name(&invocation).map(str::to_owned) else {
        return failure(StatusCode::BAD_REQUEST, "?", &action, &"the invocation names no actor");
    };
    let Some(entry) = state.modules.registry().get(&name).cloned() else {
        let cause = format!("no loaded component provides actor `{name}`");
        return failure(StatusCode::NOT_FOUND, &name, &action, &cause);
    };
    let (wit_invocation, context) = convert::invocation_to_wit(&name, invocation);
    let dispatcher = state.proxy.clone();
    let chain = CallChain::new(Instant::now() + state.executor.engine().limits().call_timeout);
    match state.executor.run(&entry.module, wit_invocation, dispatcher, chain).await {
        Ok(value) => {
            let mut response = convert::response_from_wit(context, value);
            if response.actor_system.is_empty() {
                response.actor_system = state.system.clone();
            }
            ([(header::CONTENT_TYPE, "application/octet-stream")], response.encode_to_vec()).into_response()
        }
        Err(error) => failure(status_of(&error), &name, &action, &error),
    }
}

fn status_of(error: &InvokeError) -> StatusCode {
    match error {
        InvokeError::Guest(GuestError(wit::Error::UnknownAction(_))) => StatusCode::NOT_FOUND,
        InvokeError::Guest(GuestError(wit::Error::BadPayload(_))) => StatusCode::BAD_REQUEST,
        InvokeError::Deadline(_) => StatusCode::GATEWAY_TIMEOUT,
        InvokeError::Guest(_)
        | InvokeError::MemoryLimit(_)
        | InvokeError::Trap(_)
        | InvokeError::ReplyTooLarge { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
