//! `spawn-wasm sidecar`: serve the actors to a Spawn proxy, as its user function.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::common::{AllowedHostArgs, CacheArgs, LimitArgs, TokenArgs, shutdown_signal};
use crate::http::HttpLimits;
use crate::sidecar::{PROXY_HTTP_TIMEOUT, Sidecar, SidecarConfig};
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
    /// Actor system to register in; must equal the proxy's. Unset, it is `RELEASE_NAME`
    /// (which the Spawn operator sets to the system on the host container), else
    /// `spawn-system`.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME")]
    pub system: Option<String>,
    /// Poll the proxy's health route every this many milliseconds; a proxy seen gone gets the
    /// registration again once it answers (0: never poll; a failed call to the proxy still
    /// triggers a check). The registration is never repeated while the proxy is up: each one
    /// restarts every deactivated stateful actor.
    #[arg(long, env = "SPAWN_WASM_PROXY_HEALTH_MS", default_value_t = 1000)]
    pub proxy_health_ms: u64,
    /// Invocations that may wait for a slot beyond `--max-in-flight` (each until its
    /// deadline) instead of a 503 at once: the proxy never retries asynchronous calls.
    #[arg(long, env = "SPAWN_WASM_MAX_QUEUED", default_value_t = 4096)]
    pub max_queued: usize,
    /// After SIGTERM, keep serving this many milliseconds with readiness down: the proxy
    /// drains for 6 s and still posts queued turns.
    #[arg(long, env = "SPAWN_WASM_DRAIN_MS", default_value_t = 10_000)]
    pub drain_ms: u64,
    /// Where compiled components are kept.
    #[command(flatten)]
    pub cache: CacheArgs,
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
            system: self.system_name(),
            limits: self.token.protect(Limits::from(&self.limits)),
            cache_dir: self.cache.dir(),
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
            proxy_health_every: Duration::from_millis(self.proxy_health_ms),
            max_queued: self.max_queued,
            drain: Duration::from_millis(self.drain_ms),
            token: self.token.value(),
            allowed_hosts: self.allowed_hosts.allowed_hosts.clone(),
        }
    }
}

impl SidecarArgs {
    /// The system name: `--system`/`PROXY_ACTOR_SYSTEM_NAME`, else `RELEASE_NAME` (the Spawn
    /// operator sets `RELEASE_NAME=<system>` on the host container and
    /// `PROXY_ACTOR_SYSTEM_NAME` only on the proxy's:
    /// `spawn_operator/.../k8s/proxy/deployment.ex:339-355`), else `spawn-system`.
    fn system_name(&self) -> String {
        let release = || std::env::var("RELEASE_NAME").ok().filter(|name| !name.is_empty());
        self.system.clone().filter(|name| !name.is_empty()).or_else(release).unwrap_or_else(|| "spawn-system".into())
    }

    /// Refuses options the proxy cannot work with: a call timeout above the proxy's HTTP
    /// client timeout (60 s, `lib/actors/node/client.ex:17, 22`) would have the proxy time out
    /// and post the same turn again while the first still runs.
    pub fn check(&self) -> anyhow::Result<()> {
        let limit = PROXY_HTTP_TIMEOUT.as_millis() as u64;
        if self.limits.call_timeout_ms > limit {
            anyhow::bail!(
                "--call-timeout-ms {} is above the Spawn proxy's HTTP timeout of {limit} ms: the proxy would give \
                 up on the turn and post it again while it still runs; use at most {limit}",
                self.limits.call_timeout_ms
            );
        }
        Ok(())
    }
}

/// Serves until SIGINT or SIGTERM (then drains: see [`Sidecar::run_until`]).
pub(super) async fn run(args: SidecarArgs) -> anyhow::Result<()> {
    args.check()?;
    Sidecar::start(args.config()).await?.run_until(shutdown_signal()).await
}
