//! Traces: the turns one request causes, across actors, as one OpenTelemetry trace exported
//! over OTLP/HTTP to a loopback receiver that decodes the official OTLP messages.

use axum::http::StatusCode;
use spawn_wasm_tests::otlp::{OtlpReceiver, ReceivedSpan};
use spawn_wasm_tests::{HostProcess, actors_dir};

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// A W3C `traceparent` of a new trace, sampled, naming the client's span `parent`.
fn traceparent(trace: &str, parent: &str) -> String {
    format!("00-{trace}-{parent}-01")
}

/// The one span named `name` (panics naming what there is otherwise).
fn one<'a>(spans: &'a [ReceivedSpan], name: &str) -> &'a ReceivedSpan {
    let named: Vec<&ReceivedSpan> = spans.iter().filter(|span| span.span.name == name).collect();
    assert_eq!(
        named.len(),
        1,
        "one `{name}` span among {:?}",
        spans.iter().map(|span| &span.span.name).collect::<Vec<_>>()
    );
    named[0]
}

fn has(names: &[&str]) -> impl Fn(&[ReceivedSpan]) -> bool {
    move |spans| names.iter().all(|name| spans.iter().any(|span| span.span.name == *name))
}

/// Exports to `receiver`, in batches sent every 100 ms.
fn exporting_to(receiver: &OtlpReceiver) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("OTEL_SERVICE_NAME", "traced-actors".into()),
    ]
}

fn env<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(key, value)| (*key, value.as_str())).collect()
}

