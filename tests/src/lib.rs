//! Support for the end-to-end tests: a test proxy that speaks the Spawn proxy's side of the
//! protocol over real HTTP (and behaves like the stock proxy where hosts go wrong: see
//! [`stock`]), a client for the host's user-function route, and helpers to build real
//! `ActorInvocation`s for the example components.

pub mod otlp;
mod stock;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::routing::post;
use prost::{Message, Name};
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::protocol::spawn::{self as pb, actors};
use spawn_wasm_host::runtime::RoutingLimits;
use spawn_wasm_host::sidecar::{RpcStatus, Sidecar, SidecarConfig, failure_in};
use spawn_wasm_host::wasm::limits::Limits;
use tokio::sync::watch;

/// The actor system every test uses.
pub const SYSTEM: &str = "spawn-system";

/// The directory of the example components built by this crate's build script.
pub fn examples_dir() -> PathBuf {
    PathBuf::from(env!("SPAWN_WASM_EXAMPLES"))
}

/// Where the test-only components are built (`legacy`, for an old WIT).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("SPAWN_WASM_FIXTURES"))
}

/// A temporary actors directory holding copies of the named example components.
pub fn actors_dir(components: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    for name in components {
        let file = format!("{name}.wasm");
        std::fs::copy(examples_dir().join(&file), dir.path().join(&file))
            .unwrap_or_else(|error| panic!("copying example component {file}: {error}"));
    }
    dir
}

/// Every example component.
pub const ALL_EXAMPLES: &[&str] = &["caller", "clock", "counter", "hostile", "joe", "router"];

/// Logs of the host under test go to the test's output (shown for failing tests).
pub fn init_logging() {
    let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info,spawn_wasm_host=debug").try_init();
}

/// What the test proxy received, in order.
#[derive(Debug, Default, Clone)]
pub struct ProxyLog {
    /// Registration requests.
    pub registrations: Vec<pb::RegistrationRequest>,
    /// Invocations sent by guests: the URL's actor segment and the request.
    pub invocations: Vec<(String, pb::InvocationRequest)>,
    /// Spawn requests sent by guests.
    pub spawns: Vec<pb::SpawnRequest>,
    /// What the host answered to the call the proxy made while handling the registration.
    pub warmup: Option<(StatusCode, Vec<u8>)>,
    /// The host's readiness status while its registration was being handled.
    pub readiness_during_registration: Option<StatusCode>,
    /// Every `ActorInvocation` posted to the host while dispatching, retries and `init`
    /// included: actor and action.
    pub host_calls: Vec<(String, String)>,
    /// Why each retry of a dispatched invocation happened (an empty answer, no
    /// `updated_context`, a transport error).
    pub retries: Vec<String>,
    /// Why each actor process crashed, dropping its in-memory state.
    pub crashes: Vec<String>,
    /// Each activation of an actor process (a store read, then `init` if it has one), by name.
    pub activations: Vec<String>,
    /// Why each asynchronous invocation (a cast, a timer's tick) failed: the proxy drops
    /// them without a retry.
    pub dropped: Vec<String>,
}

/// How the test proxy answers guests' invocations.
#[derive(Debug, Clone)]
pub enum InvokeAnswer {
    /// `InvocationResponse{OK, payload}`.
    Ok(Option<prost_types::Any>),
    /// HTTP 500 with `InvocationResponse{ERROR, message}`.
    Error(String),
    /// As the stock proxy: activate the target and run the action on the host (the default).
    Dispatch,
}

struct ProxyState {
    log: Mutex<ProxyLog>,
    answer: Mutex<InvokeAnswer>,
    /// How long each guest invocation waits before it is answered.
    delay: Mutex<Duration>,
    host: watch::Receiver<Option<SocketAddr>>,
    registrations: watch::Sender<usize>,
    actors: stock::StockActors,
    /// Set by [`TestProxy::drain`]: new invocations and registrations are refused, turns
    /// already in actors' mailboxes are still posted.
    draining: std::sync::atomic::AtomicBool,
}

/// A stand-in for the Spawn proxy on loopback: accepts the registration (after calling
/// the host once, and warming up its actors as the proxy does), dispatches invocations to the
/// host like the stock proxy (or answers them as told), and records spawns.
pub struct TestProxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    host: watch::Sender<Option<SocketAddr>>,
    registered: watch::Receiver<usize>,
    server: Mutex<Option<ProxyServer>>,
}

