//! The host-wide limits of guest calls, set on the command line; a module's TOML can only
//! lower them (see [`super::sandbox`]).

use std::time::Duration;

use super::capabilities::GrantPolicy;

/// Limits applied to every guest call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Maximum linear memory of one instance, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock budget of one call, instantiation included.
    pub call_timeout: Duration,
    /// Upper bound on instances alive at once, warm ones included (sizes the pooling
    /// allocator).
    pub max_instances: u32,
    /// Use wasmtime's pooling allocator (when the address space allows it).
    pub pooling: bool,
    /// How many instances are kept warm between turns (least recently used actors' evicted);
    /// 0 instantiates afresh for every call.
    pub warm_instances: usize,
    /// How many of them one actor may have: as many as its turns that overlap (the proxy
    /// sends overlapping turns to pooled and stateless actors). At least 1.
    pub warm_per_actor: usize,
    /// Linear memory the warm instances may hold together, in bytes: least recently used
    /// ones are evicted beyond it (a warm Python instance holds tens of MiB, a Rust one one
    /// or two).
    pub warm_memory_bytes: usize,
    /// Enforce the memory cap and the CPU deadline inside the guest. Only benchmarks turn
    /// this off, to measure what enforcement costs; a guest could then run forever.
    pub enforce: bool,
    /// Accept components that define `pooled` actors. Sidecar mode turns it off: the Spawn
    /// proxy does not support the kind (it throws on pooled calls); standalone serves them as
    /// named.
    pub pooled_actors: bool,
    /// The operator's ceiling over every module's grants.
    pub policy: GrantPolicy,
    /// Cap on one outbound HTTP response body, in bytes.
    pub max_outbound_response_bytes: usize,
    /// Outbound HTTP requests one instance may have in flight.
    pub max_outbound_requests: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(10),
            max_instances: 1024 + CONCURRENT_FRESH_INSTANCES,
            pooling: true,
            warm_instances: 1024,
            warm_per_actor: DEFAULT_WARM_PER_ACTOR,
            warm_memory_bytes: DEFAULT_WARM_MEMORY_MB << 20,
            enforce: true,
            pooled_actors: true,
            policy: GrantPolicy::default(),
            max_outbound_response_bytes: DEFAULT_MAX_OUTBOUND_RESPONSE_MB << 20,
            max_outbound_requests: DEFAULT_MAX_OUTBOUND_REQUESTS,
        }
    }
}

/// Default of `--max-outbound-response-mb`.
pub const DEFAULT_MAX_OUTBOUND_RESPONSE_MB: usize = 8;

/// Default of `--max-outbound-requests`.
pub const DEFAULT_MAX_OUTBOUND_REQUESTS: usize = 8;

/// Default of `--warm-memory-mb`: a full pool fits in 2 GiB with room to spare.
pub const DEFAULT_WARM_MEMORY_MB: usize = 1536;

/// Default of `--warm-per-actor`: enough for the turns of one actor that overlap on a
/// few cores, without letting one busy actor fill the pool.
pub const DEFAULT_WARM_PER_ACTOR: usize = 4;

/// Room in the instance pool for calls running on fresh instances, beyond the warm ones.
pub const CONCURRENT_FRESH_INSTANCES: u32 = 1000;
