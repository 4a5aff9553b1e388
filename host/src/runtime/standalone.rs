//! [`Standalone`]: the runtime with everything around it (engine, store, code cache,
//! directory watch, client API server), as `spawn-wasm standalone` runs it.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::TcpListener;

use super::config::RuntimeConfig;
use super::data_lock::DataLock;
use super::handle::Runtime;
use super::server;
use super::store::StateStore;
use crate::http::Access;
use crate::modules::set::ModuleSet;
use crate::modules::watch::{self, DirectoryWatch};
use crate::telemetry::Telemetry;
use crate::wasm::cache::CodeCache;
use crate::wasm::engine::ActorEngine;
use crate::wasm::executor::Executor;
use crate::wasm::limits::Limits;

/// A running standalone runtime and its client API server.
pub struct Standalone {
    runtime: Runtime,
    local_addr: SocketAddr,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _watch: Option<DirectoryWatch>,
    /// The data directory is this host's while it runs: released when it stops.
    _data_lock: DataLock,
}

impl Standalone {
    /// Locks the data directory, loads the components, opens the store, activates the
    /// stateful named actors and starts serving the client API. Returns once the server
    /// listens. Refuses, before anything else, to serve beyond loopback without a token, and
    /// then to share the data directory with another host ([`super::DataDirError`]).
    pub async fn start(config: RuntimeConfig) -> anyhow::Result<Standalone> {
        let access = Access::new(config.listen.ip(), config.token.as_deref()).allowing_hosts(&config.allowed_hosts);
        if access.is_closed() {
            anyhow::bail!(
                "refusing to serve the client API on {} without a token: anyone who reaches it could read and \
                 change every actor. Set one with --token, SPAWN_WASM_TOKEN or `token` in the configuration \
                 file, or serve on 127.0.0.1",
                config.listen
            );
        }
        let data_lock = DataLock::acquire(&config.data_dir)?;
        let kept = [&config.data_dir, &config.actors_dir].into_iter().chain(&config.cache_dir);
        let policy = config.limits.policy.clone().protecting(kept);
        let own_addresses = policy.own_addresses.clone();
        let engine = ActorEngine::new(Limits { policy, ..config.limits.clone() })?;
        let telemetry = Telemetry::from_env(tokio::runtime::Handle::current(), engine.metrics())?;
        let engine = Arc::new(engine.with_telemetry(telemetry));
        let store =
            StateStore::open_with_keys(&config.data_dir, config.fsync, config.state_history, &config.store_keys)?;
        let cache = config.cache_dir.as_deref().map(|dir| CodeCache::open(dir, engine.engine())).transpose()?;
        let modules = ModuleSet::load(engine.clone(), cache, &config.actors_dir)
            .await
            .with_context(|| format!("reading the actors directory {}", config.actors_dir.display()))?;
        let watch = if config.watch { Some(watch::watch(modules.clone())?) } else { None };
        let runtime =
            Runtime::start(config.system.clone(), Executor::new(engine), modules, store, config.routing).await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the client API to {}", config.listen))?;
        let local_addr = listener.local_addr()?;
        own_addresses.add([local_addr]);
        let draining = runtime.inner.draining.clone();
        let server = tokio::spawn(server::serve(listener, runtime.clone(), config.http, access, draining));
        tracing::info!(%local_addr, system = %config.system, data = %config.data_dir.display(), "standalone runtime serving the client API");
        Ok(Standalone { runtime, local_addr, server, _watch: watch, _data_lock: data_lock })
    }

    /// The address of the client API.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The runtime.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Serves until `shutdown` resolves, then stops accepting calls and persists every
    /// active actor; fails if a state could not be stored.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let draining = self.runtime.inner.draining.clone();
        let served = crate::http::serve_until(&mut self.server, shutdown, move || draining.cancel()).await;
        let stopped = self.runtime.shutdown().await;
        self.runtime.inner.executor.engine().telemetry().flush_in_background().await;
        served?;
        Ok(stopped?)
    }
}
