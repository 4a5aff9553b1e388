//! Limits on the wire: an oversized body gets 413, a flood beyond the in-flight bound gets
//! 503 at once, and the host keeps serving; a standalone runtime killed with `kill -9` over
//! and over during checkpointed load loses no acknowledged checkpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, Request};
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

#[tokio::test]
async fn an_oversized_body_gets_413_and_the_host_keeps_serving() {
    let http = HttpLimits { max_body_bytes: 64 << 10, ..HttpLimits::default() };
    let harness = Harness::start_with_http(actors_dir(&["counter"]), Limits::default(), http).await;
    let (status, _) = harness.client.post_bytes(vec![0u8; 65 << 10]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let invocation = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&invocation).await), Counter { value: 1 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_in_flight_bound_get_503_at_once() {
    let actors = actors_dir(&["hostile", "counter"]);
    let data = tempfile::tempdir().unwrap();
    let limits = Limits { call_timeout: Duration::from_secs(3), ..Limits::default() };
    let http = HttpLimits { max_in_flight: 2, ..HttpLimits::default() };
    let harness = StandaloneHarness::start_with_http(actors.path(), data.path(), limits, http).await;
    let mut sleepers = Vec::new();
    for _ in 0..2 {
        let client = harness.client.clone();
        sleepers.push(tokio::spawn(async move {
            client
                .send(&client.request("hostile", "sleep", Some(pack(&Request::default())), CallOptions::default()))
                .await
                .0
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (status, _) = harness.client.post("/api/v1/system/spawn-system/actors/counter/invoke", Vec::new()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(1), "refused at once, not queued");
    // The first is interrupted at its deadline (500); the second, queued behind it for the
    // same actor, reaches its own deadline before its turn (504).
    let mut statuses = Vec::new();
    for sleeper in sleepers {
        statuses.push(sleeper.await.unwrap());
    }
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::INTERNAL_SERVER_ERROR, StatusCode::GATEWAY_TIMEOUT],
        "the sleepers hit their deadline"
    );
    let counter: Counter = harness.client.call("counter", "increment", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 1, "served again once calls finish");
    harness.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_kill_9_during_checkpointed_load_loses_no_acknowledged_checkpoint() {
    const ROUNDS: usize = 4;
    const ACTORS: usize = 8;
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    // The highest value each actor acknowledged, over every round.
    let acknowledged: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    for round in 0..ROUNDS {
        let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
        for key in 0..ACTORS {
            let stored = stored(&process.client, key).await;
            let acked = acknowledged.lock().unwrap().get(&key).copied().unwrap_or(0);
            assert!(stored >= acked, "round {round}: k-{key} stored {stored} < acknowledged {acked}");
            assert!(stored <= acked + 1, "round {round}: k-{key} stored {stored}, more than one unacknowledged call");
        }
        let mut load = Vec::new();
        for key in 0..ACTORS {
            let (client, acknowledged) = (process.client.clone(), acknowledged.clone());
            load.push(tokio::spawn(async move {
                let options = CallOptions { register_ref: "counters".into(), ..CallOptions::default() };
                for _ in 0..10_000 {
                    let request = client.request(
                        &format!("k-{key}"),
                        "incrementDurably",
                        Some(pack(&Increment { by: 1 })),
                        options.clone(),
                    );
                    let Some(reply) = client.try_send(&request).await else { return };
                    let value = unpack::<Counter>(&reply).value;
                    acknowledged.lock().unwrap().insert(key, value);
                }
            }));
        }
        tokio::time::sleep(Duration::from_millis(300 + 150 * round as u64)).await;
        process.kill();
        for task in load {
            task.await.unwrap();
        }
    }
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert_eq!(acknowledged.len(), ACTORS, "every actor acknowledged calls");
    let total: i64 = acknowledged.values().sum();
    eprintln!("{ROUNDS} kill -9 rounds, {total} acknowledged checkpoints, none lost");
    for (key, acked) in acknowledged {
        let stored = stored(&process.client, key).await;
        assert!(stored >= acked && stored <= acked + 1, "k-{key}: stored {stored}, acknowledged {acked}");
    }
}

/// The stored value of counter `k-<key>` (spawned from `counters` if needed).
async fn stored(client: &ClientApi, key: usize) -> i64 {
    let options = CallOptions { register_ref: "counters".into(), ..CallOptions::default() };
    let state = client.call_with(&format!("k-{key}"), "get", None, options).await;
    state.map_or(0, |any| unpack::<Counter>(&any).value)
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let http = HttpLimits { header_timeout: Duration::from_millis(300), ..HttpLimits::default() };
    let harness = Harness::start_with_http(actors_dir(&["counter"]), Limits::default(), http).await;
    let addr = harness.host.local_addr();

    // A client that starts a request and never finishes its headers.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"POST /api/v1/actors/actions HTTP/1.1\r\nHost: test\r\n").await.unwrap();
    let started = std::time::Instant::now();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the connection must be closed, not left open");
    assert!(started.elapsed() < Duration::from_secs(3), "closed after about the timeout: {:?}", started.elapsed());

    // A client that connects and sends nothing at all.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    let read = tokio::time::timeout(Duration::from_secs(5), idle.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "an idle connection must be closed");

    // Well-behaved clients are served as before.
    let invocation = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&invocation).await), Counter { value: 1 });

    // A keep-alive connection is served, then closed once idle for the timeout.
    let body = prost::Message::encode_to_vec(&invocation);
    let mut kept = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST /api/v1/actors/actions HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n", body.len());
    kept.write_all(head.as_bytes()).await.unwrap();
    kept.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), kept.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "an idle keep-alive connection must be closed after its answer");
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
}

