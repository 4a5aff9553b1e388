//! Sidecar mode: serve actors to a Spawn proxy.
//!
//! The user-function HTTP server starts first (the proxy may call actors the moment they
//! are registered), then the host registers every loaded actor with the proxy, retrying
//! with backoff until the proxy answers. Guest `invoke`/`spawn` calls go to the proxy's
//! HTTP API.

mod proxy;
mod registration;
mod server;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use proxy::{ProxyClient, ProxyError};
pub use registration::registration_request;

use crate::engine::{ActorEngine, Limits};
use crate::executor::Executor;
use crate::registry::ActorRegistry;

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
}

/// A running sidecar host.
pub struct Sidecar {
    local_addr: SocketAddr,
    state: Arc<server::AppState>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    registration: tokio::task::JoinHandle<()>,
}

impl Sidecar {
    /// Loads the components, starts the server, and starts registering with the proxy in
    /// the background. Returns once the server is listening.
    pub async fn start(config: SidecarConfig) -> anyhow::Result<Sidecar> {
        let engine = Arc::new(ActorEngine::new(config.limits.clone())?);
        if !engine.pooling() {
            tracing::info!("instances use on-demand allocation");
        }
        let (registry, rejections) = ActorRegistry::load_dir(&engine, &config.actors_dir)
            .await
            .with_context(|| format!("reading the actors directory {}", config.actors_dir.display()))?;
        if registry.modules().is_empty() {
            tracing::warn!(
                dir = %config.actors_dir.display(),
                rejected = rejections.len(),
                "no component loaded; serving no actors"
            );
        }
        let proxy = Arc::new(ProxyClient::new(&config.proxy_url)?);
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the user-function server to {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        let state = Arc::new(server::AppState::new(
            Executor::new(engine),
            Arc::new(registry),
            proxy.clone(),
            config.system.clone(),
        ));
        let server = tokio::spawn(server::serve(listener, state.clone()));
        tracing::info!(%local_addr, proxy = %config.proxy_url, system = %config.system, "serving actor invocations");
        let request = registration_request(&config.system, state.registry.definitions());
        let registration = {
            let state = state.clone();
            tokio::spawn(async move {
                proxy.register_until_accepted(&request).await;
                state.set_ready();
            })
        };
        Ok(Sidecar { local_addr, state, server, registration })
    }

    /// The address the user-function server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the proxy has accepted the registration.
    pub fn is_ready(&self) -> bool {
        self.state.is_ready()
    }

    /// Serves until the server fails.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let result = (&mut self.server).await;
        result.context("the server task panicked")?.context("the server failed")
    }
}

impl Drop for Sidecar {
    fn drop(&mut self) {
        self.server.abort();
        self.registration.abort();
    }
}