/// The running server of a [`TestProxy`] and how to stop it.
struct ProxyServer {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl ProxyServer {
    fn spawn(listener: tokio::net::TcpListener, state: Arc<ProxyState>) -> ProxyServer {
        let app = Router::new()
            // Always up while it runs: `spawn_proxy/proxy/lib/proxy/routes/health.ex:12-14`.
            .route("/health", axum::routing::get(|| async { r#"{"status":"up"}"# }))
            .route("/api/v1/system", post(register))
            .route("/api/v1/system/{system}/actors/spawn", post(spawn))
            .route("/api/v1/system/{system}/actors/{actor}/invoke", post(invoke))
            // The stock proxy reads bodies with Plug's default limit, 8 MB.
            .layer(axum::extract::DefaultBodyLimit::max(8_000_000))
            .with_state(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            axum::serve(listener, app).with_graceful_shutdown(shutdown).await.expect("test proxy server");
        });
        ProxyServer { task, stop }
    }
}

impl TestProxy {
    /// Starts the proxy on a free loopback port.
    pub async fn start() -> TestProxy {
        let (host, host_rx) = watch::channel(None);
        let (registrations, registered) = watch::channel(0);
        let state = Arc::new(ProxyState {
            log: Mutex::new(ProxyLog::default()),
            answer: Mutex::new(InvokeAnswer::Dispatch),
            delay: Mutex::new(Duration::ZERO),
            host: host_rx,
            registrations,
            actors: stock::StockActors::default(),
            draining: std::sync::atomic::AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding the test proxy");
        let addr = listener.local_addr().unwrap();
        let server = Mutex::new(Some(ProxyServer::spawn(listener, state.clone())));
        TestProxy { addr, state, host, registered, server }
    }

    /// Stops serving (closing its connections), as a proxy that goes down.
    pub async fn stop(&self) {
        let server = self.server.lock().unwrap().take();
        if let Some(server) = server {
            let _ = server.stop.send(());
            let _ = server.task.await;
        }
    }

    /// Serves again on the same port, as a restarted proxy: its registry, actor processes and
    /// timer schedules, all in memory, are gone (the store is kept).
    pub async fn start_again(&self) {
        self.state.actors.forget();
        let listener = tokio::net::TcpListener::bind(self.addr).await.expect("binding the test proxy again");
        *self.server.lock().unwrap() = Some(ProxyServer::spawn(listener, self.state.clone()));
    }

    /// The proxy's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Tells the proxy where the host listens (it calls the host while registering).
    pub fn set_host(&self, addr: SocketAddr) {
        self.host.send_replace(Some(addr));
    }

    /// Sets how guests' invocations are answered from now on.
    pub fn answer_invocations(&self, answer: InvokeAnswer) {
        *self.state.answer.lock().unwrap() = answer;
    }

    /// Makes every guest invocation wait `delay` before it is answered, as a slow or
    /// overloaded proxy; `Duration::ZERO` answers at once again.
    pub fn delay_invocations(&self, delay: Duration) {
        *self.state.delay.lock().unwrap() = delay;
    }

    /// A snapshot of what the proxy received.
    pub fn log(&self) -> ProxyLog {
        self.state.log.lock().unwrap().clone()
    }

    /// A client of this proxy's client API.
    pub fn client(&self) -> ClientApi {
        ClientApi::new(self.addr)
    }

    /// The in-memory state of an actor process: `None` if it is not active (never activated,
    /// or crashed).
    pub async fn memory(&self, actor: &str) -> Option<actors::ActorState> {
        self.state.actors.memory(actor).await
    }

    /// Drains as the stock proxy does after SIGTERM (`lib/sidecar/graceful_shutdown.ex:113-120`):
    /// new invocations are refused (`caller_producer.ex:209-212`) and so are registrations
    /// (`caller_consumer.ex:172, 193-199`), while turns already waiting in actors' mailboxes
    /// (casts, calls behind a running turn) are still posted to the host.
    pub fn drain(&self) {
        self.state.draining.store(true, std::sync::atomic::Ordering::Release);
    }

    /// Deactivates an actor process as its deactivation timer does: its state is saved, and
    /// its next activation reads the registry (and the store) again.
    pub async fn deactivate(&self, actor: &str) {
        self.state.actors.deactivate(actor).await;
    }

    /// Fires actors' timers as the stock proxy does (scheduled at each activation from then
    /// on), or stops every schedule. Off by default, so that ticks do not disturb other tests.
    pub fn fire_timers(&self, on: bool) {
        self.state.actors.fire_timers(on);
    }

    /// Waits (at most 20 s) until `count` registrations have arrived.
    pub async fn wait_for_registrations(&self, count: usize) {
        let mut registered = self.registered.clone();
        tokio::time::timeout(Duration::from_secs(20), registered.wait_for(|n| *n >= count))
            .await
            .expect("timed out waiting for the registration")
            .expect("test proxy gone");
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.task.abort();
        }
        self.state.actors.forget();
    }
}

async fn register(State(state): State<Arc<ProxyState>>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = pb::RegistrationRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        return (StatusCode::INTERNAL_SERVER_ERROR, b"Error on create Actors".to_vec());
    }
    // Like the proxy's warm-up, call the host before answering: it must already listen.
    let mut host = state.host.clone();
    let addr = match tokio::time::timeout(Duration::from_secs(10), host.wait_for(Option::is_some)).await {
        Ok(Ok(addr)) => *addr,
        _ => None,
    };
    let warmup = match addr {
        Some(addr) => {
            let invocation =
                InvocationBuilder::new("counter", "increment").payload(&domain::Increment { by: 0 }).build();
            let client = HostClient::new(addr);
            Some((client.send(&invocation).await, client.readiness().await))
        }
        None => None,
    };
    state.actors.register(&request);
    if let Some(addr) = addr {
        state.actors.warm_up(&state, addr).await;
    }
    {
        let mut log = state.log.lock().unwrap();
        log.registrations.push(request);
        log.warmup = warmup.as_ref().map(|(answer, _)| answer.clone());
        log.readiness_during_registration = warmup.map(|(_, readiness)| readiness);
    }
    state.registrations.send_modify(|n| *n += 1);
    let response = pb::RegistrationResponse {
        status: Some(pb::RequestStatus { status: pb::Status::Ok as i32, message: "Accepted".into() }),
        proxy_info: Some(pb::ProxyInfo {
            protocol_major_version: 1,
            protocol_minor_version: 2,
            proxy_name: "spawn".into(),
            proxy_version: "test".into(),
        }),
    };
    (StatusCode::OK, response.encode_to_vec())
}

async fn invoke(
    State(state): State<Arc<ProxyState>>,
    UrlPath((_system, actor)): UrlPath<(String, String)>,
    body: Bytes,
) -> (StatusCode, Vec<u8>) {
    let Ok(request) = pb::InvocationRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    state.log.lock().unwrap().invocations.push((actor, request.clone()));
    if state.draining.load(std::sync::atomic::Ordering::Acquire) {
        let message = "The ActorHost is shutting down and can no longer receive invocations".to_owned();
        let status = pb::RequestStatus { status: pb::Status::Error as i32, message };
        let response = pb::InvocationResponse { status: Some(status), ..Default::default() };
        return (StatusCode::INTERNAL_SERVER_ERROR, response.encode_to_vec());
    }
    let delay = *state.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let answer = state.answer.lock().unwrap().clone();
    let host = *state.host.borrow();
    let (status, response) = match answer {
        InvokeAnswer::Dispatch => match host {
            // A cast: answered at once, run in the background (`caller_consumer.ex:863-866`).
            Some(host) if request.r#async => {
                tokio::spawn(stock::StockActors::cast(state.clone(), host, request));
                let ok = pb::RequestStatus { status: pb::Status::Ok as i32, message: String::new() };
                (StatusCode::OK, pb::InvocationResponse { status: Some(ok), ..Default::default() })
            }
            Some(host) => state.actors.invoke(&state, host, request).await,
            None => (StatusCode::SERVICE_UNAVAILABLE, pb::InvocationResponse::default()),
        },
        InvokeAnswer::Ok(payload) => (
            StatusCode::OK,
            pb::InvocationResponse {
                status: Some(pb::RequestStatus { status: pb::Status::Ok as i32, message: String::new() }),
                payload: payload.map(pb::invocation_response::Payload::Value),
                ..Default::default()
            },
        ),
        InvokeAnswer::Error(message) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            pb::InvocationResponse {
                status: Some(pb::RequestStatus { status: pb::Status::Error as i32, message }),
                ..Default::default()
            },
        ),
    };
    (status, response.encode_to_vec())
}

async fn spawn(State(state): State<Arc<ProxyState>>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = pb::SpawnRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let spawned = state.actors.spawn(&request);
    state.log.lock().unwrap().spawns.push(request);
    let (status, code, message) = match spawned {
        Ok(()) => (StatusCode::OK, pb::Status::Ok, "Accepted".to_owned()),
        Err(message) => (StatusCode::INTERNAL_SERVER_ERROR, pb::Status::Error, message),
    };
    let response = pb::SpawnResponse { status: Some(pb::RequestStatus { status: code as i32, message }) };
    (status, response.encode_to_vec())
}

/// A host under test with its proxy.
pub struct Harness {
    /// The test proxy the host registered with.
    pub proxy: TestProxy,
    /// The host.
    pub host: Sidecar,
    /// A client for the host's user-function route.
    pub client: HostClient,
    _actors: tempfile::TempDir,
}

impl Harness {
    /// The host's actors directory.
    pub fn host_actors_dir(&self) -> PathBuf {
        self._actors.path().to_owned()
    }