/// Sends a request's headers announcing a 1 000-byte body, then only 10 bytes of it, and
/// keeps the connection open: a client trickling (or stalling) its body.
async fn stall_a_body(addr: std::net::SocketAddr, path: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n");
    stalled.write_all(head.as_bytes()).await.unwrap();
    stalled.write_all(&[0u8; 10]).await.unwrap();
    stalled
}

/// The stalled request is answered 408 (or its connection closed) within the bound, and
/// `served` succeeds once the slot it held is free: in the same few seconds.
async fn stalled_body_frees_its_slot<F, Fut>(mut stalled: tokio::net::TcpStream, mut served: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    use tokio::io::AsyncReadExt;
    // While the body stalls it holds the only slot: the next request is refused at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(served().await, StatusCode::SERVICE_UNAVAILABLE, "the stalled request holds the slot");
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stalled.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "a stalled body must not hold its connection (and slot) forever");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3), "cut at about the header timeout: {:?}", started.elapsed());
    let mut status = served().await;
    for _ in 0..40 {
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        status = served().await;
    }
    assert_eq!(status, StatusCode::OK, "the slot is free again");
}

#[tokio::test]
async fn a_standalone_body_trickled_after_its_headers_is_cut_at_the_header_timeout_and_frees_its_slot() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let http = HttpLimits { max_in_flight: 1, header_timeout: Duration::from_millis(700), ..HttpLimits::default() };
    let harness = StandaloneHarness::start_with_http(actors.path(), data.path(), Limits::default(), http).await;
    let addr: std::net::SocketAddr = harness.client.base_url().strip_prefix("http://").unwrap().parse().unwrap();
    let invoke = format!("/api/v1/system/{SYSTEM}/actors/counter/invoke");
    let stalled = stall_a_body(addr, &invoke).await;
    let client = harness.client.clone();
    stalled_body_frees_its_slot(stalled, || {
        let client = client.clone();
        async move {
            let request =
                client.request("counter", "increment", Some(pack(&Increment { by: 1 })), CallOptions::default());
            let path = format!("/api/v1/system/{SYSTEM}/actors/counter/invoke");
            client.post(&path, prost::Message::encode_to_vec(&request)).await.0
        }
    })
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn a_sidecar_body_trickled_after_its_headers_is_cut_at_the_header_timeout_and_frees_its_slot() {
    let http = HttpLimits { max_in_flight: 1, header_timeout: Duration::from_millis(700), ..HttpLimits::default() };
    // No wait queue above the one slot: a request meanwhile is refused at once, not queued.
    let harness = Harness::start_configured(actors_dir(&["counter"]), |config| {
        config.http = http;
        config.max_queued = 0;
    })
    .await;
    let stalled = stall_a_body(harness.host.local_addr(), "/api/v1/actors/actions").await;
    let client = harness.client.clone();
    stalled_body_frees_its_slot(stalled, || {
        let client = client.clone();
        async move {
            let invocation = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
            client.send(&invocation).await.0
        }
    })
    .await;
}
