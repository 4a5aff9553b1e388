//! The standalone runtime as a real process: an acknowledged checkpoint survives `kill -9`,
//! and SIGTERM persists write-behind state.

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

#[tokio::test]
async fn an_acknowledged_checkpoint_survives_kill_9() {
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let reply: Reply = process.client.call("joe", "saveLanguage", &Request { language: "durable".into() }).await;
    assert!(reply.response.contains("durable"));
    process.kill();

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let state: JoeState = process.client.state("joe").await;
    assert!(state.languages.iter().any(|language| language == "durable"), "{state:?}");
}

#[tokio::test]
async fn sigterm_persists_write_behind_state_and_exits_0() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    for _ in 0..3 {
        let _: Counter = process.client.call("counter", "increment", &Increment { by: 5 }).await;
    }
    let status = process.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    assert_eq!(process.client.state::<Counter>("counter").await, Counter { value: 15 });
    assert_eq!(process.client.get_status("/health/readiness").await, StatusCode::OK);
}

#[tokio::test]
async fn sigterm_turns_readiness_down_and_drains_a_call_in_flight() {
    let actors = actors_dir(&["counter", "hostile"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let _: Counter = process.client.call("counter", "increment", &Increment { by: 7 }).await;
    let client = process.client.clone();
    let in_flight = tokio::spawn(async move {
        let reply: Reply = client.call("hostile", "sleep", &Request { language: "1500".into() }).await;
        reply.response
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let pid = process.pid();
    tokio::task::spawn_blocking(move || {
        assert!(std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
    })
    .await
    .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_ne!(
        process.client.try_get_status("/health/readiness").await,
        Some(StatusCode::OK),
        "not ready while draining"
    );
    assert_eq!(in_flight.await.unwrap(), "woke up", "the call in flight finished");
    let status = process.wait();
    assert!(status.success(), "exit 0 after draining, got {status}");

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    assert_eq!(process.client.state::<Counter>("counter").await, Counter { value: 7 }, "state persisted");
}