    /// Starts a test proxy and a sidecar host serving `components` from a fresh
    /// directory, and waits for the registration.
    pub async fn start(components: &[&str]) -> Harness {
        Self::start_with(actors_dir(components), Limits::default()).await
    }

    /// Like [`Harness::start`], with a prepared directory and limits.
    pub async fn start_with(actors: tempfile::TempDir, limits: Limits) -> Harness {
        Self::start_with_http(actors, limits, HttpLimits::default()).await
    }

    /// Like [`Harness::start_with`], with limits on the wire.
    pub async fn start_with_http(actors: tempfile::TempDir, limits: Limits, http: HttpLimits) -> Harness {
        Self::start_with_refresh(actors, limits, http, Duration::ZERO).await
    }

    /// Like [`Harness::start_with_http`], polling the proxy's health every `health_every`.
    pub async fn start_with_refresh(
        actors: tempfile::TempDir,
        limits: Limits,
        http: HttpLimits,
        health_every: Duration,
    ) -> Harness {
        Self::start_configured(actors, |config| {
            config.limits = limits;
            config.http = http;
            config.proxy_health_every = health_every;
        })
        .await
    }

    /// Like [`Harness::start_with_refresh`], keeping compiled code in `cache_dir`.
    pub async fn start_with_cache(
        actors: tempfile::TempDir,
        limits: Limits,
        http: HttpLimits,
        health_every: Duration,
        cache_dir: Option<PathBuf>,
    ) -> Harness {
        Self::start_configured(actors, |config| {
            config.limits = limits;
            config.http = http;
            config.proxy_health_every = health_every;
            config.cache_dir = cache_dir;
        })
        .await
    }

