//! `spawn-wasm standalone`: the embedded single-node runtime and its client API.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

use super::common::{LimitArgs, shutdown_signal};
use crate::http::HttpLimits;
use crate::runtime::{RuntimeConfig, Standalone};
use crate::wasm::limits::Limits;

/// Options of `spawn-wasm standalone`.
#[derive(Debug, Args)]
pub struct StandaloneArgs {
    /// Directory of actor components (`*.wasm`).
    #[arg(long, env = "SPAWN_WASM_ACTORS", value_name = "DIR")]
    pub actors: PathBuf,
    /// Directory of the state database (created if missing).
    #[arg(long, env = "SPAWN_WASM_DATA", value_name = "DIR", default_value = "spawn-data")]
    pub data: PathBuf,
    /// Address to serve the client API on.
    #[arg(long, env = "SPAWN_WASM_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to serve the client API on (the proxy's port, so that clients work unchanged).
    #[arg(long, env = "PROXY_HTTP_PORT", default_value_t = 9001)]
    pub port: u16,
    /// Actor system served; requests for another system are rejected.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
    /// Sync every commit to disk: state survives power loss, not only a crash of the process.
    #[arg(long, env = "SPAWN_WASM_FSYNC")]
    pub fsync: bool,
    /// Load the actors directory once; do not follow its changes.
    #[arg(long, env = "SPAWN_WASM_NO_WATCH")]
    pub no_watch: bool,
    /// Limits of every guest call.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl StandaloneArgs {
    /// The runtime configuration these options describe.
    pub fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            actors_dir: self.actors.clone(),
            data_dir: self.data.clone(),
            listen: SocketAddr::new(self.host, self.port),
            system: self.system.clone(),
            limits: Limits::from(&self.limits),
            fsync: self.fsync,
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
        }
    }
}

/// Serves until SIGINT or SIGTERM.
pub(super) async fn run(args: StandaloneArgs) -> anyhow::Result<()> {
    Standalone::start(args.config()).await?.run_until(shutdown_signal()).await
}
