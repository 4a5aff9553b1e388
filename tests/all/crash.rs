//! The standalone runtime as a real process: an acknowledged checkpoint survives `kill -9`,
//! and SIGTERM persists write-behind state.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

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

/// An actor whose mailbox never empties (never parked, so never seen by housekeeping) still
/// has its state snapshotted every snapshot period: after `kill -9`, what it had reached two
/// periods before is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_actor_is_snapshotted_while_its_mailbox_never_empties() {
    let snapshot_period = Duration::from_millis(spawn_wasm_host::protocol::convert::DEFAULT_SNAPSHOT_TIMEOUT_MS);
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    // Callers each waiting for their turn: while one turn runs, the others' are queued, and
    // each turn makes joe's state (so the next turn) longer. Each reply lists every
    // language so far: `reached` is the most any reply listed by `cutoff`.
    let start = tokio::time::Instant::now();
    let cutoff = start + snapshot_period / 2;
    let kill_at = cutoff + snapshot_period * 2 + snapshot_period / 2;
    let reached = Arc::new(AtomicUsize::new(0));
    let append = process.client.request(
        "joe",
        "setLanguage",
        Some(pack(&Request { language: "x".into() })),
        CallOptions::default(),
    );
    let mut callers = Vec::new();
    for _ in 0..16 {
        let (client, reached, append) = (process.client.clone(), reached.clone(), append.clone());
        callers.push(tokio::spawn(async move {
            while tokio::time::Instant::now() < kill_at {
                let Some(reply) = client.try_send(&append).await else { continue };
                let count = unpack::<Reply>(&reply).response.split(',').count();
                if tokio::time::Instant::now() < cutoff {
                    reached.fetch_max(count, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep_until(kill_at).await;
    process.kill();
    for caller in callers {
        caller.await.unwrap();
    }
    let reached = reached.load(Ordering::Relaxed);
    assert!(reached > 0);

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let stored = process.client.state::<JoeState>("joe").await.languages.len();
    assert!(stored >= reached, "{stored} languages stored, {reached} reached two periods before the kill");
}

#[tokio::test]
async fn a_second_host_on_the_same_data_directory_exits_naming_the_first() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let first = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let _: Counter = first.client.call("counter", "increment", &Increment { by: 1 }).await;

    let mut second = std::process::Command::new(SPAWN_WASM)
        .args(["standalone", "--port", &free_port().to_string(), "--actors"])
        .arg(actors.path())
        .arg("--data")
        .arg(data.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > std::time::Duration::from_secs(10) {
            break None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let Some(status) = status else {
        second.kill().unwrap();
        second.wait().unwrap();
        panic!("a second host on the same data directory kept running");
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(second.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.pid())), "the message names the first host: {stderr}");
    assert!(stderr.contains(&data.path().display().to_string()), "and the directory: {stderr}");
    // The first keeps serving, its state intact.
    assert_eq!(first.client.state::<Counter>("counter").await, Counter { value: 1 });
}