    /// Starts a test proxy and a sidecar host serving `actors`, with the test defaults (no
    /// health polling, no cache, watching the directory) changed by `configure`.
    pub async fn start_configured(actors: tempfile::TempDir, configure: impl FnOnce(&mut SidecarConfig)) -> Harness {
        init_logging();
        let proxy = TestProxy::start().await;
        let mut config = SidecarConfig {
            actors_dir: actors.path().to_owned(),
            proxy_url: proxy.url(),
            listen: "127.0.0.1:0".parse().unwrap(),
            system: SYSTEM.into(),
            limits: Limits::default(),
            cache_dir: None,
            watch: true,
            http: HttpLimits::default(),
            proxy_health_every: Duration::ZERO,
            max_queued: 4096,
            drain: Duration::ZERO,
            token: None,
            allowed_hosts: Vec::new(),
        };
        configure(&mut config);
        let host = Sidecar::start(config).await.expect("starting the host");
        proxy.set_host(host.local_addr());
        proxy.wait_for_registrations(1).await;
        let client = HostClient::new(host.local_addr());
        Harness { proxy, host, client, _actors: actors }
    }
}

/// A keep-alive HTTP client for the host's `POST /api/v1/actors/actions`.
#[derive(Clone)]
pub struct HostClient {
    base: String,
    url: String,
    http: reqwest::Client,
}

impl HostClient {
    /// A client for the host at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        HostClient {
            base: format!("http://{addr}"),
            url: format!("http://{addr}/api/v1/actors/actions"),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    /// The status of `GET /health/readiness`.
    pub async fn readiness(&self) -> StatusCode {
        let response =
            self.http.get(format!("{}/health/readiness", self.base)).send().await.expect("the host must answer");
        StatusCode::from_u16(response.status().as_u16()).unwrap()
    }

