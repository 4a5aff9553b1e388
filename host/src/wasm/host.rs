//! The state of one store (one guest instance): its WASI context, resource table, memory
//! limiter and turn, and our `runtime` imports (`log`, `invoke`, `spawn`) as the guest sees
//! them.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::capabilities::OutboundHttp;
use super::chain::CallChain;
use super::dispatch::{Dispatcher, traced_call};
use super::guest_output::{GuestOutput, Level};
use super::limiter::SandboxLimiter;
use crate::protocol::convert::{self, CallSpec};
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::{self as bindings, runtime::LogLevel};
use crate::telemetry::Telemetry;

/// Handles one instance may hold at once in its resource table (streams, pollables, HTTP
/// header maps, ...): wasmtime's default is a million, memory the guest's cap does not see.
pub const MAX_RESOURCES: usize = 4096;

/// Bytes one `wasi:http` header map (`fields`) may hold: wasmtime-wasi-http allows 128 KiB.
pub const MAX_FIELDS_BYTES: usize = 16 << 10;

/// What one held resource counts for toward the warm pool's memory budget: the most one can
/// hold (a full header map), since the table does not say. With [`MAX_RESOURCES`], what an
/// instance holds outside its linear memory is bounded by 64 MiB, like the default cap.
const RESOURCE_BYTES: usize = MAX_FIELDS_BYTES;

/// Who is running in a store, for logs and for the caller id of outgoing calls.
pub struct Turn {
    /// The invoked instance.
    pub self_id: actors::ActorId,
    /// The action being run (empty while describing a component).
    pub action: String,
    /// Where `invoke`/`spawn` go; `None` while a component is being described.
    pub dispatcher: Option<Arc<dyn Dispatcher>>,
    /// The request this turn is part of: its calls inherit its deadline and chain.
    pub chain: CallChain,
}

/// The state of one store: the WASI context (with nothing granted), resource table,
/// memory limits and what the guest's imports need to know.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound_http: OutboundHttp,
    table: ResourceTable,
    limits: SandboxLimiter,
    turn: Turn,
    /// When the current call's time is up.
    deadline: Instant,
    output: GuestOutput,
    /// Where the spans of the guest's calls go.
    telemetry: Arc<Telemetry>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound_http }
    }
}

impl HostState {
    /// The state of a new store whose guest writes to `output`, which `wasi` (built by the
    /// sandbox's capabilities) already points its stdout and stderr at.
    pub(super) fn new(
        wasi: WasiCtx,
        outbound_http: OutboundHttp,
        limits: SandboxLimiter,
        turn: Turn,
        deadline: Instant,
        output: GuestOutput,
        telemetry: Arc<Telemetry>,
    ) -> HostState {
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(MAX_FIELDS_BYTES);
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_RESOURCES);
        let state = HostState { wasi, http, outbound_http, table, limits, turn, deadline, output, telemetry };
        state.begin_output();
        state
    }

    /// A warm store's next turn: a new caller identity and deadline.
    pub(super) fn rearm(&mut self, turn: Turn, deadline: Instant) {
        self.outbound_http.rearm(deadline, turn.chain.trace().clone());
        self.turn = turn;
        self.deadline = deadline;
        self.begin_output();
    }

    /// When the current call's time is up.
    pub(super) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The memory its guest holds, in bytes: its linear memory, and its resources at the
    /// most each can hold.
    pub(super) fn held_bytes(&mut self) -> usize {
        self.limits.memory_bytes() + self.table.iter_mut().count() * RESOURCE_BYTES
    }

    /// The memory and table limiter wasmtime consults.
    pub(super) fn limiter(&mut self) -> &mut SandboxLimiter {
        &mut self.limits
    }

    fn begin_output(&self) {
        self.output.begin(&self.turn.self_id.name, &self.turn.action, self.turn.chain.trace());
    }

    /// Ends a call: flushes the guest's output to the log.
    pub fn finish_output(&self) {
        self.output.finish();
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
        let level = match level {
            LogLevel::Trace => Level::Trace,
            LogLevel::Debug => Level::Debug,
            LogLevel::Info => Level::Info,
            LogLevel::Warn => Level::Warn,
            LogLevel::Error => Level::Error,
        };
        self.output.log(level, &message);
    }

    async fn invoke(
        &mut self,
        request: bindings::runtime::InvokeRequest,
    ) -> Result<Option<bindings::types::Any>, String> {
        let dispatcher = self.dispatcher()?;
        let mut request = convert::invocation_request(&self.turn.self_id, CallSpec::from(request));
        let (mut span, chain) = traced_call(&self.telemetry, &mut request, &self.turn.chain);
        let reply = dispatcher.invoke(request, chain).await.inspect_err(|error| span.fail(error.clone()))?;
        Ok(pb::non_empty(reply).map(convert::any_to_wit))
    }

    async fn spawn(&mut self, name: String, parent: String) -> Result<(), String> {
        let dispatcher = self.dispatcher()?;
        let system = self.turn.self_id.system.clone();
        let request = pb::SpawnRequest { actors: vec![actors::ActorId { name, system, parent }] };
        dispatcher.spawn(request).await
    }
}
