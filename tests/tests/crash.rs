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