    /// The body of `GET /v1/modules` (JSON).
    pub async fn modules(&self) -> String {
        self.get_text("/v1/modules").await
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> String {
        self.get_text("/metrics").await
    }

    /// The body of `GET path`, which must succeed.
    pub async fn get_text(&self, path: &str) -> String {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("the host must answer");
        assert!(response.status().is_success());
        response.text().await.unwrap()
    }

    /// Waits (at most 10 s) until the host reports ready.
    pub async fn wait_ready(&self) {
        for _ in 0..200 {
            if self.readiness().await == StatusCode::OK {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the host did not become ready within 10 s");
    }

    /// Posts raw bytes; returns the status and body.
    pub async fn post_bytes(&self, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .expect("the host must answer");
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// Posts an invocation; returns the status and body.
    pub async fn send(&self, invocation: &pb::ActorInvocation) -> (StatusCode, Vec<u8>) {
        self.post_bytes(invocation.encode_to_vec()).await
    }

    /// Posts an invocation that must succeed; returns the decoded response.
    pub async fn invoke(&self, invocation: &pb::ActorInvocation) -> pb::ActorInvocationResponse {
        let (status, body) = self.send(invocation).await;
        assert_eq!(status, StatusCode::OK, "{}.{} failed", actor_name(invocation), invocation.action_name);
        pb::ActorInvocationResponse::decode(body.as_slice()).expect("the body must be an ActorInvocationResponse")
    }

    /// Posts an invocation that must fail (see [`HostClient::invoke_failure`]); returns the status.
    pub async fn invoke_failing(&self, invocation: &pb::ActorInvocation) -> StatusCode {
        self.invoke_failure(invocation).await.0
    }

    /// Posts an invocation that must fail: a non-2xx status, and an answer the stock proxy
    /// applies without retrying or crashing and that changes nothing (`updated_context` with
    /// no state and the invocation's tags, no workflow, no checkpoint). Returns the status and
    /// the `google.rpc.Status` replied.
    pub async fn invoke_failure(&self, invocation: &pb::ActorInvocation) -> (StatusCode, RpcStatus) {
        let (status, body) = self.send(invocation).await;
        assert!(!status.is_success(), "{}.{} should fail", actor_name(invocation), invocation.action_name);
        let sent_tags = invocation.current_context.as_ref().map(|context| context.tags.clone()).unwrap_or_default();
        (status, assert_failure(&body, &sent_tags))
    }
}

/// Checks that `body` is a failure answer that keeps the state and the tags `tags`; returns
/// the `google.rpc.Status` it replies.
pub fn assert_failure(body: &[u8], tags: &HashMap<String, String>) -> RpcStatus {
    let response = pb::ActorInvocationResponse::decode(body).expect("a failure must be an ActorInvocationResponse");
    let context = response.updated_context.expect("a failure needs updated_context, or the proxy retries");
    assert!(context.state.is_none(), "a failure keeps the state");
    assert_eq!(&context.tags, tags, "a failure keeps the tags");
    assert!(response.workflow.is_none() && !response.checkpoint, "a failure does nothing else");
    match &response.payload {
        Some(pb::actor_invocation_response::Payload::Value(any)) => {
            failure_in(any).unwrap_or_else(|| panic!("the reply must be a google.rpc.Status, got {}", any.type_url))
        }
        other => panic!("a failure replies a google.rpc.Status, got {other:?}"),
    }
}

fn actor_name(invocation: &pb::ActorInvocation) -> &str {
    invocation.actor.as_ref().map_or("?", |id| id.name.as_str())
}

/// Packs a message as an `Any` with its type URL.
pub fn pack<M: Message + Name>(message: &M) -> prost_types::Any {
    prost_types::Any { type_url: M::type_url(), value: message.encode_to_vec() }
}

/// Decodes an `Any` as an `M`, checking the type URL exactly.
pub fn unpack<M: Message + Name + Default>(any: &prost_types::Any) -> M {
    assert_eq!(any.type_url, M::type_url(), "unexpected type URL");
    M::decode(any.value.as_slice()).expect("decoding the Any")
}

/// The reply of a response, decoded as an `M`.
pub fn reply<M: Message + Name + Default>(response: &pb::ActorInvocationResponse) -> M {
    match &response.payload {
        Some(pb::actor_invocation_response::Payload::Value(any)) => unpack(any),
        other => panic!("expected a value reply, got {other:?}"),
    }
}

/// The new state of a response, decoded as an `M`.
pub fn new_state<M: Message + Name + Default>(response: &pb::ActorInvocationResponse) -> M {
    let context = response.updated_context.as_ref().expect("updated_context must always be present");
    unpack(context.state.as_ref().expect("expected a new state"))
}

/// The `ActorId` of `name` in the test system.
pub fn actor_id(name: &str) -> actors::ActorId {
    actors::ActorId { name: name.into(), system: SYSTEM.into(), parent: String::new() }
}

/// Builds the `ActorInvocation` the proxy would send.
pub struct InvocationBuilder(pb::ActorInvocation);

impl InvocationBuilder {
    /// `action` of the named actor `actor`, with a no-op payload and no state.
    pub fn new(actor: &str, action: &str) -> Self {
        InvocationBuilder(pb::ActorInvocation {
            actor: Some(actor_id(actor)),
            action_name: action.into(),
            current_context: Some(pb::Context { self_: Some(actor_id(actor)), ..Default::default() }),
            payload: Some(pb::actor_invocation::Payload::Noop(pb::Noop {})),
            caller: None,
        })
    }

    /// An instance `name` of the unnamed actor `parent`.
    pub fn instance(name: &str, parent: &str, action: &str) -> Self {
        let mut builder = Self::new(name, action);
        builder.0.actor.as_mut().unwrap().parent = parent.into();
        builder
    }

    /// The input.
    pub fn payload<M: Message + Name>(mut self, message: &M) -> Self {
        self.0.payload = Some(pb::actor_invocation::Payload::Value(pack(message)));
        self
    }

    /// The current state.
    pub fn state<M: Message + Name>(mut self, state: &M) -> Self {
        self.context().state = Some(pack(state));
        self
    }

    /// A current tag.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.context().tags.insert(key.into(), value.into());
        self
    }

    /// A metadata entry.
    pub fn metadata(mut self, key: &str, value: &str) -> Self {
        self.context().metadata.insert(key.into(), value.into());
        self
    }

    /// The caller.
    pub fn caller(mut self, name: &str) -> Self {
        self.0.caller = Some(actor_id(name));
        self.context().caller = Some(actor_id(name));
        self
    }

    fn context(&mut self) -> &mut pb::Context {
        self.0.current_context.get_or_insert_with(Default::default)
    }

    /// The invocation.
    pub fn build(self) -> pb::ActorInvocation {
        self.0
    }
}

/// Writes `bytes` to `dir/name`.
pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).expect("writing a test file");
}

/// A client of the client API (`spawn-wasm standalone`, or a Spawn proxy).
#[derive(Clone)]
pub struct ClientApi {
    base: String,
    system: String,
    http: reqwest::Client,
}

/// Options of one invocation through the client API.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Fire and forget.
    pub asynchronous: bool,
    /// Absolute Unix ms to run at.
    pub scheduled_to: i64,
    /// Unnamed template to spawn the target from.
    pub register_ref: String,
    /// Request metadata.
    pub metadata: Vec<(String, String)>,
}

impl ClientApi {
    /// A client for the API at `addr`, in system [`SYSTEM`].
    pub fn new(addr: SocketAddr) -> Self {
        ClientApi {
            base: format!("http://{addr}"),
            system: SYSTEM.into(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    /// The API's base URL, `http://host:port`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The same client, sending `token` as its bearer token on every request.
    pub fn with_token(mut self, token: &str) -> Self {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        self.http =
            reqwest::Client::builder().timeout(Duration::from_secs(30)).default_headers(headers).build().unwrap();
        self
    }

    /// The same client, addressing another system.
    pub fn in_system(mut self, system: &str) -> Self {
        self.system = system.into();
        self
    }

    /// Posts raw bytes to `path`; returns the status and body.
    pub async fn post(&self, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .expect("the runtime must answer");
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, response.bytes().await.unwrap().to_vec())
    }

    /// Posts a JSON body to `actor`'s invoke route; returns the HTTP status and the JSON answer.
    pub async fn invoke_json(&self, actor: &str, body: &str) -> (StatusCode, serde_json::Value) {
        self.invoke_json_with(actor, body, &[]).await
    }

    /// [`ClientApi::invoke_json`] with extra request headers (a `traceparent`, say).
    pub async fn invoke_json_with(
        &self,
        actor: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, serde_json::Value) {
        let url = format!("{}/api/v1/system/{}/actors/{actor}/invoke", self.base, self.system);
        let mut request = self.http.post(url).header("content-type", "application/json").body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, serde_json::from_str(&response.text().await.unwrap()).expect("a JSON answer"))
    }

    /// `GET path` (under the system's routes, e.g. `actors/joe/state`); returns the HTTP
    /// status and the JSON answer.
    pub async fn get_json(&self, path: &str) -> (StatusCode, serde_json::Value) {
        let url = format!("{}/api/v1/system/{}/{path}", self.base, self.system);
        let response = self.http.get(url).send().await.expect("the runtime must answer");
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, serde_json::from_str(&response.text().await.unwrap()).expect("a JSON answer"))
    }

