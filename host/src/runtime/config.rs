//! What standalone mode is started with.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::store::StoreKeys;
use crate::http::HttpLimits;
use crate::wasm::limits::Limits;

/// Everything standalone mode needs to start.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The directory of `.wasm` components.
    pub actors_dir: PathBuf,
    /// The directory of the state database.
    pub data_dir: PathBuf,
    /// Where compiled components are kept (shared with other hosts of the user); `None`
    /// compiles at every start.
    pub cache_dir: Option<PathBuf>,
    /// Where to serve the client API.
    pub listen: SocketAddr,
    /// The actor system this runtime serves.
    pub system: String,
    /// Limits for every guest call.
    pub limits: Limits,
    /// Sync every commit to disk (survives power loss, not only process crashes).
    pub fsync: bool,
    /// The keys the state store seals with (`SPAWN_STATESTORE_KEY`) and rotates from; none:
    /// states are stored plain. `Debug` shows their ids only.
    pub store_keys: StoreKeys,
    /// Revisions of each actor's state kept, the current one included (0: only the
    /// current one), so that an older one can be read or restored.
    pub state_history: u32,
    /// Follow changes of the actors directory.
    pub watch: bool,
    /// Limits on the wire.
    pub http: HttpLimits,
    /// Limits on what calls may queue and how far they may route.
    pub routing: RoutingLimits,
    /// The bearer token the client API and the console require; `None` serves only loopback.
    pub token: Option<String>,
    /// Host names, besides loopback ones, that requests without a token may be addressed to
    /// (their `Host` header): any other is refused, so that a web page cannot reach the API
    /// through DNS rebinding.
    pub allowed_hosts: Vec<String>,
}

/// The revisions of each actor's state kept by default.
pub const DEFAULT_STATE_HISTORY: u32 = 16;

/// Limits on what one request may set in motion, so that every request ends and no turn
/// can grow queues without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutingLimits {
    /// Routing hops (pipe, forward, broadcast, side effect, async invoke) one request may
    /// take before its chain is cut as a loop.
    pub max_hops: u32,
    /// Messages (of any kind above) one request may set in motion in all, so that a
    /// broadcast or effect tree cannot grow without bound below the hop limit.
    pub max_messages: u32,
    /// Turns one actor's mailbox may hold; a call to a full one is refused at once.
    pub mailbox_capacity: usize,
    /// Side effects one turn may ask for; a turn asking for more fails.
    pub max_effects: usize,
    /// Calls scheduled for later (`scheduled_to`) that may wait for one actor; more are
    /// refused at once. Each is a row in the store and a record in memory until it runs.
    pub max_scheduled_per_actor: usize,
    /// Calls scheduled for later that may wait in all.
    pub max_scheduled: usize,
}

impl Default for RoutingLimits {
    fn default() -> Self {
        RoutingLimits {
            max_hops: 32,
            max_messages: 10_000,
            mailbox_capacity: 10_000,
            max_effects: 1024,
            max_scheduled_per_actor: 10_000,
            max_scheduled: 1_000_000,
        }
    }
}
