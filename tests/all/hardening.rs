//! Edges a security review found (issue 30), each closed and checked from outside: log lines
//! that a client cannot forge, a client API that takes its target from the path it is
//! authorised by, a console that no other site can frame or feed code to.

use axum::http::StatusCode;
use domain::{Counter, Increment};
use prost::Message;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// A client-chosen actor name holding a newline and a fake log line stays inside the one
/// line that logs it (escaped), in the human log of the real binary.
#[tokio::test]
async fn a_client_chosen_name_cannot_forge_a_log_line() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("RUST_LOG", "debug")]).await;
    let forged = "evil\n2026-01-01T00:00:00.000000Z ERROR forged: the host was compromised";
    let request = host.client.request(forged, "increment", None, CallOptions::default());
    let path = "/api/v1/system/spawn-system/actors/evil%0A2026-01-01T00:00:00.000000Z%20ERROR%20forged:%20the%20host%20was%20compromised/invoke";
    let (status, _) = host.client.post(path, request.encode_to_vec()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let log = host.log();
    assert!(log.contains("evil\\n2026-01-01"), "the name is logged, escaped:\n{log}");
    assert!(!log.lines().any(|line| line.starts_with("2026-01-01T00:00:00")), "a forged line:\n{log}");
}

/// The client API invokes the actor its path names: a body naming another actor (or
/// system) is refused, so that a gateway authorising by path cannot be bypassed.
#[tokio::test]
async fn a_body_naming_another_target_than_its_path_is_refused() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let increment = Some(pack(&Increment { by: 1 }));
    let request = client.request("counter", "increment", increment, CallOptions::default());
    let (status, body) = client.post("/api/v1/system/spawn-system/actors/evil/invoke", request.encode_to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("the path names `evil`"));
    let other = client.clone().in_system("other-system");
    let request = other.request("counter", "increment", Some(pack(&Increment { by: 1 })), CallOptions::default());
    let (status, _) = client.post("/api/v1/system/spawn-system/actors/counter/invoke", request.encode_to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(client.state::<Counter>("counter").await, Counter { value: 0 }, "nothing ran");
    harness.stop().await;
}

/// The console's files carry a Content-Security-Policy (its own code and host only, no
/// framing), `nosniff` and no referrer; the browser tests in `console.rs` run the page
/// under that policy.
#[tokio::test]
async fn the_console_refuses_framing_sniffing_and_foreign_code() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    for file in ["/console/", "/console/console.js", "/console/console.css"] {
        let response = reqwest::get(format!("{}{file}", harness.client.base_url())).await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok()).map(str::to_owned);
        let policy = header("content-security-policy").unwrap_or_default();
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("script-src 'self'"), "{file}: {policy}");
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"), "{file}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{file}");
    }
    harness.stop().await;
}

/// `HTTP_PROXY`/`ALL_PROXY` in the environment divert neither the sidecar's calls to the
/// Spawn proxy (its own sidecar) nor the CLI's calls to a host on this machine: an egress
/// proxy would see their traffic, tokens included.
#[tokio::test]
async fn an_egress_proxy_in_the_environment_sees_no_local_traffic() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let egress = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let egress_url = format!("http://{}", egress.local_addr().unwrap());
    let diverted = Arc::new(AtomicUsize::new(0));
    let counted = diverted.clone();
    tokio::spawn(async move {
        while let Ok((_connection, _)) = egress.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
        }
    });
    let env: Vec<(&str, &str)> = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .map(|name| (*name, egress_url.as_str()))
        .collect();

    let proxy = TestProxy::start().await;
    let actors = actors_dir(&["counter"]);
    let _sidecar = HostProcess::sidecar(SPAWN_WASM, actors.path(), &proxy, &env).await;

    let data = tempfile::tempdir().unwrap();
    let standalone = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let url = standalone.client.base_url().to_owned();
    let owned: Vec<(String, String)> = env.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(SPAWN_WASM)
            .args(["invoke", "counter", "increment", "--data", r#"{"by": 2}"#, "--url", &url])
            .envs(owned)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(diverted.load(Ordering::SeqCst), 0, "connections went to the egress proxy");
}

/// A token from a file (`--token-file`, `SPAWN_WASM_TOKEN_FILE`) guards the API like
/// `--token`, and does not show in the process's command line.
#[tokio::test]
async fn a_token_from_a_file_guards_the_api_and_stays_out_of_the_process_list() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let secret = "s3cret-token-from-a-file";
    let file = data.path().join("token");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let env = [("SPAWN_WASM_TOKEN_FILE", file.to_str().unwrap())];
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), &data.path().join("db"), &env).await;
    let url = format!("{}/api/v1/system/spawn-system/actors/counter/state", host.client.base_url());
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(http.get(&url).bearer_auth(secret).send().await.unwrap().status(), 200);
    let command_line = std::fs::read(format!("/proc/{}/cmdline", host.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&command_line).contains(secret));
}

/// Without a cache directory of the user's own (no `HOME`, `XDG_CACHE_HOME` or
/// `SPAWN_WASM_CACHE`), a build refuses to install or run tools rather than trust a shared
/// temporary directory.
#[test]
fn a_build_without_a_cache_directory_of_its_own_refuses_rather_than_use_tmp() {
    let workspace = tempfile::tempdir().unwrap();
    for lang in ["js", "python"] {
        let created = std::process::Command::new(SPAWN_WASM)
            .current_dir(workspace.path())
            .args(["new", "--lang", lang, lang])
            .output()
            .unwrap();
        assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
        let built = std::process::Command::new(SPAWN_WASM)
            .current_dir(workspace.path())
            .args(["build", lang])
            .env_remove("HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("SPAWN_WASM_CACHE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&built.stderr);
        assert!(!built.status.success(), "{lang}: {stderr}");
        assert!(
            stderr.contains("no directory for the build tools") && stderr.contains("SPAWN_WASM_CACHE"),
            "{lang}: {stderr}"
        );
    }
}