    /// `POST path` (under the system's routes) with a JSON body; returns the HTTP status and
    /// the JSON answer.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> (StatusCode, serde_json::Value) {
        let url = format!("{}/api/v1/system/{}/{path}", self.base, self.system);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("the runtime must answer");
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        (status, serde_json::from_str(&response.text().await.unwrap()).expect("a JSON answer"))
    }

    /// The `InvocationRequest` for `actor.action(payload)`.
    pub fn request(
        &self,
        actor: &str,
        action: &str,
        payload: Option<prost_types::Any>,
        options: CallOptions,
    ) -> pb::InvocationRequest {
        pb::InvocationRequest {
            system: Some(actors::ActorSystem { name: self.system.clone(), registry: None }),
            actor: Some(actors::Actor {
                id: Some(actors::ActorId { name: actor.into(), system: self.system.clone(), parent: String::new() }),
                ..Default::default()
            }),
            action_name: action.into(),
            payload: Some(match payload {
                Some(any) => pb::invocation_request::Payload::Value(any),
                None => pb::invocation_request::Payload::Noop(pb::Noop {}),
            }),
            r#async: options.asynchronous,
            metadata: options.metadata.into_iter().collect(),
            scheduled_to: options.scheduled_to,
            register_ref: options.register_ref,
            ..Default::default()
        }
    }

    /// Sends an invocation; returns the HTTP status and the decoded response.
    pub async fn send(&self, request: &pb::InvocationRequest) -> (StatusCode, pb::InvocationResponse) {
        let actor = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| id.name.as_str());
        let path = format!("/api/v1/system/{}/actors/{actor}/invoke", self.system);
        let (status, body) = self.post(&path, request.encode_to_vec()).await;
        let response = pb::InvocationResponse::decode(body.as_slice()).expect("the body must be an InvocationResponse");
        (status, response)
    }

    /// Sends an invocation that may fail or find no server: the reply of a success, `None`
    /// otherwise (for load that runs while the server is killed).
    pub async fn try_send(&self, request: &pb::InvocationRequest) -> Option<prost_types::Any> {
        let actor = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| id.name.as_str());
        let url = format!("{}/api/v1/system/{}/actors/{actor}/invoke", self.base, self.system);
        let response = self
            .http
            .post(url)
            .header("content-type", "application/octet-stream")
            .body(request.encode_to_vec())
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let response = pb::InvocationResponse::decode(response.bytes().await.ok()?).ok()?;
        match response.payload {
            Some(pb::invocation_response::Payload::Value(any)) => Some(any),
            _ => None,
        }
    }

    /// `actor.action(payload)` with options; must succeed; returns the reply.
    pub async fn call_with(
        &self,
        actor: &str,
        action: &str,
        payload: Option<prost_types::Any>,
        options: CallOptions,
    ) -> Option<prost_types::Any> {
        let (status, response) = self.send(&self.request(actor, action, payload, options)).await;
        let code = response.status.as_ref().map(|status| (status.status, status.message.clone()));
        assert_eq!(status, StatusCode::OK, "{actor}.{action}: {code:?}");
        assert_eq!(code.map(|code| code.0), Some(pb::Status::Ok as i32));
        match response.payload {
            Some(pb::invocation_response::Payload::Value(any)) => Some(any),
            _ => None,
        }
    }

    /// `actor.action(message)`, synchronous; must succeed; returns the reply decoded as `R`.
    pub async fn call<M: Message + Name, R: Message + Name + Default>(
        &self,
        actor: &str,
        action: &str,
        message: &M,
    ) -> R {
        let reply = self.call_with(actor, action, Some(pack(message)), CallOptions::default()).await;
        unpack(&reply.unwrap_or_else(|| panic!("{actor}.{action} replied nothing")))
    }

    /// The actor's state through the built-in `get` action, decoded as `S` (default if none).
    pub async fn state<S: Message + Name + Default>(&self, actor: &str) -> S {
        self.call_with(actor, "get", None, CallOptions::default()).await.map(|any| unpack(&any)).unwrap_or_default()
    }

    /// An invocation that must fail: returns the HTTP status, protocol status and message.
    pub async fn fail(&self, request: &pb::InvocationRequest) -> (StatusCode, i32, String) {
        let (status, response) = self.send(request).await;
        assert!(!status.is_success(), "expected a failure, got {status}");
        let code = response.status.expect("a failure carries a status");
        (status, code.status, code.message)
    }

    /// Spawns `name` from the unnamed actor `parent`; returns the HTTP status and response.
    pub async fn spawn(&self, name: &str, parent: &str) -> (StatusCode, pb::SpawnResponse) {
        let request = pb::SpawnRequest {
            actors: vec![actors::ActorId { name: name.into(), system: self.system.clone(), parent: parent.into() }],
        };
        let path = format!("/api/v1/system/{}/actors/spawn", self.system);
        let (status, body) = self.post(&path, request.encode_to_vec()).await;
        (status, pb::SpawnResponse::decode(body.as_slice()).expect("the body must be a SpawnResponse"))
    }

    /// `GET path`'s status, or `None` if nothing answers.
    pub async fn try_get_status(&self, path: &str) -> Option<StatusCode> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.ok()?;
        StatusCode::from_u16(response.status().as_u16()).ok()
    }

    /// `GET path`'s status.
    pub async fn get_status(&self, path: &str) -> StatusCode {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.expect("the runtime must answer");
        StatusCode::from_u16(response.status().as_u16()).unwrap()
    }
}

