//! `spawn-wasm standalone`: the embedded single-node runtime and its client API.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

use super::common::{AllowedHostArgs, CacheArgs, LimitArgs, TokenArgs, shutdown_signal};
use super::store_keys::{StoreKeyArgs, StoreKeyError};
use crate::http::HttpLimits;
use crate::runtime::{DEFAULT_STATE_HISTORY, RoutingLimits, RuntimeConfig, Standalone};
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
    /// Revisions of each actor's state to keep, the current one included, for
    /// `spawn-wasm state --history` and `spawn-wasm restore` (0: only the current state).
    #[arg(long, env = "SPAWN_WASM_STATE_HISTORY", default_value_t = DEFAULT_STATE_HISTORY)]
    pub state_history: u32,
    /// The keys the state store is encrypted with.
    #[command(flatten)]
    pub store_keys: StoreKeyArgs,
    /// Load the actors directory once; do not follow its changes.
    #[arg(long, env = "SPAWN_WASM_NO_WATCH")]
    pub no_watch: bool,
    /// The token required beyond loopback (required to serve beyond loopback).
    #[command(flatten)]
    pub token: TokenArgs,
    /// Host names answered without a token besides loopback ones.
    #[command(flatten)]
    pub allowed_hosts: AllowedHostArgs,
    /// Limits of every guest call.
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Where compiled components are kept (one cache per user, not per data directory).
    #[command(flatten)]
    pub cache: CacheArgs,
    /// Limits on what one request may set in motion.
    #[command(flatten)]
    pub routing: RoutingArgs,
}

/// Limits on what one request may set in motion (standalone: the runtime routes calls).
#[derive(Debug, Args)]
pub struct RoutingArgs {
    /// Routing hops (pipe, forward, broadcast, side effect, async invoke) one request may
    /// take before it is cut as a loop.
    #[arg(long, env = "SPAWN_WASM_MAX_HOPS", default_value_t = RoutingLimits::default().max_hops, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_hops: u32,
    /// Messages one request may set in motion in all (a broadcast or effect tree).
    #[arg(long, env = "SPAWN_WASM_MAX_MESSAGES", default_value_t = RoutingLimits::default().max_messages, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_messages: u32,
    /// Turns one actor's mailbox may hold; more are refused at once (503).
    #[arg(long, env = "SPAWN_WASM_MAILBOX_CAPACITY", default_value_t = RoutingLimits::default().mailbox_capacity)]
    pub mailbox_capacity: usize,
    /// Side effects one turn may ask for; a turn asking for more fails, its state unchanged.
    #[arg(long, env = "SPAWN_WASM_MAX_EFFECTS", default_value_t = RoutingLimits::default().max_effects)]
    pub max_effects: usize,
    /// Calls scheduled for later (`scheduled_to`, kept in the store) that may wait for one
    /// actor; more are refused at once (503).
    #[arg(long, env = "SPAWN_WASM_MAX_SCHEDULED_PER_ACTOR", default_value_t = RoutingLimits::default().max_scheduled_per_actor)]
    pub max_scheduled_per_actor: usize,
    /// Calls scheduled for later that may wait in all; more are refused at once (503).
    #[arg(long, env = "SPAWN_WASM_MAX_SCHEDULED", default_value_t = RoutingLimits::default().max_scheduled)]
    pub max_scheduled: usize,
}

impl From<&RoutingArgs> for RoutingLimits {
    fn from(args: &RoutingArgs) -> Self {
        RoutingLimits {
            max_hops: args.max_hops,
            max_messages: args.max_messages,
            mailbox_capacity: args.mailbox_capacity,
            max_effects: args.max_effects,
            max_scheduled_per_actor: args.max_scheduled_per_actor,
            max_scheduled: args.max_scheduled,
        }
    }
}

impl StandaloneArgs {
    /// The runtime configuration these options describe; fails on a malformed key.
    pub fn config(&self) -> Result<RuntimeConfig, StoreKeyError> {
        Ok(RuntimeConfig {
            actors_dir: self.actors.clone(),
            data_dir: self.data.clone(),
            cache_dir: self.cache.dir(),
            listen: SocketAddr::new(self.host, self.port),
            system: self.system.clone(),
            limits: self.token.protect(Limits::from(&self.limits)),
            fsync: self.fsync,
            store_keys: self.store_keys.keys()?,
            state_history: self.state_history,
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
            routing: RoutingLimits::from(&self.routing),
            token: self.token.value(),
            allowed_hosts: self.allowed_hosts.allowed_hosts.clone(),
        })
    }
}

/// Serves until SIGINT or SIGTERM.
pub(super) async fn run(args: StandaloneArgs) -> anyhow::Result<()> {
    Standalone::start(args.config()?).await?.run_until(shutdown_signal()).await
}
