//! What a module may use: nothing unless its TOML grants it; its output goes to the log,
//! capped; a host secret never reaches a guest or a log.

use std::time::Duration;

use domain::{Reply, Request};
use spawn_wasm_host::wasm::capabilities::GrantPolicy;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

fn request(text: &str) -> Request {
    Request { language: text.into() }
}

#[tokio::test]
async fn a_host_secret_never_reaches_a_guest_or_the_log() {
    const SECRET: &str = "s3cr3t-value-that-must-not-leak";
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(
        SPAWN_WASM,
        actors.path(),
        data.path(),
        &[("SPAWN_WASM_TEST_SECRET", SECRET), ("RUST_LOG", "debug")],
    )
    .await;
    let env: Reply = process.client.call("hostile", "env", &request("")).await;
    assert_eq!(env.response, "0", "the guest sees no environment variable");
    let read: Reply = process.client.call("hostile", "readFile", &request("/proc/self/environ")).await;
    assert_eq!(read.response, "denied");
    let _: Reply = process.client.call("hostile", "print", &request("")).await;
    let log = process.log();
    assert!(log.contains("hello from hostile"), "guest stdout reaches the log:\n{log}");
    assert!(!log.contains(SECRET), "the secret leaked into the log");
}

#[tokio::test]
async fn guest_output_is_logged_tagged_and_capped() {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let reply: Reply = process.client.call("hostile", "print", &request("")).await;
    assert_eq!(reply.response.len(), 1000);
    let log = process.log();
    let line = log.lines().find(|line| line.contains("hello from hostile")).expect("stdout line");
    assert!(line.contains("actor=hostile") && line.contains("action=print") && line.contains("stdout"), "{line}");
    let line = log.lines().find(|line| line.contains("warning from hostile")).expect("stderr line");
    assert!(line.contains("stderr"), "{line}");
    assert!(log.contains("dropped_bytes="), "output over the budget is counted and dropped:\n{log}");
    let logged_x_lines = log.lines().filter(|line| line.contains(&"x".repeat(99))).count();
    assert!(logged_x_lines < 200, "the per-call budget caps what reaches the log ({logged_x_lines} lines)");
}

#[tokio::test]
async fn a_module_toml_grants_env_and_a_read_only_directory_and_lowers_limits() {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    write_file(shared.path(), "note.txt", b"twelve bytes");
    let settings = format!(
        "[limits]\nmax_reply_bytes = 200\n\n[grants]\nenv = {{ GREETING = \"hi\" }}\nread_only_dirs = {{ \"/shared\" = \"{}\" }}\n",
        shared.path().display()
    );
    write_file(actors.path(), "hostile.toml", settings.as_bytes());
    let policy = GrantPolicy { dir_roots: vec![shared.path().canonicalize().unwrap()], ..GrantPolicy::default() };
    let harness =
        StandaloneHarness::start_with(actors.path(), data.path(), Limits { policy, ..Limits::default() }).await;
    let client = &harness.client;

    let env: Reply = client.call("hostile", "env", &request("")).await;
    assert_eq!(env.response, "1");
    let read: Reply = client.call("hostile", "readFile", &request("/shared/note.txt")).await;
    assert_eq!(read.response, "read 12 bytes");
    let denied: Reply = client.call("hostile", "readFile", &request("/etc/passwd")).await;
    assert_eq!(denied.response, "denied", "only the granted directory is visible");

    let (status, _, message) = client.fail(&client.request("hostile", "print", None, CallOptions::default())).await;
    assert_eq!(status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("more than the limit of 200"), "{message}");

    // Editing the TOML reloads the module with the new grants.
    write_file(actors.path(), "hostile.toml", b"[grants]\nenv = { A = \"1\", B = \"2\" }\n");
    eventually(Duration::from_secs(10), "the new grants apply", || async {
        let env: Reply = client.call("hostile", "env", &request("")).await;
        env.response == "2"
    })
    .await;

    // A bad TOML is rejected with a reason; the previous version keeps serving.
    write_file(actors.path(), "hostile.toml", b"[grants]\nnetwork = true\n");
    eventually(Duration::from_secs(10), "the bad settings are reported", || async {
        harness.runtime.modules().status().iter().any(|file| {
            file.last_error
                .as_deref()
                .is_some_and(|error| error.contains("hostile.toml") && error.contains("unknown field"))
        })
    })
    .await;
    let env: Reply = client.call("hostile", "env", &request("")).await;
    assert_eq!(env.response, "2");
    harness.stop().await;
}

#[tokio::test]
async fn a_component_importing_wasi_http_loads_and_its_requests_are_refused_when_nothing_is_granted() {
    // A server the guest is aimed at: it must never see a connection.
    let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = server.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let accept = tokio::spawn(async move {
        while server.accept().await.is_ok() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });

    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let reply: Reply = process.client.call("hostile", "fetch", &request(&format!("http://{target}/secret"))).await;
    assert!(
        reply.response.contains("is not granted") && reply.response.contains("allowed_outbound_hosts"),
        "the guest is told it was denied and what would allow it: {}",
        reply.response
    );
    let log = process.log();
    let loaded = log.lines().find(|line| line.contains("imported but not granted")).expect("a line at load");
    assert!(loaded.contains("wasi:http/outgoing-handler") && loaded.contains("hostile.wasm"), "{loaded}");
    let line = log.lines().find(|line| line.contains("outbound HTTP request refused")).expect("a log line");
    assert!(line.contains("wasi:http/outgoing-handler") && line.contains(&target.to_string()), "{line}");
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 0, "no connection was made");
    let env: Reply = process.client.call("hostile", "env", &request("")).await;
    assert_eq!(env.response, "0", "the component keeps serving");
    accept.abort();
}
