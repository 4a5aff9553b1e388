//! Outbound HTTP, granted per module: real guests (`hostile.fetch`, through the Rust SDK's
//! `http` helper; `js_bridge.fetch`, JavaScript's `fetch()`; `python_hostile.fetch`, the Python SDK's `http`) against an upstream server this
//! test starts on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use domain::{Reply, Request};
use spawn_wasm_host::wasm::capabilities::{AllowedOutboundHosts, GrantPolicy};
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::js::JS_EXAMPLES;
use crate::polyglot::{SPAWN_WASM, data_dir, warm};
use crate::python::PYTHON_EXAMPLES;

/// Bytes the big bodies carry: over a 1 MiB cap.
const BIG: usize = 2 << 20;

/// An HTTP/1.1 server on 127.0.0.1 (port 0) that counts its connections and answers by path:
/// `/hello` a short body, `/huge` a 2 MiB body with its length, `/stream` 2 MiB chunked,
/// `/slow` never answers, `/stall` sends part of a body and then nothing.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let task = tokio::spawn(async move {
            let mut handlers = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                handlers.spawn(answer(stream));
            }
        });
        Upstream { addr, connections, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        if head.is_empty() && byte[0] == 0x16 {
            // A TLS handshake: this server speaks plain HTTP only.
            let _ = stream.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
    let chunk = vec![b'x'; 64 << 10];
    let _ = match path.as_str() {
        "/hello" => {
            let body = "hello from upstream";
            let _ = stream
                .write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes())
                .await;
            // Kept open, as a keep-alive server does.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        "/huge" => {
            let _ = stream.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {BIG}\r\n\r\n").as_bytes()).await;
            for _ in 0..BIG / chunk.len() {
                if stream.write_all(&chunk).await.is_err() {
                    break;
                }
            }
            Ok(())
        }
        "/stream" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await;
            for _ in 0..BIG / chunk.len() {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                if stream.write_all(&framed).await.is_err() {
                    break;
                }
            }
            stream.write_all(b"0\r\n\r\n").await
        }
        "/stall" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..").await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        _ => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
    };
}

/// What `actor.fetch` replies for `url`.
async fn fetch_by(client: &ClientApi, actor: &str, url: &str) -> String {
    let reply: Reply = client.call(actor, "fetch", &Request { language: url.into() }).await;
    reply.response
}

/// What `hostile.fetch` replies for `url`.
async fn fetch(client: &ClientApi, url: &str) -> String {
    fetch_by(client, "hostile", url).await
}

/// The operator's allowance these tests run under: the upstream is on loopback, which no
/// module reaches unless the host's list names it too.
pub const LOOPBACK_ALLOWED: (&str, &str) =
    ("SPAWN_WASM_ALLOWED_OUTBOUND_HOSTS", "http://127.0.0.1:*,https://127.0.0.1:*,http://localhost:*");

/// A standalone host process over `hostile` with `settings` as its TOML, the operator
/// allowing loopback.
async fn host(settings: &str) -> (HostProcess, tempfile::TempDir, tempfile::TempDir) {
    let actors = actors_dir(&["hostile"]);
    write_file(actors.path(), "hostile.toml", settings.as_bytes());
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[LOOPBACK_ALLOWED]).await;
    (process, actors, data)
}

/// The refusal a guest sees for `destination` without a grant covering it.
fn names_the_grant(refused: &str, destination: &str) -> bool {
    refused.contains(&format!("outbound HTTP to {destination} is not granted"))
        && refused.contains(&format!("add \"{destination}\""))
        && refused.contains("allowed_outbound_hosts")
}