/// A client's request through a synchronous invoke, a pipe and a side effect: each is one
/// trace under the client's span, every turn the child of the span that caused it.
#[tokio::test]
async fn a_request_and_every_turn_it_causes_are_one_trace_with_the_right_parents() {
    let receiver = OtlpReceiver::start().await;
    let actors = actors_dir(&["caller", "router", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let vars = exporting_to(&receiver);
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env(&vars)).await;
    let request =
        r#"{"actionName": "callJoe", "value": {"@type": "type.googleapis.com/domain.Request", "language": "rust"}}"#;

    // A synchronous invoke: caller.callJoe → joe.setLanguage.
    let (trace, client) = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let header = traceparent(trace, client);
    let (status, _) = host.client.invoke_json_with("caller", request, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK);
    let spans =
        receiver.trace(trace, has(&["invoke", "caller.callJoe", "call joe.setLanguage", "joe.setLanguage"])).await;
    let invoke = one(&spans, "invoke");
    assert_eq!(invoke.parent_id(), client, "the request's span is the client's child");
    assert_eq!(invoke.service, format!("{:?}", opentelemetry_value("traced-actors")));
    let caller = one(&spans, "caller.callJoe");
    assert_eq!(caller.parent_id(), invoke.span_id());
    assert_eq!(caller.attribute("spawn.instance").as_deref(), Some("caller"));
    let call = one(&spans, "call joe.setLanguage");
    assert_eq!(call.parent_id(), caller.span_id(), "the invoke is the caller's turn's child");
    let joe = one(&spans, "joe.setLanguage");
    assert_eq!(joe.parent_id(), call.span_id(), "joe's turn is the invoke's child");

    // A pipe: router.pipeLanguage's reply goes on to joe.setLanguage in the same trace.
    let trace = "5bf92f3577b34da6a3ce929d0e0e4736";
    let header = traceparent(trace, client);
    let pipe = request.replace("callJoe", "pipeLanguage");
    let (status, _) = host.client.invoke_json_with("router", &pipe, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK);
    let spans = receiver.trace(trace, has(&["invoke", "router.pipeLanguage", "joe.setLanguage"])).await;
    assert_eq!(one(&spans, "joe.setLanguage").parent_id(), one(&spans, "router.pipeLanguage").span_id());

    // A side effect: joe's turn runs later, still in the request's trace, as a consumer.
    let trace = "6bf92f3577b34da6a3ce929d0e0e4736";
    let header = traceparent(trace, client);
    let effect = request.replace("callJoe", "effectLanguage");
    let (status, _) = host.client.invoke_json_with("router", &effect, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK);
    let spans = receiver.trace(trace, has(&["invoke", "router.effectLanguage", "joe.setLanguage"])).await;
    let effected = one(&spans, "joe.setLanguage");
    assert_eq!(effected.parent_id(), one(&spans, "router.effectLanguage").span_id());
    assert_eq!(effected.span.kind, 5, "a message nobody waits for is consumed (SPAN_KIND_CONSUMER)");

    // Without a traceparent, a request starts a trace of its own.
    let before = receiver.spans().len();
    let (status, _) = host.client.invoke_json("caller", request).await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..300 {
        if receiver.spans().len() >= before + 4 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let fresh: Vec<ReceivedSpan> = receiver.spans().into_iter().skip(before).collect();
    let root = one(&fresh, "invoke");
    assert!(root.parent_id().is_empty(), "a new trace's root has no parent");
    assert!(fresh.iter().all(|span| span.trace_id() == root.trace_id()), "one trace");
}

/// Actor code sees its turn's trace and span (the SDK reads them from the `traceparent` the
/// host puts in its metadata), and an outbound request names a span of that turn as its
/// parent in its own `traceparent` header.
#[tokio::test]
async fn guests_see_their_turns_trace_and_their_outbound_requests_carry_it() {
    let receiver = OtlpReceiver::start().await;
    let upstream = EchoTraceparent::start().await;
    let actors = actors_dir(&["caller", "hostile"]);
    let settings = format!("[grants]\nallowed_outbound_hosts = [\"http://{}\"]\n", upstream.addr);
    std::fs::write(actors.path().join("hostile.toml"), settings).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut vars = exporting_to(&receiver);
    vars.push(("SPAWN_WASM_ALLOWED_OUTBOUND_HOSTS", format!("http://{}", upstream.addr)));
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env(&vars)).await;

    let trace = "7bf92f3577b34da6a3ce929d0e0e4736";
    let header = traceparent(trace, "00f067aa0ba902b7");
    let body = r#"{"actionName": "trace", "value": {"@type": "type.googleapis.com/domain.Request", "language": ""}}"#;
    let (status, reply) = host.client.invoke_json_with("caller", body, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let spans = receiver.trace(trace, has(&["caller.trace"])).await;
    let turn = one(&spans, "caller.trace");
    assert_eq!(reply["value"]["response"], format!("{trace}/{}", turn.span_id()), "the guest sees its own turn's span");

    let trace = "8bf92f3577b34da6a3ce929d0e0e4736";
    let header = traceparent(trace, "00f067aa0ba902b7");
    let url = format!("http://{}/", upstream.addr);
    let body = format!(
        r#"{{"actionName": "fetch", "value": {{"@type": "type.googleapis.com/domain.Request", "language": "{url}"}}}}"#
    );
    let (status, reply) = host.client.invoke_json_with("hostile", &body, &[("traceparent", &header)]).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let spans = receiver.trace(trace, has(&["hostile.fetch", "HTTP GET"])).await;
    let request = one(&spans, "HTTP GET");
    assert_eq!(request.parent_id(), one(&spans, "hostile.fetch").span_id());
    assert_eq!(request.attribute("http.response.status_code").as_deref(), Some("200"));
    assert_eq!(
        reply["value"]["response"],
        format!("status 200: 00-{trace}-{}-01", request.span_id()),
        "the upstream got the request's own span as the parent"
    );
}

/// An upstream that answers every request with its `traceparent` header.
struct EchoTraceparent {
    addr: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl EchoTraceparent {
    async fn start() -> EchoTraceparent {
        let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
            headers.get("traceparent").and_then(|value| value.to_str().ok()).unwrap_or("none").to_owned()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        EchoTraceparent { addr, task }
    }
}

impl Drop for EchoTraceparent {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn opentelemetry_value(text: &str) -> opentelemetry_proto::tonic::common::v1::any_value::Value {
    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(text.into())
}

/// A collector that is down costs the spans (counted), never an answer.
#[tokio::test]
async fn a_collector_that_is_down_changes_no_answer_and_the_lost_spans_are_counted() {
    let closed = spawn_wasm_tests::free_port();
    let actors = actors_dir(&["caller", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let vars = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{closed}")),
        ("OTEL_BSP_SCHEDULE_DELAY", "50".into()),
    ];
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env(&vars)).await;
    let request =
        r#"{"actionName": "callJoe", "value": {"@type": "type.googleapis.com/domain.Request", "language": "go"}}"#;
    for _ in 0..20 {
        let (status, reply) = host.client.invoke_json("caller", request).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
    }
    let mut dropped = 0.0;
    for _ in 0..200 {
        let metrics = reqwest::get(format!("{}/metrics", host.client.base_url())).await.unwrap().text().await.unwrap();
        dropped = metrics
            .lines()
            .find_map(|line| line.strip_prefix("spawn_wasm_trace_spans_dropped_total "))
            .map_or(0.0, |value| value.trim().parse().unwrap());
        if dropped >= 80.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(dropped >= 80.0, "20 requests of 4 spans each were not exported, and counted: {dropped}");
}

/// A collector that takes seconds to answer each export changes no answer and holds up no
/// turn: every request is answered before the collector has taken a single export, and the
/// spans still arrive.
#[tokio::test]
async fn a_slow_collector_changes_no_answer_and_still_gets_the_spans() {
    let receiver = OtlpReceiver::start_slow(std::time::Duration::from_secs(5)).await;
    let actors = actors_dir(&["caller", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let vars = exporting_to(&receiver);
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env(&vars)).await;
    let trace = "7bf92f3577b34da6a3ce929d0e0e4736";
    let header = traceparent(trace, "00f067aa0ba902b7");
    for language in ["go", "rust", "zig", "ocaml", "elixir"] {
        let request = format!(
            r#"{{"actionName": "callJoe", "value": {{"@type": "type.googleapis.com/domain.Request", "language": "{language}"}}}}"#
        );
        let (status, reply) = host.client.invoke_json_with("caller", &request, &[("traceparent", &header)]).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let response = reply["value"]["response"].as_str().unwrap_or_default();
        assert!(response.ends_with(language), "joe's answer comes through: {reply}");
    }
    assert!(receiver.spans().is_empty(), "every request was answered before the collector took an export");
    let spans =
        receiver.trace(trace, |spans| spans.iter().filter(|span| span.span.name == "invoke").count() == 5).await;
    assert!(spans.iter().all(|span| span.trace_id() == trace));
}

/// Without an endpoint, or with `OTEL_TRACES_EXPORTER=none`, nothing is exported (the host
/// says so at start) and the console still keeps the requests.
#[tokio::test]
async fn without_an_endpoint_or_with_the_exporter_none_nothing_is_sent() {
    let receiver = OtlpReceiver::start().await;
    let actors = actors_dir(&["caller", "joe"]);
    let mut none = exporting_to(&receiver);
    none.push(("OTEL_TRACES_EXPORTER", "none".into()));
    let settings = [vec![("OTEL_SERVICE_NAME", "no-endpoint".to_owned())], none];
    let request =
        r#"{"actionName": "callJoe", "value": {"@type": "type.googleapis.com/domain.Request", "language": "go"}}"#;
    for (index, vars) in settings.iter().enumerate() {
        let data = tempfile::tempdir().unwrap();
        let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env(vars)).await;
        let trace = format!("{index}bf92f3577b34da6a3ce929d0e0e4736");
        let header = traceparent(&trace, "00f067aa0ba902b7");
        let (status, reply) = host.client.invoke_json_with("caller", request, &[("traceparent", &header)]).await;
        assert_eq!(status, StatusCode::OK, "{reply}");
        let kept = reqwest::get(format!("{}/v1/requests/{trace}", host.client.base_url())).await.unwrap();
        assert_eq!(kept.status(), StatusCode::OK, "the console keeps the request without a collector");
        assert!(host.log().contains("trace spans are not exported"), "{}", host.log());
    }
    // Ten times the batch delay the exporting hosts of these tests use.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(receiver.spans().is_empty(), "nothing was sent");
}

/// An unsupported protocol is refused at start, naming the variable.
#[test]
fn an_unsupported_otlp_protocol_is_refused_at_start_naming_the_variable() {
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(SPAWN_WASM)
        .args(["standalone", "--port", "0", "--actors"])
        .arg(actors.path())
        .arg("--data")
        .arg(data.path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .env("SPAWN_WASM_CACHE_DIR", spawn_wasm_tests::code_cache())
        .output()
        .unwrap();
    spawn_wasm_tests::assert_refused(&output, &["OTEL_EXPORTER_OTLP_PROTOCOL=\"grpc\" is not supported"]);
}

/// Sidecar: the turn continues the trace the proxy passed on in the invocation's metadata,
/// and the host's call to the proxy names the turn's call span as its parent.
#[tokio::test]
async fn the_sidecar_continues_the_proxys_trace_and_passes_it_on_to_the_proxy() {
    use spawn_wasm_tests::{Harness, InvocationBuilder, InvokeAnswer, pack};
    let harness = Harness::start(&["caller", "joe"]).await;
    harness.proxy.answer_invocations(InvokeAnswer::Ok(Some(pack(&domain::Reply { response: "from joe".into() }))));
    let trace = "9bf92f3577b34da6a3ce929d0e0e4736";
    let call = InvocationBuilder::new("caller", "callJoe")
        .payload(&domain::Request { language: "ocaml".into() })
        .metadata("traceparent", &traceparent(trace, "00f067aa0ba902b7"))
        .metadata("tracestate", "vendor=opaque")
        .build();
    harness.client.invoke(&call).await;
    let log = harness.proxy.log();
    let (_, sent) = &log.invocations[0];
    let passed = &sent.metadata["traceparent"];
    let fields: Vec<&str> = passed.split('-').collect();
    assert_eq!((fields[0], fields[1], fields[3]), ("00", trace, "01"), "same trace, still sampled: {passed}");
    assert_ne!(fields[2], "00f067aa0ba902b7", "the parent is the host's call span, not the proxy's");
    assert_eq!(sent.metadata.get("tracestate").map(String::as_str), Some("vendor=opaque"));
    let recent: serde_json::Value = serde_json::from_str(&harness.client.get_text("/v1/requests").await).unwrap();
    let spans = recent[0]["spans"].as_array().expect("the request is kept for the console").clone();
    let named =
        |name: &str| spans.iter().find(|span| span["name"] == name).unwrap_or_else(|| panic!("no {name}: {spans:?}"));
    assert_eq!(named("caller.callJoe")["parent_id"], "00f067aa0ba902b7");
    assert_eq!(named("call joe.setLanguage")["span_id"], fields[2]);
    assert_eq!(named("call joe.setLanguage")["parent_id"], named("caller.callJoe")["span_id"]);
}
