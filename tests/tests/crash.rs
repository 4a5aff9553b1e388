//! The standalone runtime as a real process: an acknowledged checkpoint survives `kill -9`,
//! and SIGTERM persists write-behind state.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use spawn_wasm_tests::*;

/// A free loopback port: bound, then released for the child to bind.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A `spawn-wasm standalone` process, killed when dropped (even when a test fails).
struct Process {
    child: Child,
    client: ClientApi,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_process(actors: &Path, data: &Path) -> Process {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_spawn-wasm-e2e"))
        .args(["standalone", "--actors"])
        .arg(actors)
        .arg("--data")
        .arg(data)
        .args(["--port", &port.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .spawn()
        .expect("starting spawn-wasm");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let process = Process { child, client: ClientApi::new(addr) };
    let http = reqwest::Client::new();
    let ready = format!("http://{addr}/health/readiness");
    for _ in 0..300 {
        if http.get(&ready).send().await.is_ok_and(|response| response.status().is_success()) {
            return process;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("spawn-wasm did not become ready within 15 s");
}

#[tokio::test]
async fn an_acknowledged_checkpoint_survives_kill_9() {
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = start_process(actors.path(), data.path()).await;
    let reply: Reply = process.client.call("joe", "saveLanguage", &Request { language: "durable".into() }).await;
    assert!(reply.response.contains("durable"));
    process.child.kill().expect("kill -9");
    process.child.wait().unwrap();

    let process = start_process(actors.path(), data.path()).await;
    let state: JoeState = process.client.state("joe").await;
    assert!(state.languages.iter().any(|language| language == "durable"), "{state:?}");
}

#[tokio::test]
async fn sigterm_persists_write_behind_state_and_exits_0() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = start_process(actors.path(), data.path()).await;
    for _ in 0..3 {
        let _: Counter = process.client.call("counter", "increment", &Increment { by: 5 }).await;
    }
    let pid = process.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = process.child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    let process = start_process(actors.path(), data.path()).await;
    assert_eq!(process.client.state::<Counter>("counter").await, Counter { value: 15 });
    assert_eq!(process.client.get_status("/health/readiness").await, StatusCode::OK);
}
