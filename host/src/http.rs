//! Limits every HTTP server of the host applies, so that a flood or an oversized body
//! gets a clear answer rather than unbounded memory: a maximum body size (413) and a bound
//! on requests in flight (503, at once, instead of queueing without end).

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

/// Limits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body accepted, in bytes (the proxy's own limit is about 8 MB).
    pub max_body_bytes: usize,
    /// Requests handled at once; more are refused with 503.
    pub max_in_flight: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits { max_body_bytes: 8 << 20, max_in_flight: 4096 }
    }
}

/// `router` with `limits` applied. Apply it to the API routes only: health probes must
/// answer even when the host is saturated.
pub fn limited<S: Clone + Send + Sync + 'static>(router: Router<S>, limits: HttpLimits) -> Router<S> {
    let permits = Arc::new(Semaphore::new(limits.max_in_flight));
    router.layer(middleware::from_fn_with_state(permits, admit)).layer(DefaultBodyLimit::max(limits.max_body_bytes))
}

/// Runs the request if a permit is free; answers 503 at once otherwise.
async fn admit(State(permits): State<Arc<Semaphore>>, request: Request, next: Next) -> Response {
    match permits.try_acquire() {
        Ok(_permit) => next.run(request).await,
        Err(_) => {
            tracing::warn!(path = %request.uri().path(), "too many requests in flight; answering 503");
            let body = "too many requests in flight; retry later";
            (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body).into_response()
        }
    }
}