#[tokio::test]
async fn a_granted_destination_answers_and_any_other_is_refused_naming_the_grant() {
    let granted = Upstream::start().await;
    let other = Upstream::start().await;
    let port = granted.addr.port();
    let settings =
        format!("[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:{port}\", \"https://127.0.0.1:{port}\"]\n");
    let (process, _actors, _data) = host(&settings).await;

    assert_eq!(fetch(&process.client, &granted.url("/hello")).await, "status 200: hello from upstream");
    let tls = fetch(&process.client, &format!("https://127.0.0.1:{port}/hello")).await;
    assert_eq!(tls, "refused: ErrorCode::TlsProtocolError", "https speaks TLS, and a server that does not fails it");

    let refused = fetch(&process.client, &other.url("/hello")).await;
    let destination = format!("http://{}", other.addr);
    assert!(
        refused.starts_with("refused: ") && names_the_grant(&refused, &destination),
        "the guest sees the destination and the grant: {refused}"
    );
    assert_eq!(other.connections(), 0, "a refused destination sees no connection");
    let log = process.log();
    let line = log.lines().find(|line| line.contains("outbound HTTP request refused")).expect("a log line");
    assert!(line.contains(&destination) && line.contains("allowed_outbound_hosts"), "{line}");
    assert!(
        !log.lines().any(|line| line.contains("imported but not granted") && line.contains("wasi:http")),
        "a granted import is not reported at load:\n{log}"
    );
}

/// `actor.fetch` of the loopback upstream from `component` (compiled with `examples`) without
/// a grant, then with the module's TOML granting it: returns what the guest saw when refused,
/// after checking that no connection was made, that the host logged why naming the grant,
/// and that the granted fetch reads the body.
async fn refused_until_granted(component: &str, actor: &str, examples: &'static [&'static str]) -> String {
    warm(examples);
    let upstream = Upstream::start().await;
    let destination = format!("http://{}", upstream.addr);
    let actors = actors_dir(&[component]);
    let data = data_dir();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[LOOPBACK_ALLOWED]).await;
    let client = &process.client;

    let refused = fetch_by(client, actor, &upstream.url("/hello")).await;
    assert_eq!(upstream.connections(), 0, "an ungranted fetch opens no connection");
    let log = process.log();
    let line = log.lines().find(|line| line.contains("outbound HTTP request refused")).expect("a log line");
    assert!(names_the_grant(line, &destination), "the host names the grant: {line}");

    let granted = format!("[grants]\nallowed_outbound_hosts = [\"{destination}\"]\n");
    write_file(actors.path(), &format!("{component}.toml"), granted.as_bytes());
    eventually(Duration::from_secs(30), "the grant applies", || async {
        fetch_by(client, actor, &upstream.url("/hello")).await == "status 200: hello from upstream"
    })
    .await;
    refused
}

/// JavaScript's `fetch()` goes through `wasi:http` and the same grant.
#[tokio::test]
async fn a_js_fetch_is_refused_until_granted_and_then_reads_the_body() {
    let refused = refused_until_granted("js-bridge", "js_bridge", JS_EXAMPLES).await;
    // componentize-js's `fetch` keeps none of the host's reason: the log has it.
    assert_eq!(refused, "refused: TypeError: NetworkError when attempting to fetch resource");
}

/// The Python SDK's `spawn_wasm.http` too, and its error carries the host's reason.
#[tokio::test]
async fn a_python_fetch_is_refused_naming_the_grant_until_granted_and_then_reads_the_body() {
    let refused = refused_until_granted("python-hostile", "python_hostile", PYTHON_EXAMPLES).await;
    assert!(
        refused.starts_with("refused: outbound HTTP to http://127.0.0.1:")
            && refused.contains("allowed_outbound_hosts"),
        "the guest sees the host's reason: {refused}"
    );
}

#[tokio::test]
async fn a_host_name_reaching_a_loopback_address_needs_the_address_granted() {
    let upstream = Upstream::start().await;
    let port = upstream.addr.port();
    let by_name = format!("[grants]\nallowed_outbound_hosts = [\"http://localhost:{port}\"]\n");
    let (process, actors, _data) = host(&by_name).await;
    let url = format!("http://localhost:{port}/hello");

    let refused = fetch(&process.client, &url).await;
    assert!(
        refused.contains("localhost resolves to")
            && refused.contains("127.0.0.1")
            && refused.contains(&format!("\"http://127.0.0.1:{port}\"")),
        "a name grant does not reach a loopback address: {refused}"
    );
    assert_eq!(upstream.connections(), 0);

    let by_address =
        format!("[grants]\nallowed_outbound_hosts = [\"http://localhost:{port}\", \"http://127.0.0.1:{port}\"]\n");
    write_file(actors.path(), "hostile.toml", by_address.as_bytes());
    eventually(Duration::from_secs(10), "the address grant applies", || async {
        fetch(&process.client, &url).await == "status 200: hello from upstream"
    })
    .await;
}

