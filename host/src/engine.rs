//! The wasmtime engine every component runs on: configuration (pooling allocator, epoch
//! interruption), the shared epoch ticker, the linker with WASI and our `runtime` imports,
//! and the per-call store state that sandboxes a guest.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{self, runtime::LogLevel};
use crate::convert::{self, CallSpec};
use crate::guest_output::GuestOutput;
use crate::limiter::SandboxLimiter;
use crate::metrics::Metrics;
use crate::protocol::{self as pb, actors};
use crate::sandbox::Sandbox;

/// A boxed future, so that [`Dispatcher`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a guest's `invoke` and `spawn` imports go: the Spawn proxy in sidecar mode, the
/// embedded runtime in standalone mode.
pub trait Dispatcher: Send + Sync + 'static {
    /// Runs an invocation and returns the target's reply (`None` for no-reply or async).
    fn invoke(&self, request: pb::InvocationRequest) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>>;
    /// Registers unnamed actor instances.
    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>>;
}

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
        bindings::Actor::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), ticker_stop.clone());
        Ok(ActorEngine { engine, metrics: Arc::default(), linker, limits, pooling, ticker_stop })
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
    /// log; memory and tables capped; CPU deadline armed.
    pub fn store(&self, turn: Turn, sandbox: &Sandbox) -> Store<HostState> {
        let stdout = GuestOutput::new("stdout");
        let stderr = GuestOutput::new("stderr");
        let mut wasi = WasiCtx::builder();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stdout(stdout.clone())
            .stderr(stderr.clone());
        for (key, value) in &sandbox.grants.env {
            wasi.env(key, value);
        }
        for (guest, host) in &sandbox.grants.read_only_dirs {
            if let Err(error) = wasi.preopened_dir(host, guest, FsPerms::ReadOnly) {
                tracing::error!(dir = %host.display(), %error, "cannot grant a read-only directory; the guest will not see it");
            }
        }
        let limits = SandboxLimiter::new(sandbox.memory_bytes, sandbox.max_table_elements);
        let deadline = Instant::now() + sandbox.call_timeout;
        let state =
            HostState { wasi: wasi.build(), table: ResourceTable::new(), limits, turn, deadline, stdout, stderr };
        let mut store = Store::new(&self.engine, state);
        if self.limits.enforce {
            store.limiter(|state| &mut state.limits);
            // Armed before instantiation, which runs guest code too. Each slice ends in the
            // callback: past the deadline the guest traps with `Interrupt`, else it yields.
            store.set_epoch_deadline(TICKS_PER_SLICE);
            store.epoch_deadline_callback(|store| {
                Ok(if Instant::now() >= store.data().deadline {
                    UpdateDeadline::Interrupt
                } else {
                    UpdateDeadline::Yield(TICKS_PER_SLICE)
                })
            });
        }
        store.data().begin_output();
        store
    }

    /// Prepares a warm store (kept from an earlier turn of the same actor) for `turn`: a
    /// new deadline and a new caller identity.
    pub fn rearm(&self, store: &mut Store<HostState>, turn: Turn, sandbox: &Sandbox) {
        let state = store.data_mut();
        state.turn = turn;
        state.deadline = Instant::now() + sandbox.call_timeout;
        state.begin_output();
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

/// Who is running in a store, for logs and for the caller id of outgoing calls.
pub struct Turn {
    /// The invoked instance.
    pub self_id: actors::ActorId,
    /// The action being run (empty while describing a component).
    pub action: String,
    /// Where `invoke`/`spawn` go; `None` while a component is being described.
    pub dispatcher: Option<Arc<dyn Dispatcher>>,
}

/// The state of one store: the WASI context (with nothing granted), resource table,
/// memory limits and what the guest's imports need to know.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: SandboxLimiter,
    turn: Turn,
    /// When the current call's time is up.
    deadline: Instant,
    stdout: GuestOutput,
    stderr: GuestOutput,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    fn begin_output(&self) {
        self.stdout.begin(&self.turn.self_id.name, &self.turn.action);
        self.stderr.begin(&self.turn.self_id.name, &self.turn.action);
    }

    /// Ends a call: flushes the guest's output to the log.
    pub fn finish_output(&self) {
        self.stdout.finish();
        self.stderr.finish();
    }

    /// Forgets the turn's caller identity and dispatcher while the store waits warm.
    pub fn park(&mut self) {
        self.turn.dispatcher = None;
    }

    fn dispatcher(&self) -> Result<Arc<dyn Dispatcher>, String> {
        self.turn
            .dispatcher
            .clone()
            .ok_or_else(|| "actors cannot be called while a component is being loaded".to_owned())
    }
}

impl bindings::types::Host for HostState {}

impl bindings::runtime::Host for HostState {
    async fn log(&mut self, level: LogLevel, message: String) {
        let actor = &self.turn.self_id.name;
        let action = &self.turn.action;
        match level {
            LogLevel::Trace => tracing::trace!(target: "guest", actor, action, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "guest", actor, action, "{message}"),
            LogLevel::Info => tracing::info!(target: "guest", actor, action, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "guest", actor, action, "{message}"),
            LogLevel::Error => tracing::error!(target: "guest", actor, action, "{message}"),
        }
    }

    async fn invoke(
        &mut self,
        request: bindings::runtime::InvokeRequest,
    ) -> Result<Option<bindings::types::Any>, String> {
        let dispatcher = self.dispatcher()?;
        let request = convert::invocation_request(&self.turn.self_id, CallSpec::from(request));
        let reply = dispatcher.invoke(request).await?;
        Ok(pb::non_empty(reply).map(convert::any_to_wit))
    }

    async fn spawn(&mut self, name: String, parent: String) -> Result<(), String> {
        let dispatcher = self.dispatcher()?;
        let system = self.turn.self_id.system.clone();
        let request = pb::SpawnRequest { actors: vec![actors::ActorId { name, system, parent }] };
        dispatcher.spawn(request).await
    }
}
