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
//! collector ([`export`]). Either way the last few hundred requests' spans are kept in
//! memory for the console ([`recent`]): one lock and one push per span.

pub mod context;
mod export;
pub mod recent;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Status};

pub use context::{Keep, SpanId, TraceContext, TraceId};
pub use export::ExportError;
use recent::{RecentRequests, SpanRecord};

use crate::metrics::Metrics;

/// Where spans go: the console's ring of recent requests, and an OTLP collector if one is
/// configured.
#[derive(Default)]
pub struct Telemetry {
    export: Option<export::Exporter>,
    recent: Arc<RecentRequests>,
}

/// One unit of work in a trace. Ended (kept for the console, and exported if its trace is
/// sampled) when dropped.
pub struct Span {
    context: TraceContext,
    otel: Option<opentelemetry_sdk::trace::Span>,
    /// What the console keeps of it, if its trace is kept.
    record: Option<SpanRecord>,
    started: std::time::Instant,
    recent: Arc<RecentRequests>,
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
        let export = export::Exporter::from_env(runtime, metrics.spans_dropped())?;
        match export {
            Some(_) => tracing::info!("trace spans are exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_*)"),
            None => tracing::info!(
                "trace spans are not exported (no OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_TRACES_EXPORTER=none)"
            ),
        }
        Ok(Telemetry { export, recent: Arc::default() })
    }

    /// The last requests' spans, for the console.
    pub fn recent(&self) -> &RecentRequests {
        &self.recent
    }

    /// Opens a span of `kind`, the child of `parent` (or the root of a new trace), named by
    /// `name` (asked only if the span is kept or exported). Where a trace enters the host,
    /// the console's ring decides whether it keeps it.
    pub fn start(
        &self,
        name: impl FnOnce() -> Cow<'static, str>,
        kind: SpanKind,
        parent: Option<&TraceContext>,
    ) -> Span {
        // A trace started here without a span yet (a timer's tick, say): this span is its root.
        let parent = parent.filter(|parent| parent.has_span());
        let keep = match parent.map_or(Keep::Undecided, |parent| parent.keep) {
            Keep::Undecided if self.recent.admit() => Keep::Yes,
            Keep::Undecided => Keep::No,
            decided => decided,
        };
        let name = (keep == Keep::Yes || self.export.is_some()).then(name);
        let (context, otel) = match (&self.export, &name) {
            (Some(export), Some(name)) => {
                let span = export.start(name.clone(), kind, parent);
                let ids = span.span_context();
                let context = TraceContext {
                    trace_id: TraceId(ids.trace_id().to_bytes()),
                    span_id: SpanId(ids.span_id().to_bytes()),
                    sampled: ids.is_sampled(),
                    state: parent.and_then(|parent| parent.state.clone()),
                    keep,
                };
                (context, Some(span))
            }
            _ => {
                let context = match parent {
                    Some(parent) => TraceContext { keep, ..parent.with_span(SpanId::random()) },
                    None => TraceContext { keep, ..TraceContext::root(false) }.with_span(SpanId::random()),
                };
                (context, None)
            }
        };
        let record = name.filter(|_| keep == Keep::Yes).map(|name| SpanRecord {
            span_id: context.span_id,
            parent_id: parent.map(|parent| parent.span_id),
            name,
            instance: None,
            start_us: recent::unix_us(SystemTime::now()),
            duration_us: 0,
            error: None,
        });
        Span { context, otel, record, started: std::time::Instant::now(), recent: self.recent.clone() }
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

    /// Whether attributes set on it are exported: compute costly ones only if so.
    pub fn is_recording(&self) -> bool {
        self.otel.as_ref().is_some_and(|span| span.is_recording())
    }

    /// Sets attribute `key` (exported only).
    pub fn set(&mut self, key: &'static str, value: impl Into<opentelemetry::Value>) {
        if let Some(span) = self.otel.as_mut().filter(|span| span.is_recording()) {
            span.set_attribute(KeyValue::new(key, value));
        }
    }

    /// Names the actor instance it ran or called (exported as `spawn.instance`, and shown
    /// in the console).
    pub fn set_instance(&mut self, instance: &str) {
        if self.is_recording() {
            self.set("spawn.instance", instance.to_owned());
        }
        if let Some(record) = &mut self.record {
            record.instance = Some(instance.to_owned());
        }
    }

    /// Marks the span failed, with `reason`.
    pub fn fail(&mut self, reason: impl Into<Cow<'static, str>>) {
        let reason = reason.into();
        if let Some(record) = &mut self.record {
            record.error = Some(reason.to_string());
        }
        if let Some(span) = self.otel.as_mut().filter(|span| span.is_recording()) {
            span.set_status(Status::error(reason));
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        if let Some(mut record) = self.record.take() {
            record.duration_us = self.started.elapsed().as_micros() as u64;
            self.recent.record(self.context.trace_id, record);
        }
    }
}
