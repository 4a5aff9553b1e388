//! A loopback OTLP/HTTP receiver: takes `POST /v1/traces` with protobuf bodies, decodes
//! them with the official OTLP messages, and keeps the spans, as a collector would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One span as received, with the service that sent it.
#[derive(Clone, Debug)]
pub struct ReceivedSpan {
    /// `service.name` of the resource.
    pub service: String,
    /// The span.
    pub span: Span,
}

impl ReceivedSpan {
    /// Its trace id, in hex.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// Its id, in hex.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// Its parent's id, in hex (empty for a root).
    pub fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// Attribute `key` as a string, if it has one.
    pub fn attribute(&self, key: &str) -> Option<String> {
        use opentelemetry_proto::tonic::common::v1::any_value::Value;
        let value =
            self.span.attributes.iter().find(|attribute| attribute.key == key)?.value.as_ref()?.value.as_ref()?;
        Some(match value {
            Value::StringValue(text) => text.clone(),
            Value::IntValue(number) => number.to_string(),
            Value::BoolValue(flag) => flag.to_string(),
            other => format!("{other:?}"),
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The receiver, listening until dropped.
pub struct OtlpReceiver {
    /// Where it listens: the host's `OTEL_EXPORTER_OTLP_ENDPOINT` is `http://{addr}`.
    pub addr: SocketAddr,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    /// Starts it on a free loopback port.
    pub async fn start() -> OtlpReceiver {
        OtlpReceiver::start_slow(Duration::ZERO).await
    }

    /// Starts one that takes `delay` to take each export (a slow collector): what an export
    /// holds shows in [`OtlpReceiver::spans`] only once it is answered.
    pub async fn start_slow(delay: Duration) -> OtlpReceiver {
        let spans: Arc<Mutex<Vec<ReceivedSpan>>> = Arc::default();
        let kept = spans.clone();
        let app = Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| async move {
                tokio::time::sleep(delay).await;
                let Ok(request) = ExportTraceServiceRequest::decode(body) else {
                    return (StatusCode::BAD_REQUEST, Vec::new());
                };
                let mut kept = kept.lock().unwrap();
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|resource| &resource.attributes)
                        .find(|attribute| attribute.key == "service.name")
                        .and_then(|attribute| attribute.value.as_ref()?.value.as_ref())
                        .map(|value| format!("{value:?}"))
                        .unwrap_or_default();
                    for span in resource.scope_spans.into_iter().flat_map(|scope| scope.spans) {
                        kept.push(ReceivedSpan { service: service.clone(), span });
                    }
                }
                (StatusCode::OK, ExportTraceServiceResponse::default().encode_to_vec())
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        OtlpReceiver { addr, spans, task }
    }

    /// The endpoint to give the host.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }

    /// The spans of trace `trace_id` once `done` holds for them (at most 15 s).
    pub async fn trace(&self, trace_id: &str, done: impl Fn(&[ReceivedSpan]) -> bool) -> Vec<ReceivedSpan> {
        for _ in 0..300 {
            let spans: Vec<ReceivedSpan> =
                self.spans().into_iter().filter(|span| span.trace_id() == trace_id).collect();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let spans: Vec<ReceivedSpan> = self.spans().into_iter().filter(|span| span.trace_id() == trace_id).collect();
        panic!(
            "trace {trace_id} incomplete after 15 s: {:#?}",
            spans.iter().map(|span| &span.span.name).collect::<Vec<_>>()
        );
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
