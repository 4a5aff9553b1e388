//! The client side of the proxy's HTTP API: registration, and the `invoke`/`spawn` calls
//! guests make.

use std::time::Duration;

use prost::Message;
use reqwest::Url;

use crate::protocol::spawn as pb;
use crate::wasm::chain::{CallChain, is_synchronous};
use crate::wasm::dispatch::{BoxFuture, Dispatcher};

/// Why a call to the proxy failed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The proxy URL is malformed.
    #[error("invalid proxy URL `{0}`")]
    Url(String),
    /// The proxy could not be reached or the connection failed.
    #[error("cannot reach the proxy: {0}")]
    Transport(#[from] reqwest::Error),
    /// The proxy answered something that is not the expected protobuf message.
    #[error("the proxy answered HTTP {status} with an undecodable body: {error}")]
    Decode {
        /// The HTTP status.
        status: u16,
        /// The decoding error.
        error: prost::DecodeError,
    },
    /// The invoked actor's turn failed: the proxy delivered the host's failure answer (a
    /// `google.rpc.Status` reply, see `sidecar::failure`) as if it were a reply.
    #[error("the invoked actor failed (google.rpc.Code {code}): {message}")]
    Failed {
        /// The `google.rpc.Code`.
        code: i32,
        /// The cause.
        message: String,
    },
    /// The proxy answered with an error status.
    #[error("the proxy answered HTTP {status}: {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The proxy's message, if any.
        message: String,
    },
}

/// An HTTP client for one proxy.
pub struct ProxyClient {
    base: Url,
    http: reqwest::Client,
    /// Signalled when a call could not reach the proxy, so that registration checks at once
    /// whether it went away (a restarted proxy has forgotten the registration).
    unreachable: tokio::sync::Notify,
}

/// The proxy's HTTP client timeout for a call to the host (`lib/actors/node/client.ex:17, 22`):
/// a turn longer than this is posted again by the proxy, so the host's call timeout must not
/// exceed it.
pub const PROXY_HTTP_TIMEOUT: Duration = Duration::from_secs(60);

/// The metadata key the proxy reads as a synchronous call's retry budget, in milliseconds
/// (`lib/actors/actor/caller_consumer.ex:564-568`, default 60 000; used as the `expiry` of
/// its retry loop at `:580`).
pub const REQUEST_TIMEOUT_KEY: &str = "request-timeout";

/// Delay before the first registration retry; doubled after each failure.
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// Upper bound of the registration retry delay.
const MAX_RETRY: Duration = Duration::from_secs(5);

impl ProxyClient {
    /// A client for the proxy at `base_url` (e.g. `http://127.0.0.1:9001`).
    pub fn new(base_url: &str) -> Result<Self, ProxyError> {
        let base = Url::parse(base_url).map_err(|_| ProxyError::Url(base_url.to_owned()))?;
        if base.cannot_be_a_base() {
            return Err(ProxyError::Url(base_url.to_owned()));
        }
        // Straight to the proxy, never through `HTTP_PROXY`/`ALL_PROXY`: the Spawn proxy is
        // this pod's sidecar, and an egress proxy would see (or answer) its traffic.
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_idle_timeout(Duration::from_secs(30))
            .timeout(Duration::from_secs(65))
            .build()?;
        Ok(ProxyClient { base, http, unreachable: tokio::sync::Notify::new() })
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.path_segments_mut().expect("checked in new").pop_if_empty().extend(segments);
        url
    }

    async fn post<Req: Message, Resp: Message + Default>(
        &self,
        url: Url,
        request: &Req,
    ) -> Result<(u16, Resp), ProxyError> {
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(request.encode_to_vec())
            .send()
            .await
            .inspect_err(|_| self.unreachable.notify_one())?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        let decoded = Resp::decode(body).map_err(|error| ProxyError::Decode { status, error })?;
        Ok((status, decoded))
    }

