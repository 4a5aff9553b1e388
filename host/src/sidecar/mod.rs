//! Sidecar mode: serve actors to a Spawn proxy.
//!
//! The user-function HTTP server starts first (the proxy may call actors the moment they
//! are registered), then the host registers every loaded actor with the proxy, retrying
//! with backoff until the proxy answers, and again only when needed (see [`refresh`]).
//! Guest `invoke`/`spawn` calls go to the proxy's HTTP API. On SIGTERM the host keeps
//! serving for a drain period, because the proxy keeps posting queued turns while it drains.

mod admission;
mod body;
mod checkpoint;
mod failure;
mod proxy;
mod refresh;
mod registration;
mod server;
mod ticks;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use failure::{RpcStatus, failure_in};
pub use proxy::{PROXY_HTTP_TIMEOUT, ProxyClient, ProxyError, REQUEST_TIMEOUT_KEY};
pub use registration::registration_request;

use crate::http::HttpLimits;
use crate::modules::set::ModuleSet;
use crate::modules::watch::{self, DirectoryWatch};
use crate::telemetry::Telemetry;
use crate::wasm::cache::CodeCache;
use crate::wasm::engine::ActorEngine;
use crate::wasm::executor::Executor;
use crate::wasm::limits::Limits;

/// Everything sidecar mode needs to start.
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    /// The directory of `.wasm` components.
    pub actors_dir: PathBuf,
    /// Where the proxy's HTTP API listens.
    pub proxy_url: String,
    /// Where to serve `POST /api/v1/actors/actions`.
    pub listen: SocketAddr,
    /// The actor system to register in; must equal the proxy's `PROXY_ACTOR_SYSTEM_NAME`.
    pub system: String,
    /// Limits for every guest call.
    pub limits: Limits,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// Follow changes of the actors directory.
    pub watch: bool,
    /// Limits on the wire.
    pub http: HttpLimits,
    /// How often the proxy's health route is polled, so that a proxy that went away and came
    /// back gets the registration again; zero never polls (a failed call to the proxy still
    /// triggers a check).
    pub proxy_health_every: Duration,
    /// Invocations that may wait for a slot beyond `http.max_in_flight`, each until its
    /// deadline; more are refused with 503.
    pub max_queued: usize,
    /// How long the host keeps serving after SIGTERM, readiness down (the proxy drains for
    /// 6 s and still posts queued turns meanwhile).
    pub drain: Duration,
    /// The bearer token the console and `/v1/modules` require (the proxy's route needs
    /// none); without one they are open on loopback and off elsewhere.
    pub token: Option<String>,
    /// Host names, besides loopback ones, that the console's requests without a token may be
    /// addressed to (their `Host` header), against DNS rebinding.
    pub allowed_hosts: Vec<String>,
}

/// A running sidecar host.
pub struct Sidecar {
    local_addr: SocketAddr,
    state: Arc<server::AppState>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    registration: tokio::task::JoinHandle<()>,
    drain: Duration,
    _watch: Option<DirectoryWatch>,
}

