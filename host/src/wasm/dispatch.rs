//! Where guests' calls to other actors go, as a trait: the wasm layer runs guests without
//! knowing whether a Spawn proxy (sidecar) or the embedded runtime (standalone) serves them.

use std::pin::Pin;

use opentelemetry::trace::SpanKind;

use super::chain::{CallChain, is_synchronous, target_of};
use crate::protocol::spawn as pb;
use crate::telemetry::context::{TRACEPARENT, TRACESTATE};
use crate::telemetry::{Span, Telemetry, TraceContext};

/// A boxed future, so that [`Dispatcher`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a guest's `invoke` and `spawn` imports go: the Spawn proxy in sidecar mode, the
/// embedded runtime in standalone mode.
pub trait Dispatcher: Send + Sync + 'static {
    /// Runs an invocation made by a turn whose request's chain is `chain`, and returns the
    /// target's reply (`None` for no-reply or async); a synchronous one waits at most until
    /// the chain's deadline.
    fn invoke(
        &self,
        request: pb::InvocationRequest,
        chain: CallChain,
    ) -> BoxFuture<'_, Result<Option<prost_types::Any>, String>>;
    /// Registers unnamed actor instances.
    fn spawn(&self, request: pb::SpawnRequest) -> BoxFuture<'_, Result<(), String>>;
}

/// Opens the span of a turn's call to another actor (a client span if the turn waits for
/// it, a producer span if not), names it as the parent in `request`'s metadata (which the
/// proxy and the called actor see), and gives the chain the call goes along.
pub fn traced_call(telemetry: &Telemetry, request: &mut pb::InvocationRequest, chain: &CallChain) -> (Span, CallChain) {
    let kind = if is_synchronous(request) { SpanKind::Client } else { SpanKind::Producer };
    let mut span = telemetry.start(
        || format!("call {}.{}", target_of(request), request.action_name).into(),
        kind,
        Some(chain.trace()),
    );
    span.set_instance(target_of(request));
    if span.is_recording() {
        span.set("spawn.action", request.action_name.clone());
    }
    put_trace(&mut request.metadata, span.context());
    let chain = chain.with_trace(span.context().clone());
    (span, chain)
}

/// Names `trace`'s span in `metadata` (`traceparent`, and `tracestate` if it has one).
pub fn put_trace(metadata: &mut std::collections::HashMap<String, String>, trace: &TraceContext) {
    metadata.insert(TRACEPARENT.to_owned(), trace.traceparent());
    match &trace.state {
        Some(state) => metadata.insert(TRACESTATE.to_owned(), state.to_string()),
        None => metadata.remove(TRACESTATE),
    };
}
