//! `spawn-wasm sidecar`: serve the actors to a Spawn proxy, as its user function.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{AllowedHostArgs, LimitArgs, TokenArgs, shutdown_signal};
use crate::http::HttpLimits;
use crate::sidecar::{Sidecar, SidecarConfig};
use crate::wasm::limits::Limits;

/// Options of `spawn-wasm sidecar`. Each can also come from the environment variable the
/// Spawn proxy and SDKs use; a flag overrides it.
#[derive(Debug, Args)]
pub struct SidecarArgs {
    /// Directory of actor components (`*.wasm`).
    #[arg(long, env = "SPAWN_WASM_ACTORS", value_name = "DIR")]
    pub actors: PathBuf,
    /// Host of the Spawn proxy's HTTP API.
    #[arg(long, env = "PROXY_HTTP_HOST", default_value = "127.0.0.1")]
    pub proxy_host: String,
    /// Port of the Spawn proxy's HTTP API.
    #[arg(long, env = "PROXY_HTTP_PORT", default_value_t = 9001)]
    pub proxy_port: u16,
    /// Address to serve actor invocations on. Loopback by default: the proxy shares the pod's
    /// network namespace, and whoever reaches this port can read and forge actor state.
    #[arg(long = "host", env = "USER_FUNCTION_HOST", default_value = "127.0.0.1")]
    pub user_function_host: IpAddr,
    /// Port to serve actor invocations on (0 picks a free one).
    #[arg(long = "port", env = "USER_FUNCTION_PORT", default_value_t = 8090)]
    pub user_function_port: u16,
    /// Actor system to register in; must equal the proxy's.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
    /// Send the registration again every this many seconds, so that a proxy that restarted
    /// gets it back (0: only at start and when the actors change).
    #[arg(long, env = "SPAWN_WASM_REGISTER_REFRESH_SECS", default_value_t = 30)]
    pub register_refresh_secs: u64,
    /// Where compiled components are cached, so that restarts skip compilation.
    /// Default: `$XDG_CACHE_HOME/spawn-wasm` or `~/.cache/spawn-wasm`.
    #[arg(long, env = "SPAWN_WASM_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every component at every start (no on-disk cache).
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Load the actors directory once; do not follow its changes.
    #[arg(long, env = "SPAWN_WASM_NO_WATCH")]
    pub no_watch: bool,
    /// The token of the console and `/v1/modules` (off beyond loopback without one).
    #[command(flatten)]
    pub token: TokenArgs,
    /// Host names the console answers without a token besides loopback ones.
    #[command(flatten)]
    pub allowed_hosts: AllowedHostArgs,
    /// Limits of every guest call.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl SidecarArgs {
    /// The sidecar configuration these options describe.
    pub fn config(&self) -> SidecarConfig {
        SidecarConfig {
            actors_dir: self.actors.clone(),
            proxy_url: format!("http://{}:{}", self.proxy_host, self.proxy_port),
            listen: SocketAddr::new(self.user_function_host, self.user_function_port),
            system: self.system.clone(),
            limits: Limits::from(&self.limits),
            cache_dir: if self.no_cache { None } else { self.cache_dir.clone().or_else(default_cache_dir) },
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
            register_refresh: Duration::from_secs(self.register_refresh_secs),
            token: self.token.value(),
            allowed_hosts: self.allowed_hosts.allowed_hosts.clone(),
        }
    }
}

/// Serves until SIGINT or SIGTERM.
pub(super) async fn run(args: SidecarArgs) -> anyhow::Result<()> {
    Sidecar::start(args.config()).await?.run_until(shutdown_signal()).await
}

/// The user's cache directory for compiled components, when the environment names one.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|dir| !dir.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
    })?;
    Some(base.join("spawn-wasm"))
}