    /// Whether the proxy answers its health route (`GET /health`, always 200 while it runs:
    /// `spawn_proxy/proxy/lib/proxy/routes/health.ex:12-14`). A failure is tried once more
    /// after 100 ms, so that a keep-alive connection the proxy closed as it was reused does not
    /// count as the proxy gone (that would register again, restarting deactivated actors).
    pub async fn healthy(&self) -> bool {
        for attempt in 0..2 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let response = self.http.get(self.url(&["health"])).timeout(Duration::from_secs(5)).send().await;
            if response.is_ok_and(|response| response.status().is_success()) {
                return true;
            }
        }
        false
    }

    /// Resolves the next time a call could not reach the proxy.
    pub async fn unreachable(&self) {
        self.unreachable.notified().await;
    }

    /// Sends the registration once.
    pub async fn register(&self, request: &pb::RegistrationRequest) -> Result<pb::RegistrationResponse, ProxyError> {
        let (status, response) =
            self.post::<_, pb::RegistrationResponse>(self.url(&["api", "v1", "system"]), request).await?;
        match response.status.as_ref() {
            Some(pb::RequestStatus { status: code, .. }) if *code == pb::Status::Ok as i32 && status < 300 => {
                Ok(response)
            }
            other => Err(ProxyError::Rejected {
                status,
                message: other.map(|status| status.message.clone()).unwrap_or_default(),
            }),
        }
    }

    /// Registers, retrying with exponential backoff until the proxy accepts.
    pub async fn register_until_accepted(&self, request: &pb::RegistrationRequest) {
        let actors = request
            .actor_system
            .as_ref()
            .and_then(|system| system.registry.as_ref())
            .map_or(0, |registry| registry.actors.len());
        let mut delay = FIRST_RETRY;
        let mut attempt = 1u32;
        loop {
            match self.register(request).await {
                Ok(response) => {
                    let proxy = response.proxy_info.unwrap_or_default();
                    tracing::info!(
                        actors,
                        proxy = %proxy.proxy_name,
                        proxy_version = %proxy.proxy_version,
                        attempt,
                        "registered with the proxy"
                    );
                    return;
                }
                Err(error) => {
                    tracing::warn!(attempt, retry_in_ms = delay.as_millis() as u64, %error, "registration with the proxy failed");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_RETRY);
                    attempt += 1;
                }
            }
        }
    }

    async fn invoke_actor(&self, request: pb::InvocationRequest) -> Result<Option<prost_types::Any>, ProxyError> {
        let system = request.system.as_ref().map_or("", |system| system.name.as_str()).to_owned();
        let actor =
            request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| id.name.as_str()).to_owned();
        let url = self.url(&["api", "v1", "system", &system, "actors", &actor, "invoke"]);
        let (status, response) = self.post::<_, pb::InvocationResponse>(url, &request).await?;
        let ok = response.status.as_ref().is_some_and(|s| s.status == pb::Status::Ok as i32);
        if !ok || status >= 300 {
            let message = response.status.map(|status| status.message).unwrap_or_default();
            return Err(ProxyError::Rejected { status, message });
        }
        let reply = match response.payload {
            Some(pb::invocation_response::Payload::Value(any)) => pb::non_empty(Some(any)),
            Some(pb::invocation_response::Payload::Noop(_)) | None => None,
        };
        if let Some(failure) = reply.as_ref().and_then(super::failure::failure_in) {
            return Err(ProxyError::Failed { code: failure.code, message: failure.message });
        }
        Ok(reply)
    }

    async fn spawn_actors(&self, request: pb::SpawnRequest) -> Result<(), ProxyError> {
        let system = request.actors.first().map_or("", |id| id.system.as_str()).to_owned();
        let url = self.url(&["api", "v1", "system", &system, "actors", "spawn"]);
        let (status, response) = self.post::<_, pb::SpawnResponse>(url, &request).await?;
        match response.status {
            Some(pb::RequestStatus { status: code, .. }) if code == pb::Status::Ok as i32 && status < 300 => Ok(()),
            other => Err(ProxyError::Rejected { status, message: other.map(|s| s.message).unwrap_or_default() }),
        }
    }
}

impl Dispatcher for ProxyClient {
    /// Through the proxy, within what is left of the calling turn's deadline; an actor
    /// invoking itself synchronously is refused at once (it would wait for its own turn).
    fn invoke(
        &self,
        request: pb::InvocationRequest,
        chain: CallChain,
    ) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>> {
        Box::pin(async move {
            let mut request = request;
            if is_synchronous(&request) {
                chain.invoked(&request).map_err(|error| error.to_string())?;
                pass_deadline_on(&mut request, chain.deadline());
            }
            match tokio::time::timeout_at(chain.deadline().into(), self.invoke_actor(request)).await {
                Ok(reply) => reply.map_err(|error| error.to_string()),
                Err(_) => Err("the request's deadline passed while the proxy was answering".into()),
            }
        })
    }

    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.spawn_actors(request).await.map_err(|error| error.to_string()) })
    }
}

/// Tells the proxy how long a synchronous call may take, unless the guest said: the proxy
/// retries a failing call until `request-timeout` (default 60 s), long after the calling turn
/// gave up at its deadline.
fn pass_deadline_on(request: &mut pb::InvocationRequest, deadline: std::time::Instant) {
    let remaining = deadline.saturating_duration_since(std::time::Instant::now()).as_millis().max(1);
    request.metadata.entry(REQUEST_TIMEOUT_KEY.to_owned()).or_insert_with(|| remaining.to_string());
}
