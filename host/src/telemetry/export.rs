//! Export of spans over OTLP/HTTP (protobuf), configured by the standard variables.
//!
//! The OpenTelemetry SDK batches spans on a thread of its own (`OTEL_BSP_*`), so a turn only
//! hands its span over. The queue is bounded here, in front of the SDK's: a span past the
//! bound is dropped and counted (`spawn_wasm_trace_spans_dropped_total`), and so is every
//! span of a batch the collector did not take. A collector that is down or slow costs
//! dropped spans, never a slower or failed turn. The HTTP requests run on the host's tokio
//! runtime through its `reqwest` client.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;

use opentelemetry::Context;
use opentelemetry::trace::{
    SpanContext, SpanKind, TraceContextExt, TraceFlags, TraceState, Tracer as _, TracerProvider as _,
};
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::resource::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, Span, SpanData, SpanExporter, SpanProcessor,
};
use prometheus_client::metrics::counter::Counter;

use super::TraceContext;

/// Why spans cannot be exported as the environment asks.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A protocol other than OTLP over HTTP with protobuf bodies.
    #[error("{variable}={value:?} is not supported: spawn-wasm exports traces with `http/protobuf`")]
    Protocol {
        /// The variable naming it.
        variable: &'static str,
        /// What it says.
        value: String,
    },
    /// The SDK refused the configuration (a bad endpoint, for instance).
    #[error("cannot export traces: {0}")]
    Build(String),
}

/// The SDK's pipeline, and the tracer spans start from.
pub(super) struct Exporter {
    tracer: SdkTracer,
    provider: SdkTracerProvider,
}

impl Exporter {
    /// The pipeline the environment asks for, if it names a collector.
    pub(super) fn from_env(runtime: tokio::runtime::Handle, dropped: Counter) -> Result<Option<Exporter>, ExportError> {
        let set = |name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty());
        if set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_none() && set("OTEL_EXPORTER_OTLP_ENDPOINT").is_none() {
            return Ok(None);
        }
        if set("OTEL_TRACES_EXPORTER").is_some_and(|exporter| exporter.trim() == "none") {
            return Ok(None);
        }
        for variable in ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"] {
            if let Some(value) = set(variable) {
                if value.trim() != "http/protobuf" {
                    return Err(ExportError::Protocol { variable, value });
                }
                break;
            }
        }
        let client = RuntimeClient { client: reqwest::Client::new(), runtime };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_http_client(client)
            .build()
            .map_err(|error| ExportError::Build(error.to_string()))?;
        // The SDK reads the other `OTEL_BSP_*` variables; the queue's size is needed here too.
        let capacity = set("OTEL_BSP_MAX_QUEUE_SIZE").and_then(|size| size.trim().parse().ok()).unwrap_or(2048);
        let config = BatchConfigBuilder::default().with_max_queue_size(capacity).build();
        let queue = Arc::new(AtomicUsize::new(0));
        let counted = CountingExporter { inner: exporter, queue: queue.clone(), dropped: dropped.clone() };
        let batches = BatchSpanProcessor::builder(counted).with_batch_config(config).build();
        let bounded = BoundedQueue { inner: batches, queue, capacity, dropped };
        let provider = SdkTracerProvider::builder()
            .with_span_processor(bounded)
            .with_resource(Resource::builder().with_service_name(service_name()).build())
            .build();
        let tracer = provider.tracer("spawn-wasm");
        Ok(Some(Exporter { tracer, provider }))
    }

    /// Starts an SDK span of `kind` under `parent` (the root of a new trace if `None`): the
    /// SDK's sampler decides whether it is recorded, and its ids are the span's.
    pub(super) fn start(
        &self,
        name: Cow<'static, str>,
        kind: SpanKind,
        parent: Option<&TraceContext>,
    ) -> opentelemetry_sdk::trace::Span {
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
        let builder = self.tracer.span_builder(name).with_kind(kind);
        self.tracer.build_with_context(builder, &parent_context)
    }

    pub(super) fn flush(&self) {
        if let Err(error) = self.provider.force_flush() {
            tracing::warn!(%error, "could not send the last trace spans");
        }
    }
}

/// `OTEL_SERVICE_NAME`, else `spawn-wasm` (the SDK's default would be `unknown_service`).
fn service_name() -> String {
    std::env::var("OTEL_SERVICE_NAME").ok().filter(|name| !name.trim().is_empty()).unwrap_or("spawn-wasm".into())
}

/// The SDK's queue, bounded and counted: spans in it or being exported are `queue`.
#[derive(Debug)]
struct BoundedQueue {
    inner: BatchSpanProcessor,
    queue: Arc<AtomicUsize>,
    capacity: usize,
    dropped: Counter,
}

impl SpanProcessor for BoundedQueue {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let taken = self
            .queue
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| (queued < self.capacity).then_some(queued + 1));
        match taken {
            Ok(_) => self.inner.on_end(span),
            Err(_) => {
                self.dropped.inc();
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The OTLP exporter, counting what leaves the queue and what the collector did not take.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    queue: Arc<AtomicUsize>,
    dropped: Counter,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let count = batch.len();
        let result = self.inner.export(batch).await;
        self.queue.fetch_sub(count, Ordering::AcqRel);
        if result.is_err() {
            self.dropped.inc_by(count as u64);
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// An HTTP client for the exporter's thread: each request runs on the host's runtime.
#[derive(Debug)]
struct RuntimeClient {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

/// How long one export may take, whatever the collector does.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

#[async_trait::async_trait]
impl HttpClient for RuntimeClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let sent = self.runtime.spawn(async move {
            let response = tokio::time::timeout(EXPORT_TIMEOUT, client.execute(request)).await??;
            let status = response.status();
            let body = tokio::time::timeout(EXPORT_TIMEOUT, response.bytes()).await??;
            let mut answer = Response::new(body);
            *answer.status_mut() = status;
            Ok::<_, HttpError>(answer)
        });
        sent.await?
    }
}
