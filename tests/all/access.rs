//! Who may call the open loopback API: a web page of another site must not drive it. A
//! cross-origin request (an `Origin` that is not the server's own) is refused in both modes,
//! token or not; without a token, a `Host` that is not loopback (DNS rebinding) is refused
//! unless the operator allowed it. Health, metrics, the console's page and the sidecar's
//! actions route (the proxy's) stay open. Real servers, real HTTP on loopback.

use domain::{Counter, Increment};
use prost::Message;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// One request with explicit `Host` and `Origin` headers (a browser's, or a rebound page's).
struct Sent<'a> {
    method: &'a str,
    path: &'a str,
    host: Option<&'a str>,
    origin: Option<&'a str>,
    token: Option<&'a str>,
    content_type: &'a str,
    body: Vec<u8>,
}

impl<'a> Sent<'a> {
    fn get(path: &'a str) -> Self {
        Sent { method: "GET", path, host: None, origin: None, token: None, content_type: "", body: Vec::new() }
    }

    fn post(path: &'a str, content_type: &'a str, body: Vec<u8>) -> Self {
        Sent { method: "POST", content_type, body, ..Sent::get(path) }
    }

    fn host(self, host: &'a str) -> Self {
        Sent { host: Some(host), ..self }
    }

    fn origin(self, origin: &'a str) -> Self {
        Sent { origin: Some(origin), ..self }
    }

    fn token(self, token: &'a str) -> Self {
        Sent { token: Some(token), ..self }
    }

    /// Sends it to `base` (`http://127.0.0.1:PORT`); returns the status and the body as text.
    async fn to(self, base: &str) -> (u16, String) {
        let http = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap();
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut request = http.request(method, format!("{base}{}", self.path));
        if let Some(host) = self.host {
            request = request.header("host", host);
        }
        if let Some(origin) = self.origin {
            request = request.header("origin", origin);
        }
        if let Some(token) = self.token {
            request = request.bearer_auth(token);
        }
        if !self.content_type.is_empty() {
            request = request.header("content-type", self.content_type).body(self.body);
        }
        let response = request.send().await.expect("the server must answer");
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

/// `host:port` of a base URL `http://host:port`.
fn authority(base: &str) -> &str {
    base.strip_prefix("http://").unwrap()
}

/// The port of a base URL.
fn port(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

fn increment(client: &ClientApi) -> Vec<u8> {
    client.request("counter", "increment", Some(pack(&Increment { by: 1 })), CallOptions::default()).encode_to_vec()
}

#[tokio::test]
async fn a_page_of_another_origin_cannot_invoke_spawn_or_restore_and_the_console_s_own_page_can() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let base = client.base_url().to_owned();
    let invoke = format!("/api/v1/system/{SYSTEM}/actors/counter/invoke");
    let spawn = format!("/api/v1/system/{SYSTEM}/actors/spawn");
    let restore = format!("{spawn}?revision=1");
    let spawn_body = pb::SpawnRequest { actors: vec![actor_id("counter")] }.encode_to_vec();

    // What a form or `fetch(..., {mode: "no-cors"})` on another site can send without a
    // preflight: protobuf as text/plain, with the page's Origin.
    for evil in ["http://evil.example", "null", "http://127.0.0.1.evil.example"] {
        for (path, body) in [(&invoke, increment(client)), (&spawn, spawn_body.clone()), (&restore, spawn_body.clone())]
        {
            let (status, text) = Sent::post(path, "text/plain", body).origin(evil).to(&base).await;
            assert_eq!(status, 403, "{evil} {path}: {text}");
            assert!(text.contains("Origin") && text.contains(evil), "{evil} {path}: {text}");
        }
        let (status, _) = Sent::get("/v1/actors").origin(evil).to(&base).await;
        assert_eq!(status, 403, "{evil} reading the console's data");
    }
    // Another port of the same address is another origin too.
    let other_port = format!("http://127.0.0.1:{}", port(&base) + 1);
    assert_eq!(Sent::post(&invoke, "text/plain", increment(client)).origin(&other_port).to(&base).await.0, 403);
    assert_eq!(client.state::<Counter>("counter").await, Counter::default(), "no refused call ran");

    // The server's own origin (the console's page) is served, as are clients sending none.
    let own = format!("http://{}", authority(&base));
    let (status, text) =
        Sent::post(&invoke, "application/octet-stream", increment(client)).origin(&own).to(&base).await;
    assert_eq!(status, 200, "{text}");
    let (status, text) = Sent::get("/v1/actors").origin(&own).to(&base).await;
    assert_eq!(status, 200, "{text}");
    let counter: Counter = client.call("counter", "increment", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 2);
    harness.stop().await;
}

#[tokio::test]
async fn without_a_token_a_rebound_host_name_cannot_read_state_and_loopback_names_can() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let base = harness.client.base_url().to_owned();
    let port = port(&base);
    let state = format!("/api/v1/system/{SYSTEM}/actors/counter/state");

    // A page of rebind.example whose name now resolves to 127.0.0.1: same-origin to the
    // browser, so only the Host header tells.
    let rebound = format!("rebind.example:{port}");
    for path in [state.as_str(), "/v1/actors", "/v1/modules", "/v1/console", "/v1/messages"] {
        let (status, text) = Sent::get(path).host(&rebound).to(&base).await;
        assert_eq!(status, 403, "{path}: {text}");
        assert!(text.contains("rebind.example") && text.contains("--allowed-host"), "{path}: {text}");
    }
    let (status, text) =
        Sent::post(&format!("/api/v1/system/{SYSTEM}/actors/counter/invoke"), "text/plain", Vec::new())
            .host(&rebound)
            .to(&base)
            .await;
    assert_eq!(status, 403, "{text}");
    for host in ["localhost", "LOCALHOST.", "app.localhost", "127.0.0.1", "127.3.2.1", "[::1]"] {
        let with_port = format!("{host}:{port}");
        for host in [host, with_port.as_str()] {
            let (status, text) = Sent::get(&state).host(host).to(&base).await;
            assert_eq!(status, 200, "{host}: {text}");
        }
    }
    for host in ["localhost.evil.example", "127.0.0.1.nip.io", "[::2]", "0.0.0.0"] {
        assert_eq!(Sent::get(&state).host(host).to(&base).await.0, 403, "{host}");
    }
    // Probes, scrapes and the console's page hold no state: open to any Host.
    for path in ["/health", "/health/readiness", "/metrics", "/console/", "/console/console.js"] {
        assert_eq!(Sent::get(path).host(&rebound).to(&base).await.0, 200, "{path}");
    }
    harness.stop().await;
}

#[tokio::test]
async fn with_a_token_any_host_passes_but_another_origin_does_not() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start_with_token(actors.path(), data.path(), "s3cret").await;
    let base = harness.client.base_url().to_owned();
    let state = format!("/api/v1/system/{SYSTEM}/actors/counter/state");
    let (status, text) = Sent::get(&state).host("spawn.example.com").token("s3cret").to(&base).await;
    assert_eq!(status, 200, "behind an ingress, under its own name: {text}");
    assert_eq!(Sent::get(&state).host("spawn.example.com").to(&base).await.0, 401, "still the token");
    let (status, text) = Sent::get(&state).origin("http://evil.example").token("s3cret").to(&base).await;
    assert_eq!(status, 403, "{text}");
    // Behind a TLS ingress, the console's page is https://NAME and the Host header NAME.
    let (status, text) =
        Sent::get(&state).host("spawn.example.com").origin("https://spawn.example.com").token("s3cret").to(&base).await;
    assert_eq!(status, 200, "{text}");
    harness.stop().await;
}

