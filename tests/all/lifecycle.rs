//! Sidecar mode over the stock proxy's lifecycle, not one call at a time: registration
//! refreshes, actors the proxy holds with an older definition, timers, bursts of asynchronous
//! traffic, shutdown. Against the test proxy (`spawn_wasm_tests::stock`), which warms up on
//! every registration, keeps each active actor's definition, fires timers as the proxy's
//! scheduler does, and drops failed casts.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Reply, Request};
use prost::Message;
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::protocol::spawn::actors;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

fn request(text: &str) -> Request {
    Request { language: text.into() }
}

fn calls_to(log: &ProxyLog, actor: &str, action: &str) -> usize {
    log.host_calls.iter().filter(|(a, b)| (a.as_str(), b.as_str()) == (actor, action)).count()
}

#[tokio::test]
async fn the_registration_is_sent_again_only_when_the_proxy_comes_back() {
    let health_every = Duration::from_millis(100);
    let harness = Harness::start_with_refresh(
        actors_dir(&["joe", "counter"]),
        Limits::default(),
        HttpLimits::default(),
        health_every,
    )
    .await;
    harness.client.wait_ready().await;
    let proxy = &harness.proxy;
    assert!(proxy.memory("joe").await.is_some(), "the registration's warm-up activated joe");

    // Every registration re-runs the warm-up: a periodic one would reactivate joe.
    proxy.deactivate("joe").await;
    let activations = proxy.log().activations.len();
    tokio::time::sleep(health_every * 12).await;
    let log = proxy.log();
    assert_eq!(log.registrations.len(), 1, "no registration while the proxy is healthy");
    assert_eq!(log.activations.len(), activations, "{:?}", log.activations);
    assert!(proxy.memory("joe").await.is_none(), "a deactivated actor stays deactivated");

    // Gone (seen by the health poll) and back: registered again, and warmed up again.
    proxy.stop().await;
    eventually(Duration::from_secs(10), "readiness turns down while the proxy is gone", || async {
        harness.client.readiness().await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    proxy.start_again().await;
    proxy.wait_for_registrations(2).await;
    harness.client.wait_ready().await;
    eventually(Duration::from_secs(5), "the new registration warmed joe up", || async {
        proxy.memory("joe").await.is_some()
    })
    .await;
}

#[tokio::test]
async fn a_failed_call_to_the_proxy_makes_the_host_check_it_and_register_again() {
    // No health polling: only the failed call tells the host that the proxy went away.
    let harness = Harness::start(&["caller", "joe"]).await;
    harness.client.wait_ready().await;
    harness.proxy.stop().await;
    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    assert_eq!(harness.client.invoke_failing(&call).await, StatusCode::INTERNAL_SERVER_ERROR);
    eventually(Duration::from_secs(10), "readiness turns down", || async {
        harness.client.readiness().await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    harness.proxy.start_again().await;
    harness.proxy.wait_for_registrations(2).await;
    harness.client.wait_ready().await;
}

/// The proxy holds `clock` with a definition the host no longer serves, as after a reload: one
/// more timer action (`chime`), and, the definition being different, a second schedule of
/// `tick` next to the first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticks_of_held_definitions_are_no_ops_and_a_second_schedule_is_dropped() {
    let harness = Harness::start(&["clock"]).await;
    let proxy = &harness.proxy;
    let client = proxy.client();
    proxy.fire_timers(true);
    // Activated with the host's definition: the first schedule of `tick`.
    proxy.deactivate("clock").await;
    let _ = client.state::<Counter>("clock").await;

    let mut registration = proxy.log().registrations[0].clone();
    let registered = &mut registration.actor_system.as_mut().unwrap().registry.as_mut().unwrap().actors;
    registered
        .get_mut("clock")
        .unwrap()
        .timer_actions
        .push(actors::FixedTimerAction { seconds: 100, action: Some(actors::Action { name: "chime".into() }) });
    assert_eq!(client.post("/api/v1/system", registration.encode_to_vec()).await.0, StatusCode::OK);
    // The running process keeps the definition it was activated with until it deactivates.
    let (status, _, message) = client.fail(&client.request("clock", "chime", None, CallOptions::default())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("Action [chime] not found"), "{message}");
    proxy.deactivate("clock").await;
    let started = Instant::now();
    let before = client.state::<Counter>("clock").await.value;

    tokio::time::sleep(Duration::from_millis(2000)).await;
    proxy.fire_timers(false);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let elapsed = started.elapsed();
    let log = proxy.log();
    let ticks = client.state::<Counter>("clock").await.value - before;
    let runs_at_most = (elapsed.as_millis() / 180) as i64 + 1;
    assert!(calls_to(&log, "clock", "tick") >= 14, "two schedules posted ticks: {}", calls_to(&log, "clock", "tick"));
    assert!(ticks <= runs_at_most, "{ticks} ticks ran in {elapsed:?}: the second schedule was not dropped");
    assert!(ticks >= 5, "only {ticks} ticks ran in {elapsed:?}");
    assert!(calls_to(&log, "clock", "chime") >= 10, "the proxy kept ticking the dropped timer");
    assert_eq!((log.dropped.clone(), log.crashes.clone()), (vec![], vec![]), "every tick answered as a success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_above_max_in_flight_waits_instead_of_being_refused() {
    let http = HttpLimits { max_in_flight: 4, ..HttpLimits::default() };
    let harness = Harness::start_with_http(actors_dir(&["hostile"]), Limits::default(), http).await;
    let started = Instant::now();
    let turns: Vec<_> = (0..20)
        .map(|_| {
            // One connection each, as the proxy's actor processes post concurrently.
            let client = HostClient::new(harness.host.local_addr());
            tokio::spawn(async move {
                client.send(&InvocationBuilder::new("hostile", "sleep").payload(&request("700")).build()).await
            })
        })
        .collect();
    for turn in turns {
        let (status, body) = turn.await.unwrap();
        assert_eq!(status, StatusCode::OK, "a turn of the burst was refused");
        let response = spawn_wasm_host::protocol::spawn::ActorInvocationResponse::decode(body.as_slice()).unwrap();
        assert_eq!(reply::<Reply>(&response).response, "woke up");
    }
    assert!(started.elapsed() >= Duration::from_millis(3400), "at most 4 at once: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_queue_bound_a_turn_is_refused_with_an_empty_503() {
    let harness = Harness::start_configured(actors_dir(&["hostile"]), |config| {
        config.http.max_in_flight = 1;
        config.max_queued = 1;
    })
    .await;
    let turns: Vec<_> = (0..3)
        .map(|_| {
            let client = HostClient::new(harness.host.local_addr());
            tokio::spawn(async move {
                client.send(&InvocationBuilder::new("hostile", "sleep").payload(&request("500")).build()).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for turn in turns {
        let (status, body) = turn.await.unwrap();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(body.is_empty(), "an empty body, which a synchronous caller of the proxy retries");
        }
        statuses.push(status);
    }
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::OK, StatusCode::SERVICE_UNAVAILABLE]);
}

/// A rolling restart: both containers get SIGTERM at once. The proxy drains, refusing new
/// calls but posting the turns already in its actors' mailboxes: here a cast queued behind a
/// running turn, posted after the SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigterm_the_host_serves_the_proxy_for_the_drain_period() {
    let proxy = TestProxy::start().await;
    let actors = actors_dir(&["hostile"]);
    let binary = env!("CARGO_BIN_EXE_spawn-wasm-e2e");
    let mut host = HostProcess::sidecar(binary, actors.path(), &proxy, &[("SPAWN_WASM_DRAIN_MS", "1500")]).await;
    let client = proxy.client();
    let running = {
        let client = client.clone();
        tokio::spawn(async move { client.call::<_, Reply>("hostile", "sleep", &request("800")).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cast = CallOptions { asynchronous: true, ..CallOptions::default() };
    let (status, _) = client.send(&client.request("hostile", "env", Some(pack(&request(""))), cast)).await;
    assert_eq!(status, StatusCode::OK, "a cast is answered at once");

    let signalled = Instant::now();
    proxy.drain();
    host.signal_terminate();
    eventually(Duration::from_secs(1), "readiness turns down at once", || async {
        host.client.try_get_status("/health/readiness").await == Some(StatusCode::SERVICE_UNAVAILABLE)
    })
    .await;
    let (status, _, message) = client.fail(&client.request("hostile", "env", None, CallOptions::default())).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("shutting down"), "{message}");
    assert_eq!(running.await.unwrap().response, "woke up");
    eventually(Duration::from_secs(5), "the queued cast reached the host", || async {
        proxy.log().host_calls.iter().any(|(actor, action)| (actor.as_str(), action.as_str()) == ("hostile", "env"))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.log().dropped, Vec::<String>::new(), "the cast posted during the drain was served");
    let status = tokio::task::block_in_place(|| host.wait());
    assert!(status.success(), "{status:?}\n{}", host.log());
    assert!(signalled.elapsed() >= Duration::from_millis(1400), "it stopped after {:?}", signalled.elapsed());
}

#[tokio::test]
async fn a_call_timeout_above_the_proxys_http_timeout_is_refused_at_start() {
    let actors = actors_dir(&["counter"]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_spawn-wasm-e2e"))
        .args(["sidecar", "--no-cache", "--port", "0", "--actors"])
        .arg(actors.path())
        .args(["--call-timeout-ms", "60001"])
        .output()
        .unwrap();
    spawn_wasm_tests::assert_refused(&output, &["above the Spawn proxy's HTTP timeout of 60000 ms"]);
}

#[tokio::test]
async fn the_system_name_falls_back_to_release_name_as_the_operator_sets_it() {
    let proxy = TestProxy::start().await;
    let actors = actors_dir(&["counter"]);
    let binary = env!("CARGO_BIN_EXE_spawn-wasm-e2e");
    let _host = HostProcess::sidecar(binary, actors.path(), &proxy, &[("RELEASE_NAME", "shop")]).await;
    assert_eq!(proxy.log().registrations[0].actor_system.as_ref().unwrap().name, "shop");
}