/// Polls `check` every 50 ms until it returns true, for at most `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out after {limit:?} waiting until {what}");
}

/// The current Unix time in milliseconds.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A standalone runtime under test, in-process.
pub struct StandaloneHarness {
    /// A client of its client API.
    pub client: ClientApi,
    /// The runtime (to inspect it).
    pub runtime: spawn_wasm_host::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl StandaloneHarness {
    /// Starts `spawn-wasm standalone` in-process over `actors` and `data`, on a free port.
    pub async fn start(actors: &Path, data: &Path) -> StandaloneHarness {
        Self::start_with(actors, data, Limits::default()).await
    }

    /// Like [`StandaloneHarness::start`], with limits.
    pub async fn start_with(actors: &Path, data: &Path, limits: Limits) -> StandaloneHarness {
        Self::start_with_http(actors, data, limits, HttpLimits::default()).await
    }

    /// Like [`StandaloneHarness::start_with`], with limits on the wire.
    pub async fn start_with_http(actors: &Path, data: &Path, limits: Limits, http: HttpLimits) -> StandaloneHarness {
        Self::start_configured(actors, data, limits, http, RoutingLimits::default(), None).await
    }

    /// Like [`StandaloneHarness::start_with`], with limits on what a request may set in motion.
    pub async fn start_with_routing(
        actors: &Path,
        data: &Path,
        limits: Limits,
        routing: RoutingLimits,
    ) -> StandaloneHarness {
        Self::start_configured(actors, data, limits, HttpLimits::default(), routing, None).await
    }

    /// Like [`StandaloneHarness::start`], requiring `token` on the client API and the console.
    pub async fn start_with_token(actors: &Path, data: &Path, token: &str) -> StandaloneHarness {
        let (limits, http, routing) = (Limits::default(), HttpLimits::default(), RoutingLimits::default());
        Self::start_configured(actors, data, limits, http, routing, Some(token.to_owned())).await
    }

    async fn start_configured(
        actors: &Path,
        data: &Path,
        limits: Limits,
        http: HttpLimits,
        routing: RoutingLimits,
        token: Option<String>,
    ) -> StandaloneHarness {
        init_logging();
        let standalone = spawn_wasm_host::runtime::Standalone::start(spawn_wasm_host::runtime::RuntimeConfig {
            actors_dir: actors.to_owned(),
            data_dir: data.to_owned(),
            cache_dir: Some(code_cache()),
            listen: "127.0.0.1:0".parse().unwrap(),
            system: SYSTEM.into(),
            limits,
            fsync: false,
            store_keys: Default::default(),
            state_history: spawn_wasm_host::runtime::DEFAULT_STATE_HISTORY,
            watch: true,
            http,
            routing,
            token,
            allowed_hosts: Vec::new(),
        })
        .await
        .expect("starting the standalone runtime");
        let client = ClientApi::new(standalone.local_addr());
        let runtime = standalone.runtime().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(standalone.run_until(async move {
            let _ = stopped.await;
        }));
        StandaloneHarness { client, runtime, stop: Some(stop), task: Some(task) }
    }

    /// Shuts down gracefully (persisting every active actor) and waits until it has.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.expect("runtime task").expect("graceful shutdown");
    }
}

/// The compiled-code cache every standalone host of the tests shares (as a user's hosts
/// share theirs): `target/tmp/component-code-cache`. Entries are keyed by content and
/// engine, so tests of different builds share it safely.
pub fn code_cache() -> PathBuf {
    xtask::workspace_root().join("target").join("tmp").join("component-code-cache")
}