#[tokio::test]
async fn the_operator_allows_more_host_names_through_the_environment() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let env = [("SPAWN_WASM_ALLOWED_HOSTS", "spawn.test,Other.Test")];
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env).await;
    let base = process.client.base_url().to_owned();
    let port = port(&base);
    let state = format!("/api/v1/system/{SYSTEM}/actors/counter/state");
    for host in ["spawn.test".to_owned(), format!("spawn.test:{port}"), format!("other.test:{port}")] {
        let (status, text) = Sent::get(&state).host(&host).to(&base).await;
        assert_eq!(status, 200, "{host}: {text}");
    }
    let (status, text) = Sent::get(&state).host("elsewhere.test").to(&base).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("SPAWN_WASM_ALLOWED_HOSTS"), "{text}");
    // An allowed name is still subject to the Origin rule.
    let (status, _) = Sent::get(&state).host("spawn.test").origin("http://evil.example").to(&base).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn the_sidecar_guards_its_console_but_not_the_proxy_s_route() {
    let harness = Harness::start(&["counter"]).await;
    let base = format!("http://{}", harness.host.local_addr());
    for path in ["/v1/modules", "/v1/actors", "/v1/console"] {
        assert_eq!(Sent::get(path).origin("http://evil.example").to(&base).await.0, 403, "{path}");
        assert_eq!(Sent::get(path).host("rebind.example").to(&base).await.0, 403, "{path}");
        assert_eq!(Sent::get(path).to(&base).await.0, 200, "{path}");
    }
    let invocation = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    let (status, _) = Sent::post("/api/v1/actors/actions", "application/octet-stream", invocation.encode_to_vec())
        .host("proxy.internal")
        .origin("http://evil.example")
        .to(&base)
        .await;
    assert_eq!(status, 200, "the proxy's route is the proxy's: not guarded");
}
