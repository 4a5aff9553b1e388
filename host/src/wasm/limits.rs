//! The host-wide limits of guest calls, set on the command line; a module's TOML can only
//! lower them (see [`super::sandbox`]).

use std::time::Duration;

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
    /// How many instances are kept warm between turns (one per actor, least recently used
    /// evicted); 0 instantiates afresh for every call.
    pub warm_instances: usize,
    /// Enforce the memory cap and the CPU deadline inside the guest. Only benchmarks turn
    /// this off, to measure what enforcement costs; a guest could then run forever.
    pub enforce: bool,
    /// Accept components that define `pooled` actors. Sidecar mode turns it off: the Spawn
    /// proxy does not support the kind (it throws on pooled calls); standalone serves them as
    /// named.
    pub pooled_actors: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(10),
            max_instances: 1024 + CONCURRENT_FRESH_INSTANCES,
            pooling: true,
            warm_instances: 1024,
            enforce: true,
            pooled_actors: true,
        }
    }
}

/// Room in the instance pool for calls running on fresh instances, beyond the warm ones.
pub const CONCURRENT_FRESH_INSTANCES: u32 = 1000;
