//! Sidecar mode: serve actors to a Spawn proxy.
//!
//! The user-function HTTP server starts first (the proxy may call actors the moment they
//! are registered), then the host registers every loaded actor with the proxy, retrying
//! with backoff until the proxy answers. Guest `invoke`/`spawn` calls go to the proxy's
//! HTTP API.

mod body;
mod checkpoint;
mod failure;
mod proxy;
mod registration;
mod server;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use failure::{RpcStatus, failure_in};
pub use proxy::{ProxyClient, ProxyError};
pub use registration::registration_request;

use crate::http::HttpLimits;
use crate::modules::set::ModuleSet;
use crate::modules::watch::{self, DirectoryWatch};
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
    /// How often the registration is sent again (so that a restarted proxy gets it back);
    /// zero registers only at start and when the actors change.
    pub register_refresh: Duration,
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
    _watch: Option<DirectoryWatch>,
}

impl Sidecar {
    /// Loads the components, starts the server, and starts registering with the proxy in
    /// the background (again whenever the set of actors or actions changes). Returns once
    /// the server is listening.
    pub async fn start(config: SidecarConfig) -> anyhow::Result<Sidecar> {
        let engine = Arc::new(ActorEngine::new(Limits { pooled_actors: false, ..config.limits.clone() })?);
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
        let state = Arc::new(server::AppState::new(
            Executor::new(engine),
            modules,
            proxy.clone(),
            config.system.clone(),
            config.http,
        ));
        let access =
            crate::http::Access::new(config.listen.ip(), config.token.as_deref()).allowing_hosts(&config.allowed_hosts);
        let server = tokio::spawn(server::serve(listener, state.clone(), config.http, access));
        tracing::info!(%local_addr, proxy = %config.proxy_url, system = %config.system, "serving actor invocations");
        if let Some(risk) = exposure(local_addr) {
            tracing::warn!(%local_addr, "{risk}");
        }
        let registration = tokio::spawn(keep_registered(state.clone(), proxy, config.system, config.register_refresh));
        Ok(Sidecar { local_addr, state, server, registration, _watch: watch })
    }

    /// The address the user-function server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the proxy has accepted the registration.
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }

    /// Serves until the server fails or `shutdown` resolves; then readiness turns down, the
    /// server stops accepting, and calls in flight finish (bounded by a grace period).
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let state = self.state.clone();
        crate::http::serve_until(&mut self.server, shutdown, move || state.begin_draining()).await
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
fn exposure(addr: SocketAddr) -> Option<&'static str> {
    (!addr.ip().is_loopback()).then_some(
        "the user-function port is reachable beyond this host: anyone who can reach it can read and forge \
         actor state (the host trusts the state in every invocation); bind it to 127.0.0.1 (the default), \
         which the proxy in the same pod reaches",
    )
}

/// Registers with the proxy, then again whenever the registration would differ (actors or
/// actions added, changed or removed by a reload). The proxy has no way to unregister: an
/// actor removed here stays registered there, and its calls fail with 404.
///
/// Every `refresh` (unless zero) the registration is sent again: the proxy overwrites its
/// entries, and a proxy that restarted and forgot them gets them back. If it does not answer,
/// readiness turns down until a registration is accepted again.
async fn keep_registered(state: Arc<server::AppState>, proxy: Arc<ProxyClient>, system: String, refresh: Duration) {
    let mut changes = state.modules.subscribe();
    let mut registered = None;
    loop {
        let request = registration_request(&system, state.modules.registry().definitions());
        let actors = registered_actors(&request);
        if registered.as_ref() != Some(&actors) {
            proxy.register_until_accepted(&request).await;
            state.set_ready(true);
            registered = Some(actors);
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let loaded = state.modules.registry().modules().map(|module| module.id).collect();
                state.executor().forget_modules_except(&loaded);
            }
            () = tokio::time::sleep(refresh), if !refresh.is_zero() => {
                if let Err(error) = proxy.register(&request).await {
                    tracing::warn!(%error, "the proxy lost or refused our registration; registering again");
                    state.set_ready(false);
                    registered = None;
                }
            }
        }
    }
}

/// The registered actors in a canonical order, to compare registrations.
fn registered_actors(
    request: &crate::protocol::spawn::RegistrationRequest,
) -> BTreeMap<String, crate::protocol::spawn::actors::Actor> {
    let registry = request.actor_system.as_ref().and_then(|system| system.registry.as_ref());
    registry.map(|registry| registry.actors.clone().into_iter().collect()).unwrap_or_default()
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