impl Sidecar {
    /// Loads the components, starts the server, and starts registering with the proxy in
    /// the background (again whenever the set of actors or actions changes). Returns once
    /// the server is listening.
    pub async fn start(config: SidecarConfig) -> anyhow::Result<Sidecar> {
        let policy = config.limits.policy.clone().protecting([&config.actors_dir].into_iter().chain(&config.cache_dir));
        let own_addresses = policy.own_addresses.clone();
        own_addresses.add(proxy_addresses(&config.proxy_url).await);
        let engine = ActorEngine::new(Limits { pooled_actors: false, policy, ..config.limits.clone() })?;
        let telemetry = Telemetry::from_env(tokio::runtime::Handle::current(), engine.metrics())?;
        let engine = Arc::new(engine.with_telemetry(telemetry));
        let cache = config.cache_dir.as_deref().map(|dir| CodeCache::open(dir, engine.engine())).transpose()?;
        let modules = ModuleSet::load(engine.clone(), cache, &config.actors_dir)
            .await
            .with_context(|| format!("reading the actors directory {}", config.actors_dir.display()))?;
        let watch = if config.watch { Some(watch::watch(modules.clone())?) } else { None };
        let proxy = Arc::new(ProxyClient::new(&config.proxy_url)?);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the user-function server to {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        own_addresses.add([local_addr]);
        let state = Arc::new(server::AppState::new(
            Executor::new(engine),
            modules,
            proxy.clone(),
            config.system.clone(),
            config.http,
            config.max_queued,
        ));
        let access =
            crate::http::Access::new(config.listen.ip(), config.token.as_deref()).allowing_hosts(&config.allowed_hosts);
        let server = tokio::spawn(server::serve(listener, state.clone(), config.http, access));
        tracing::info!(%local_addr, proxy = %config.proxy_url, system = %config.system, "serving actor invocations");
        if let Some(risk) = exposure(local_addr) {
            tracing::warn!(%local_addr, "{risk}");
        }
        let registration =
            tokio::spawn(refresh::keep_registered(state.clone(), proxy, config.system, config.proxy_health_every));
        Ok(Sidecar { local_addr, state, server, registration, drain: config.drain, _watch: watch })
    }

    /// The address the user-function server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the proxy has accepted the registration.
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }

    /// Serves until the server fails or `shutdown` resolves; then readiness turns down at once
    /// while the host keeps serving for the drain period, then the server stops accepting and
    /// calls in flight finish (bounded by a grace period).
    ///
    /// The proxy drains for 6 s after SIGTERM (`lib/sidecar/graceful_shutdown.ex:23, 113-120`),
    /// and turns already in its actors' mailboxes are still posted to the host meanwhile and
    /// during its stop (nothing in the entity checks the drain status); the operator sends
    /// SIGTERM to both containers at once and has no `preStop` hook
    /// (`spawn_operator/.../k8s/proxy/deployment.ex:86, 381-404`).
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let (state, drain) = (self.state.clone(), self.drain);
        let drained = async move {
            shutdown.await;
            state.begin_stopping();
            tracing::info!(drain_ms = drain.as_millis() as u64, "stopping: readiness down, still serving the proxy");
            tokio::time::sleep(drain).await;
        };
        let state = self.state.clone();
        let served = crate::http::serve_until(&mut self.server, drained, move || state.begin_draining()).await;
        self.state.executor.engine().telemetry().flush_in_background().await;
        served
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.server.abort();
        self.registration.abort();
    }
}

/// Why serving invocations on `addr` is a risk, unless it is loopback: the host trusts the
/// state and tags inside every `ActorInvocation`, so whoever reaches the port can read and
/// forge any actor's state. The proxy runs in the same pod (same network namespace) and
/// reaches `127.0.0.1`.
/// Where the proxy at `url` listens, as resolved at start: kept from guests' outbound HTTP
/// (its API has no authentication). A name that does not resolve yet adds nothing; the
/// operator's list still has to name any address that is not public.
async fn proxy_addresses(url: &str) -> Vec<SocketAddr> {
    let Ok(uri) = url.parse::<http::Uri>() else { return Vec::new() };
    let (Some(host), Some(port)) = (uri.host(), uri.port_u16()) else { return Vec::new() };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(error) => {
            tracing::warn!(proxy = %url, %error, "cannot resolve the proxy's address to keep it from guests' outbound HTTP");
            Vec::new()
        }
    }
}

fn exposure(addr: SocketAddr) -> Option<&'static str> {
    (!addr.ip().is_loopback()).then_some(
        "the user-function port is reachable beyond this host: anyone who can reach it can read and forge \
         actor state (the host trusts the state in every invocation); bind it to 127.0.0.1 (the default), \
         which the proxy in the same pod reaches",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_address_is_safe() {
        assert_eq!(exposure("127.0.0.1:8090".parse().unwrap()), None);
        assert_eq!(exposure("[::1]:8090".parse().unwrap()), None);
        assert!(exposure("0.0.0.0:8090".parse().unwrap()).unwrap().contains("forge actor state"));
        assert!(exposure("10.1.2.3:8090".parse().unwrap()).is_some());
    }
}
