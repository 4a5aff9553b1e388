//! The wasmtime engine every component runs on: configuration (pooling allocator, epoch
//! interruption), the shared epoch ticker, the linker with WASI and our `runtime` imports,
//! and new stores, sandboxed as their module's [`Sandbox`] says.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline};

use super::capabilities::{self, OutboundHttp, OutboundPolicy};
use super::guest_output::{GuestOutput, OutputRates};
use super::host::{HostState, Turn};
use super::limiter::SandboxLimiter;
use super::limits::Limits;
use super::sandbox::Sandbox;
use crate::metrics::Metrics;
use crate::protocol::wit as bindings;
use crate::telemetry::Telemetry;

/// How often the shared ticker advances the engine's epoch; the CPU deadline's precision.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);
/// A running guest yields its thread to other tasks every this many ticks, so that a
/// CPU-bound guest never stalls other actors' calls.
const TICKS_PER_SLICE: u64 = 2;

/// The engine, its linker and the ticker that enforces CPU deadlines.
pub struct ActorEngine {
    engine: Engine,
    metrics: Arc<Metrics>,
    linker: Linker<HostState>,
    limits: Limits,
    pooling: bool,
    ticker_stop: Arc<AtomicBool>,
    /// Each actor's output rate, across its calls and instances.
    output_rates: Arc<OutputRates>,
    /// Where the spans of turns and their calls go.
    telemetry: Arc<Telemetry>,
}

impl ActorEngine {
    /// Builds the engine with the pooling allocator, falling back to on-demand allocation
    /// (with a log line saying so) when the address space cannot hold the pool.
    pub fn new(limits: Limits) -> anyhow::Result<Self> {
        let pooled = if limits.pooling {
            Engine::new(&Self::config(&limits, true))
        } else {
            Err(wasmtime::format_err!("disabled"))
        };
        let (engine, pooling) = match pooled {
            Ok(engine) => (engine, true),
            Err(error) if !limits.pooling => {
                tracing::debug!(%error, "pooling allocator not used");
                (Engine::new(&Self::config(&limits, false))?, false)
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "the pooling allocator is unavailable (address space too small?); \
                     falling back to on-demand instance allocation, which is slower per call"
                );
                (Engine::new(&Self::config(&limits, false))?, false)
            }
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        capabilities::add_http_to_linker(&mut linker)?;
        bindings::Actor::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        Ok(ActorEngine {
            engine,
            metrics: Arc::default(),
            linker,
            limits,
            pooling,
            ticker_stop,
            output_rates: Arc::default(),
            telemetry: Arc::new(Telemetry::disabled()),
        })
    }

    /// The engine with its spans going to `telemetry` (made with [`ActorEngine::metrics`],
    /// which counts the spans it drops).
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Arc::new(telemetry);
        self
    }

    /// Where spans go.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    fn config(limits: &Limits, pooling: bool) -> Config {
        let mut config = Config::new();
        config.epoch_interruption(limits.enforce);
        if pooling {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_component_instances(limits.max_instances)
                .total_core_instances(limits.max_instances.saturating_mul(4))
                .total_memories(limits.max_instances.saturating_mul(2))
                .total_tables(limits.max_instances.saturating_mul(4))
                .total_stacks(limits.max_instances)
                .max_memory_size(limits.memory_bytes)
                .max_memories_per_component(4)
                .linear_memory_keep_resident(256 << 10)
                .table_keep_resident(16 << 10)
                .async_stack_keep_resident(128 << 10);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        config
    }

    /// The wasmtime engine (to compile components).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker with every import a component of the `actor` world may use.
    pub fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the pooling allocator is in use.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// A fresh store for a call of a module whose sandbox is `sandbox`: no files,
    /// environment, arguments, stdin or sockets unless granted; stdout and stderr to the
    /// log; memory and tables capped; CPU deadline armed for `deadline`.
    pub fn store(&self, turn: Turn, sandbox: &Sandbox, deadline: Instant) -> Store<HostState> {
        let output = GuestOutput::new(self.output_rates.clone());
        let wasi = sandbox.grants.wasi_context(&output);
        let limits = SandboxLimiter::new(sandbox.memory_bytes, sandbox.max_table_elements);
        let policy = OutboundPolicy {
            granted: sandbox.grants.allowed_outbound_hosts.clone(),
            host: self.limits.policy.outbound_hosts.clone(),
            own: self.limits.policy.own_addresses.clone(),
        };
        let trace = turn.chain.trace().clone();
        let http = OutboundHttp::new(policy, sandbox.outbound, deadline, self.telemetry.clone(), trace);
        let mut store = Store::new(
            &self.engine,
            HostState::new(wasi, http, limits, turn, deadline, output, self.telemetry.clone()),
        );
        if self.limits.enforce {
            store.limiter(|state| state.limiter());
            // Armed before instantiation, which runs guest code too. Each slice ends in the
            // callback: past the deadline the guest traps with `Interrupt`, else it yields.
            store.set_epoch_deadline(TICKS_PER_SLICE);
            store.epoch_deadline_callback(|store| {
                Ok(if Instant::now() >= store.data().deadline() {
                    UpdateDeadline::Interrupt
                } else {
                    UpdateDeadline::Yield(TICKS_PER_SLICE)
                })
            });
        }
        store
    }

    /// Prepares a warm store (kept from an earlier turn of the same actor) for `turn`: a
    /// new deadline and a new caller identity.
    pub fn rearm(&self, store: &mut Store<HostState>, turn: Turn, deadline: Instant) {
        store.data_mut().rearm(turn, deadline);
        if self.limits.enforce {
            store.set_epoch_deadline(TICKS_PER_SLICE);
        }
    }
}

impl Drop for ActorEngine {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

/// One thread advances the epoch for every store of the engine: a per-call timer would
/// cost a timer per call, this costs nothing per call.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("spawning the epoch ticker thread");
}
