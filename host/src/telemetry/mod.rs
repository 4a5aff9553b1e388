//! Distributed tracing: which request each turn belongs to, as OpenTelemetry spans.
//!
//! Every call carries a [`TraceContext`] along its [`crate::wasm::chain::CallChain`]: taken
//! from the caller's `traceparent` (a client API header, or the invocation's metadata, which
//! the proxy passes on), or started here. Each unit of work opens a [`Span`] under it: the
//! client request, each turn, each synchronous call to another actor, each outbound HTTP
//! request, each state save. What a turn sends on (invokes, side effects, broadcasts, pipes,
//! forwards, calls to the proxy, outbound requests) names the turn's span as its parent.
//!
//! Spans are exported over OTLP when the standard `OTEL_EXPORTER_OTLP_*` variables name a
//! collector ([`export`]); otherwise a span is its ids and nothing more, so tracing off
//! costs a few random numbers per turn.

pub mod context;
mod export;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState, Tracer as _,
};
use opentelemetry::{Context, KeyValue};
use std::borrow::Cow;
use std::sync::Arc;

pub use context::{SpanId, TraceContext, TraceId};
pub use export::ExportError;

use crate::metrics::Metrics;

/// Where spans go: nowhere (ids only), or to an OTLP collector.
#[derive(Default)]
pub struct Telemetry {
    export: Option<export::Exporter>,
}

/// One unit of work in a trace. Ended (and exported, if it is recorded) when dropped.
pub struct Span {
    context: TraceContext,
    otel: Option<opentelemetry_sdk::trace::Span>,
}

impl Telemetry {
    /// Spans are not exported: each is its ids, for the calls it makes to pass on.
    pub fn disabled() -> Telemetry {
        Telemetry::default()
    }

    /// Exports spans if the environment names a collector (`OTEL_EXPORTER_OTLP_ENDPOINT`
    /// or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, and `OTEL_TRACES_EXPORTER` is not `none`);
    /// exports run on `runtime`, and what cannot be exported counts in `metrics`.
    pub fn from_env(runtime: tokio::runtime::Handle, metrics: &Metrics) -> Result<Telemetry, ExportError> {
        Ok(Telemetry { export: export::Exporter::from_env(runtime, metrics.spans_dropped())? })
    }

    /// Whether spans are exported.
    pub fn exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Opens a span named by `name` (only called if spans are exported) of `kind`, the
    /// child of `parent` (or the root of a new trace).
    pub fn start(
        &self,
        name: impl FnOnce() -> Cow<'static, str>,
        kind: SpanKind,
        parent: Option<&TraceContext>,
    ) -> Span {
        let Some(export) = &self.export else {
            let context = match parent {
                Some(parent) => parent.with_span(SpanId::random()),
                None => TraceContext::root(false),
            };
            return Span { context, otel: None };
        };
        let parent_context = parent.map_or_else(Context::new, |parent| {
            let flags = if parent.sampled { TraceFlags::SAMPLED } else { TraceFlags::default() };
            let state = parent.state.as_deref().and_then(|state| state.parse::<TraceState>().ok()).unwrap_or_default();
            let remote = SpanContext::new(
                opentelemetry::trace::TraceId::from_bytes(parent.trace_id.0),
                opentelemetry::trace::SpanId::from_bytes(parent.span_id.0),
                flags,
                true,
                state,
            );
            Context::new().with_remote_span_context(remote)
        });
        let builder = export.tracer.span_builder(name()).with_kind(kind);
        let span = export.tracer.build_with_context(builder, &parent_context);
        let ids = span.span_context();
        let context = TraceContext {
            trace_id: TraceId(ids.trace_id().to_bytes()),
            span_id: SpanId(ids.span_id().to_bytes()),
            sampled: ids.is_sampled(),
            state: parent.and_then(|parent| parent.state.clone()),
        };
        Span { context, otel: Some(span) }
    }

    /// Sends what is queued (at shutdown), off the async threads: the SDK's flush blocks
    /// until the export, which runs on this runtime, is done.
    pub async fn flush_in_background(self: &Arc<Self>) {
        if self.export.is_some() {
            let telemetry = self.clone();
            let _ = tokio::task::spawn_blocking(move || telemetry.export.as_ref().map(export::Exporter::flush)).await;
        }
    }
}

impl Span {
    /// The span's context: what the work it stands for passes on as the parent.
    pub fn context(&self) -> &TraceContext {
        &self.context
    }

    /// Whether attributes set on it go anywhere: compute costly ones only if so.
    pub fn is_recording(&self) -> bool {
        self.otel.as_ref().is_some_and(|span| span.is_recording())
    }

    /// Sets attribute `key`.
    pub fn set(&mut self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        if let Some(span) = self.otel.as_mut().filter(|span| span.is_recording()) {
            span.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Marks the span failed, with `reason`.
    pub fn fail(&mut self, reason: impl Into<Cow<'static, str>>) {
        if let Some(span) = self.otel.as_mut().filter(|span| span.is_recording()) {
            span.set_status(Status::error(reason));
        }
    }
}