/// A port free on loopback right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `spawn-wasm standalone` as a real process (the `spawn-wasm-e2e` binary), its logs in a
/// file; killed when dropped, even when a test fails.
pub struct HostProcess {
    child: std::process::Child,
    /// A client of its client API.
    pub client: ClientApi,
    log: tempfile::NamedTempFile,
}

impl HostProcess {
    /// Starts `binary` (pass `env!("CARGO_BIN_EXE_spawn-wasm-e2e")`) standalone over
    /// `actors` and `data` on a free port, with extra environment `env`, and waits until it
    /// is ready (at most 15 s).
    pub async fn standalone(binary: &str, actors: &Path, data: &Path, env: &[(&str, &str)]) -> HostProcess {
        Self::standalone_in(binary, Path::new("."), actors, data, env).await
    }

    /// Like [`HostProcess::standalone`], run from the working directory `cwd` (where
    /// relative `actors` and `data` paths start, as a user typing them would).
    pub async fn standalone_in(
        binary: &str,
        cwd: &Path,
        actors: &Path,
        data: &Path,
        env: &[(&str, &str)],
    ) -> HostProcess {
        let port = free_port();
        let mut command = std::process::Command::new(binary);
        command
            .current_dir(cwd)
            .args(["standalone", "--actors"])
            .arg(actors)
            .arg("--data")
            .arg(data)
            .args(["--port", &port.to_string()])
            .env("SPAWN_WASM_CACHE_DIR", code_cache());
        Self::run(command, port, env).await
    }

    /// Starts `binary` in sidecar mode over `actors` (no code cache), registering with `proxy`
    /// and serving on a free port, configured only through the environment: the proxy's
    /// `PROXY_HTTP_HOST`/`PROXY_HTTP_PORT`, `USER_FUNCTION_PORT`, then `env`. Waits until it is
    /// ready, i.e. registered (at most 15 s).
    pub async fn sidecar(binary: &str, actors: &Path, proxy: &TestProxy, env: &[(&str, &str)]) -> HostProcess {
        let port = free_port();
        proxy.set_host(format!("127.0.0.1:{port}").parse().unwrap());
        let mut command = std::process::Command::new(binary);
        command
            .args(["sidecar", "--no-cache", "--actors"])
            .arg(actors)
            .env("PROXY_HTTP_HOST", proxy.addr.ip().to_string())
            .env("PROXY_HTTP_PORT", proxy.addr.port().to_string())
            .env("USER_FUNCTION_PORT", port.to_string());
        Self::run(command, port, env).await
    }

    /// Runs `command` (the binary with its arguments) as configured by the caller, e.g.
    /// through the environment or a configuration file only, and waits until it is ready on
    /// `127.0.0.1:port` (at most 15 s).
    pub async fn started(command: std::process::Command, port: u16, env: &[(&str, &str)]) -> HostProcess {
        Self::run(command, port, env).await
    }

    /// Runs `command` with its logs in a file and extra environment `env`, and waits (at most
    /// 15 s) until `127.0.0.1:port` reports ready.
    async fn run(mut command: std::process::Command, port: u16, env: &[(&str, &str)]) -> HostProcess {
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = command
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(log.reopen().unwrap())
            .stderr(log.reopen().unwrap())
            .spawn()
            .expect("starting spawn-wasm");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let process = HostProcess { child, client: ClientApi::new(addr), log };
        for _ in 0..300 {
            if process.client.try_get_status("/health/readiness").await == Some(StatusCode::OK) {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("spawn-wasm did not become ready within 15 s; its log:\n{}", process.log());
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().unwrap();
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until it exits; returns how.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.child.wait().unwrap()
    }

    /// SIGTERM; returns how it exited and everything it logged.
    pub fn terminate_and_log(mut self) -> (std::process::ExitStatus, String) {
        let status = self.terminate();
        (status, self.log())
    }

    /// Sends SIGTERM and returns at once (see [`HostProcess::wait`]).
    pub fn signal_terminate(&self) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }

    /// SIGTERM; returns how it exited.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        self.child.wait().unwrap()
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `response` is `expected` followed by ` trace=TRACE/SPAN`: the turn's W3C trace and span
/// ids (32 and 16 hex digits) as the SDK read them from the host's `traceparent`.
pub fn assert_traced(response: &str, expected: &str) {
    let rest =
        response.strip_prefix(expected).unwrap_or_else(|| panic!("{response:?} does not start with {expected:?}"));
    let ids = rest.strip_prefix(" trace=").unwrap_or_else(|| panic!("no trace ids in {response:?}"));
    let (trace, span) = ids.split_once('/').unwrap_or_else(|| panic!("no span id in {response:?}"));
    let hex = |text: &str, len: usize| text.len() == len && text.bytes().all(|byte| byte.is_ascii_hexdigit());
    assert!(hex(trace, 32) && hex(span, 16), "the turn's trace and span ids: {response:?}");
}

/// The standard error of a command that had to fail, checked to name `expected`: a refusal
/// must say what is wrong. Panics, showing what it said, if it succeeded or said otherwise.
pub fn assert_refused(output: &std::process::Output, expected: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it succeeded: {stderr}");
    for text in expected {
        assert!(stderr.contains(text), "no {text:?} in: {stderr}");
    }
}