/// In process, on the test's single-threaded runtime: the upstream keeps its connection
/// open, and the whole body still reaches the guest.
#[tokio::test]
async fn the_host_config_narrows_what_a_module_grants() {
    let allowed = Upstream::start().await;
    let narrowed = Upstream::start().await;
    let actors = actors_dir(&["hostile"]);
    write_file(actors.path(), "hostile.toml", b"[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n");
    let data = tempfile::tempdir().unwrap();
    let host_list = [format!("http://127.0.0.1:{}", allowed.addr.port()), "https://api.example.com".into()];
    let policy = GrantPolicy {
        outbound_hosts: Some(AllowedOutboundHosts::parse(&host_list).unwrap()),
        ..GrantPolicy::default()
    };
    let limits = Limits { policy, ..Limits::default() };
    let harness = StandaloneHarness::start_with(actors.path(), data.path(), limits).await;

    assert_eq!(fetch(&harness.client, &allowed.url("/hello")).await, "status 200: hello from upstream");
    let refused = fetch(&harness.client, &narrowed.url("/hello")).await;
    assert!(
        refused.contains("granted by the module but not allowed by the host")
            && refused.contains("--allowed-outbound-hosts"),
        "{refused}"
    );
    assert_eq!(narrowed.connections(), 0);
    harness.stop().await;
}

#[tokio::test]
async fn a_bad_pattern_rejects_the_module_at_load_with_its_reason() {
    let actors = actors_dir(&["hostile"]);
    write_file(actors.path(), "hostile.toml", b"[grants]\nallowed_outbound_hosts = [\"https://api.example.com/v1\"]\n");
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let error = harness
        .runtime
        .modules()
        .status()
        .iter()
        .find_map(|file| file.last_error.clone())
        .expect("the module is rejected");
    assert!(
        error.contains("hostile.toml")
            && error.contains("`https://api.example.com/v1` is not an outbound host pattern"),
        "{error}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn slow_upstreams_end_at_the_call_deadline_big_bodies_at_the_cap_and_the_host_keeps_serving() {
    let upstream = Upstream::start().await;
    let settings = format!(
        "[limits]\ncall_timeout_ms = 1000\nmax_outbound_response_bytes = 1048576\n\n\
         [grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:{}\"]\n",
        upstream.addr.port()
    );
    let (process, _actors, _data) = host(&settings).await;
    let client = &process.client;

    for path in ["/slow", "/stall"] {
        let request = client.request(
            "hostile",
            "fetch",
            Some(pack(&Request { language: upstream.url(path) })),
            CallOptions::default(),
        );
        let (_, _, message) = client.fail(&request).await;
        assert!(message.contains("exceeded the call deadline of 1000 ms"), "{path}: {message}");
    }

    let huge = fetch(client, &upstream.url("/huge")).await;
    assert_eq!(
        huge,
        format!(
            "refused: the response body ({BIG} bytes) is over the cap of 1048576 bytes (limits.max_outbound_response_bytes)"
        )
    );
    let streamed = fetch(client, &upstream.url("/stream")).await;
    assert!(
        streamed.starts_with("refused: ")
            && streamed
                .ends_with("the response body is over the cap of 1048576 bytes (limits.max_outbound_response_bytes)"),
        "a body without a length is cut at the cap: {streamed}"
    );

    assert_eq!(
        fetch(client, &upstream.url("/hello")).await,
        "status 200: hello from upstream",
        "the host keeps serving"
    );
}
