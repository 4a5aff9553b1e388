//! What both modes' HTTP servers share: limits on the wire (a maximum body size, 413; a bound
//! on requests in flight, 503 at once instead of an unbounded queue; a body that does not
//! arrive within the header timeout, 408), the operational routes (health, readiness,
//! metrics, modules), who may call them ([`Access`], in `access`: a bearer token beyond
//! loopback, no other site's web pages), and draining on shutdown.

mod access;

pub use access::{Access, guarded};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use crate::metrics::{self, Metrics};
use crate::modules::set::ModuleSet;

/// Limits on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body accepted, in bytes (the proxy's own limit is about 8 MB).
    pub max_body_bytes: usize,
    /// Requests handled at once; more are refused with 503.
    pub max_in_flight: usize,
    /// How long a connection may take to send a request's headers, and stay idle between
    /// requests; then it is closed (so that slow or idle clients cannot hold connections).
    pub header_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits { max_body_bytes: 8 << 20, max_in_flight: 4096, header_timeout: Duration::from_secs(30) }
    }
}

/// Serves `app` on `listener` (HTTP/1.1, keep-alive) until `shutdown` is cancelled; then stops
/// accepting and waits for the connections' requests in flight to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: HttpLimits,
    shutdown: tokio_util::sync::CancellationToken,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(true);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let idle = Idle::new();
        let router = hyper_util::service::TowerToHyperService::new(app.clone());
        let service = hyper::service::service_fn({
            let idle = idle.clone();
            move |request| {
                idle.serving();
                let response = hyper::service::Service::call(&router, request);
                let idle = idle.clone();
                async move {
                    let response = response.await;
                    idle.waiting();
                    response
                }
            }
        });
        let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let header_timeout = limits.header_timeout;
        tokio::spawn(async move {
            tokio::select! {
                ended = connection => if let Err(error) = ended {
                    tracing::debug!(%error, "connection ended with an error");
                },
                () = idle.expired(header_timeout) => {
                    tracing::debug!("closed a connection that sent no complete request headers within the header timeout");
                }
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// Since when a connection has been waiting for a request's headers (since it opened, or
/// since its last answer), so that one that sends no complete headers within
/// `--header-timeout-ms`, or stays idle that long, is closed. It costs a timer per
/// connection and period, where hyper's `header_read_timeout` armed one per request in the
/// runtime's timer wheel, which every worker thread shares.
#[derive(Clone)]
struct Idle(Arc<IdleSince>);

struct IdleSince {
    opened: tokio::time::Instant,
    /// Milliseconds from `opened` to the start of the wait, or [`Idle::SERVING`].
    since_ms: AtomicU64,
}

impl Idle {
    /// A request is being served: no header deadline.
    const SERVING: u64 = u64::MAX;

    fn new() -> Self {
        Idle(Arc::new(IdleSince { opened: tokio::time::Instant::now(), since_ms: AtomicU64::new(0) }))
    }

    fn serving(&self) {
        self.0.since_ms.store(Self::SERVING, Ordering::Relaxed);
    }

    fn waiting(&self) {
        self.0.since_ms.store(self.0.opened.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Resolves once the connection has waited `timeout` for a request's headers.
    async fn expired(&self, timeout: Duration) {
        loop {
            let since = self.0.since_ms.load(Ordering::Relaxed);
            if since == Self::SERVING {
                tokio::time::sleep(timeout).await;
                continue;
            }
            let deadline = self.0.opened + Duration::from_millis(since) + timeout;
            if tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// `router` with `limits` applied. Apply it to the API routes only: health probes must
/// answer even when the host is saturated. (The sidecar's actions route applies the same
/// bounds in its handler instead, to keep layers off its per-call path.)
pub fn limited<S: Clone + Send + Sync + 'static>(router: Router<S>, limits: HttpLimits) -> Router<S> {
    let admission = Arc::new(Admission { permits: Semaphore::new(limits.max_in_flight), limits });
    router.layer(middleware::from_fn_with_state(admission, admit)).layer(DefaultBodyLimit::max(limits.max_body_bytes))
}

/// What [`admit`] shares between requests: the permits of `--max-in-flight`, and the limits.
struct Admission {
    permits: Semaphore,
    limits: HttpLimits,
}

/// Runs the request if a permit is free (503 at once otherwise), once its whole body has
/// arrived within the header timeout: a client that sends its headers and then trickles or
/// stops its body would otherwise hold the permit, and its connection, for ever. A late body
/// gets 408 and the connection is closed; one over `--max-body-bytes` 413. A body that came
/// with its headers is read at once, without arming a timer.
async fn admit(State(admission): State<Arc<Admission>>, request: Request, next: Next) -> Response {
    let Ok(_permit) = admission.permits.try_acquire() else {
        tracing::warn!(path = %request.uri().path(), "too many requests in flight; answering 503");
        let body = "too many requests in flight; retry later";
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], body).into_response();
    };
    let HttpLimits { max_body_bytes, header_timeout, .. } = admission.limits;
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(header_timeout, axum::body::to_bytes(body, max_body_bytes)).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) if is_too_large(&error) => {
            let body = format!("the request body is over the limit of {max_body_bytes} bytes (--max-body-bytes)");
            return (StatusCode::PAYLOAD_TOO_LARGE, body).into_response();
        }
        Ok(Err(_)) => return (StatusCode::BAD_REQUEST, "reading the request body failed").into_response(),
        Err(_) => {
            tracing::debug!(path = %parts.uri.path(), "a request body did not arrive within the header timeout");
            let body = format!(
                "the request body did not arrive within {} ms of its headers (--header-timeout-ms)",
                header_timeout.as_millis()
            );
            return (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")], body).into_response();
        }
    };
    next.run(Request::from_parts(parts, Body::from(body))).await
}

/// Whether reading a body failed because it is over the limit given to `to_bytes`.
fn is_too_large(error: &axum::Error) -> bool {
    std::error::Error::source(error).is_some_and(|cause| cause.is::<http_body_util::LengthLimitError>())
}

/// What the operational routes need from a mode's server state.
pub trait Operations: Clone + Send + Sync + 'static {
    /// The loaded components (`GET /v1/modules`).
    fn modules(&self) -> &ModuleSet;
    /// The process's metrics (`GET /metrics`).
    fn metrics(&self) -> &Metrics;
    /// Whether the mode is ready for calls (`GET /health/readiness`).
    fn ready(&self) -> bool;
}

/// `router` with the operational routes added: `/health`, `/health/liveness`,
/// `/health/readiness`, `/metrics` open to all, `/v1/modules` as `access` allows.
pub fn with_operations<S: Operations>(router: Router<S>, access: Access) -> Router<S> {
    router
        .merge(guarded(Router::new().route("/v1/modules", get(modules::<S>)), access))
        .route("/health", get(liveness))
        .route("/health/liveness", get(liveness))
        .route("/health/readiness", get(readiness::<S>))
        .route("/metrics", get(metrics_text::<S>))
}

async fn liveness() -> Response {
    health(true)
}

async fn readiness<S: Operations>(State(state): State<S>) -> Response {
    health(state.ready())
}

async fn modules<S: Operations>(State(state): State<S>) -> Response {
    axum::Json(state.modules().status()).into_response()
}

async fn metrics_text<S: Operations>(State(state): State<S>) -> Response {
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], state.metrics().encode()).into_response()
}

fn health(up: bool) -> Response {
    let (status, body) = if up {
        (StatusCode::OK, r#"{"status":"up"}"#)
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, r#"{"status":"down"}"#)
    };
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// How long shutdown waits for calls in flight.
pub const DRAIN_GRACE: Duration = Duration::from_secs(30);

/// Waits until `server` ends (an error) or `shutdown` resolves; then calls `begin_draining`
/// (readiness down, the server stops accepting) and lets calls in flight finish, for at
/// most [`DRAIN_GRACE`].
pub async fn serve_until(
    server: &mut tokio::task::JoinHandle<std::io::Result<()>>,
    shutdown: impl Future<Output = ()>,
    begin_draining: impl FnOnce(),
) -> anyhow::Result<()> {
    tokio::select! {
        result = &mut *server => {
            result.context("the server task panicked")?.context("the server failed")?;
        }
        () = shutdown => {
            tracing::info!("shutting down: draining calls in flight");
            begin_draining();
            if tokio::time::timeout(DRAIN_GRACE, &mut *server).await.is_err() {
                tracing::error!("calls still in flight after {DRAIN_GRACE:?} are dropped");
                server.abort();
            }
        }
    }
    Ok(())
}
