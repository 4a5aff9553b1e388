//! Standalone keeps its promises under ordinary conditions: a message answered 200 runs, a
//! scheduled call survives a restart, a shutdown that could not store a state says so, and
//! nothing a client or the console does hangs the process. Each test here failed before the
//! fix it covers.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use spawn_wasm_host::runtime::RoutingLimits;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

fn by(by: i64) -> Option<prost_types::Any> {
    Some(pack(&Increment { by }))
}

fn cast() -> CallOptions {
    CallOptions { asynchronous: true, ..CallOptions::default() }
}

fn at(unix_ms: i64) -> CallOptions {
    CallOptions { scheduled_to: unix_ms, ..CallOptions::default() }
}

async fn counter_value(client: &ClientApi) -> i64 {
    client.state::<Counter>("counter").await.value
}

/// Two consoles polling `/v1/actors` while six clients invoke new instances with
/// `register_ref`: the poll locked the spawned instances then the active actors, an
/// activation the other way round, and within seconds every call hung, liveness included.
/// The runtime under test runs on a runtime of its own (four workers, as a busy host has),
/// so that a deadlock there fails this test's bounded calls instead of hanging the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_polls_never_deadlock_with_activations_of_new_instances() {
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let (actors_path, data_path) = (actors.path().to_owned(), data.path().to_owned());
    let (address, serving) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let host = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
        runtime.block_on(async move {
            let harness = StandaloneHarness::start(&actors_path, &data_path).await;
            address.send(harness.client.base_url().to_owned()).unwrap();
            let _ = stopped.await;
            harness.stop().await;
        });
    });
    let base = tokio::task::spawn_blocking(move || serving.recv_timeout(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("the runtime under test started");
    let stop_at = Instant::now() + Duration::from_secs(8);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut polls = 0;
            while Instant::now() < stop_at {
                let answered = http.get(format!("{base}/v1/actors")).send().await;
                assert!(answered.is_ok_and(|response| response.status().is_success()), "a console poll hung or failed");
                polls += 1;
            }
            polls
        }));
    }
    for client in 0..6 {
        let (http, base) = (http.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut calls = 0;
            while Instant::now() < stop_at {
                let options = CallOptions { register_ref: "abs_actor".into(), ..CallOptions::default() };
                let name = format!("abs-{client}-{calls}");
                let api = ClientApi::new(base.trim_start_matches("http://").parse().unwrap());
                let request =
                    api.request(&name, "setLanguage", Some(pack(&Request { language: "rust".into() })), options);
                let url = format!("{base}/api/v1/system/spawn-system/actors/{name}/invoke");
                let answered = http.post(url).body(prost::Message::encode_to_vec(&request)).send().await;
                assert!(answered.is_ok_and(|response| response.status().is_success()), "an invocation hung or failed");
                calls += 1;
            }
            calls
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += tokio::time::timeout(Duration::from_secs(30), task).await.expect("every client finished").unwrap();
    }
    assert!(total > 12, "each client made progress ({total} calls and polls)");
    let live = http.get(format!("{base}/health/liveness")).send().await.expect("liveness answers");
    assert_eq!(live.status(), 200);
    stop.send(()).unwrap();
    tokio::task::spawn_blocking(move || host.join()).await.unwrap().expect("the runtime under test stopped");
}

/// An async message answered 200 runs, however long it waited in the mailbox: its turn's
/// deadline starts when the turn does.
#[tokio::test]
async fn async_messages_queued_past_the_call_timeout_still_run() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let limits = Limits { call_timeout: Duration::from_millis(1000), ..Limits::default() };
    let harness = StandaloneHarness::start_with(actors.path(), data.path(), limits).await;
    let client = &harness.client;
    for _ in 0..3 {
        client.call_with("counter", "pause", by(700), cast()).await;
    }
    for _ in 0..5 {
        client.call_with("counter", "increment", by(1), cast()).await;
    }
    // 2.1 s of pauses ahead of the increments, twice the call timeout (a read queued behind
    // them times out meanwhile: it has a caller who waits).
    let get = client.request("counter", "get", None, CallOptions::default());
    eventually(Duration::from_secs(10), "the five increments ran", || async {
        client.try_send(&get).await.is_some_and(|any| unpack::<Counter>(&any).value == 5)
    })
    .await;
    harness.stop().await;
}

/// A call scheduled for later is kept in the store: it runs after a graceful restart, after
/// `kill -9`, and at once if it fell due while the host was down.
#[tokio::test]
async fn scheduled_calls_survive_restarts_and_late_ones_run_at_once() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let mut host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let soon = unix_ms() + 2_500;
    host.client.call_with("counter", "increment", by(1), at(soon)).await;
    host.client.call_with("counter", "increment", by(10), at(soon + 60_000)).await;
    assert!(host.terminate().success());

    // Graceful restart before the first is due: it runs when due.
    let mut host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    assert_eq!(counter_value(&host.client).await, 0, "not due yet");
    eventually(Duration::from_secs(8), "the scheduled call ran after a restart", || async {
        counter_value(&host.client).await == 1
    })
    .await;
    host.client.call_with("counter", "increment", by(100), at(unix_ms() + 1_500)).await;
    host.kill();

    // After kill -9, and due while the host was down: at once.
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let started = Instant::now();
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    // 100 on top of the 1 before, if that write-behind state was snapshotted before the kill.
    while counter_value(&host.client).await < 100 {
        assert!(Instant::now() < deadline, "the late scheduled call ran at start; the host's log:\n{}", host.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    let log = host.log();
    assert!(log.contains("scheduled"), "the start says how many scheduled calls wait:\n{log}");
}

/// Scheduled calls are bounded per actor and in all; past the bound the call is refused
/// with a reason and nothing is kept.
#[tokio::test]
async fn scheduled_calls_past_their_bound_are_refused() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let routing = RoutingLimits { max_scheduled_per_actor: 2, ..RoutingLimits::default() };
    let harness = StandaloneHarness::start_with_routing(actors.path(), data.path(), Limits::default(), routing).await;
    let client = &harness.client;
    let later = unix_ms() + 600_000;
    client.call_with("counter", "increment", by(1), at(later)).await;
    client.call_with("counter", "increment", by(1), at(later)).await;
    let (status, _, message) = client.fail(&client.request("counter", "increment", by(1), at(later))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(message.contains("2 scheduled calls") && message.contains("--max-scheduled-per-actor"), "{message}");
    harness.stop().await;
}

/// A shutdown whose final save fails (another process holds the database's write lock)
/// retries, then exits non-zero naming the actor whose state was not stored.
#[tokio::test]
async fn a_shutdown_that_cannot_store_a_state_exits_non_zero_naming_the_actor() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let host = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    host.client.call_with("counter", "increment", by(7), CallOptions::default()).await;
    let db = rusqlite::Connection::open(data.path().join("state.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    let status = tokio::task::spawn_blocking(move || host.terminate_and_log()).await.unwrap();
    db.execute_batch("ROLLBACK").unwrap();
    let (status, log) = status;
    assert!(!status.success(), "a lost state is a failed shutdown:\n{log}");
    assert!(log.contains("counter") && log.contains("not stored"), "the log names the actor:\n{log}");
}

/// A invokes B synchronously and B forwards back to A: A's turn is waiting, so the forward
/// could only run after the deadline. Refused at once, naming the chain.
#[tokio::test]
async fn a_forward_back_to_a_waiting_actor_is_refused_at_once() {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let limits = Limits { call_timeout: Duration::from_secs(5), ..Limits::default() };
    let harness = StandaloneHarness::start_with(actors.path(), data.path(), limits).await;
    let client = &harness.client;
    for plan in ["itwin,fhostile", "itwin,phostile"] {
        let started = Instant::now();
        let payload = Some(pack(&Request { language: plan.into() }));
        let (status, _, message) =
            client.fail(&client.request("hostile", "plan", payload, CallOptions::default())).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{plan}: refused at once, not at the deadline");
        assert!(message.contains("hostile"), "{plan}: {message}");
        assert!(message.contains("→"), "{plan}: the message names the chain: {message}");
        assert!(
            status == StatusCode::LOOP_DETECTED || status == StatusCode::INTERNAL_SERVER_ERROR,
            "{plan}: {status} {message}"
        );
    }
    let reply: Reply = client.call("hostile", "plan", &Request { language: "ptwin".into() }).await;
    assert_eq!(reply.response, "done", "routing to an actor that is not waiting still works");
    harness.stop().await;
}

/// An inactive instance's channel subscription survives a moment without its module (the
/// file deleted, then written again): the registry is rebuilt into subscriptions after
/// every swap, for every instance that had them.
#[tokio::test]
async fn an_inactive_subscriber_hears_broadcasts_after_its_module_comes_back() {
    let actors = actors_dir(&["joe", "router"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let options = CallOptions { register_ref: "abs_actor".into(), ..CallOptions::default() };
    client.call_with("listener", "setLanguage", Some(pack(&Request { language: "c".into() })), options).await;
    eventually(Duration::from_secs(5), "the instance deactivated", || async { !harness.runtime.is_active("listener") })
        .await;

    let joe = actors.path().join("joe.wasm");
    let bytes = std::fs::read(&joe).unwrap();
    std::fs::remove_file(&joe).unwrap();
    eventually(Duration::from_secs(10), "joe's module was removed", || async {
        harness.runtime.modules().registry().get("abs_actor").is_none()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&joe, bytes).unwrap();
    eventually(Duration::from_secs(10), "joe's module is back", || async {
        harness.runtime.modules().registry().get("abs_actor").is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let zig = Some(pack(&Request { language: "zig".into() }));
    client.call_with("router", "broadcastLanguage", zig, CallOptions::default()).await;
    eventually(Duration::from_secs(5), "the inactive instance heard the broadcast", || async {
        client.state::<JoeState>("listener").await.languages.iter().any(|language| language == "zig")
    })
    .await;
    harness.stop().await;
}

/// Reading the state of an actor whose activation fails (a corrupt stored record) answers
/// the store's error, not "shutting down".
#[tokio::test]
async fn a_state_read_whose_activation_fails_answers_the_store_error() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    harness.client.call_with("counter", "increment", by(1), CallOptions::default()).await;
    harness.stop().await;
    let db = rusqlite::Connection::open(data.path().join("state.db")).unwrap();
    assert_eq!(db.execute("UPDATE actor_state SET state = x'ffffffff' WHERE name = 'counter'", []).unwrap(), 1);
    drop(db);

    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let (status, body) = harness.client.get_json("actors/counter/state").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert!(body.to_string().contains("corrupt"), "the store's error: {body}");
    harness.stop().await;
}

/// A turn the host discards after the guest ran it (here: more side effects than a turn may
/// ask for) leaves no trace in the guest either: its warm instance is dropped, so the next
/// turn does not meet globals that saw the discarded one.
#[tokio::test]
async fn a_discarded_turn_drops_the_warm_instance_that_ran_it() {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let routing = RoutingLimits { max_effects: 4, ..RoutingLimits::default() };
    let harness = StandaloneHarness::start_with_routing(actors.path(), data.path(), Limits::default(), routing).await;
    let client = &harness.client;
    let calls = |reply: Reply| reply.response;
    assert_eq!(calls(client.call("hostile", "instanceCalls", &Request::default()).await), "1");
    let flood = Some(pack(&Request { language: "10".into() }));
    let (status, _, message) =
        client.fail(&client.request("hostile", "effectFlood", flood, CallOptions::default())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{message}");
    assert_eq!(
        calls(client.call("hostile", "instanceCalls", &Request::default()).await),
        "1",
        "a fresh instance: the discarded turn left nothing behind"
    );
    harness.stop().await;
}

/// A turn whose request's deadline has passed by the time it would start is not started:
/// the caller is told its deadline passed (504), never "a call deadline of 0 ms" (500),
/// whatever the timing of the queue ahead of it.
#[tokio::test]
async fn a_turn_whose_deadline_passed_before_it_starts_is_not_started() {
    use spawn_wasm_host::protocol::convert::invocation_to_wit;
    use spawn_wasm_host::sidecar::ProxyClient;
    use spawn_wasm_host::wasm::chain::CallChain;
    use spawn_wasm_host::wasm::engine::ActorEngine;
    use spawn_wasm_host::wasm::executor::{Executor, InvokeError};
    use spawn_wasm_host::wasm::module::ActorModule;
    use std::sync::Arc;

    let engine = Arc::new(ActorEngine::new(Limits::default()).unwrap());
    let module = ActorModule::load(&engine, None, &examples_dir().join("hostile.wasm")).await.unwrap();
    let executor = Executor::new(engine);
    let dispatcher = Arc::new(ProxyClient::new("http://127.0.0.1:9").unwrap());
    let invocation = InvocationBuilder::new("hostile", "instanceCalls").payload(&Request::default()).build();
    let (invocation, _) = invocation_to_wit("hostile", invocation);
    let error = executor.run(&module, invocation, dispatcher, CallChain::new(Instant::now())).await.unwrap_err();
    assert!(matches!(error, InvokeError::NotStarted), "{error}");
}

/// A rename in the actors directory (a removal and a creation seen together) is one swap
/// of the registry: no call, and no follower of the module set, ever sees it without the
/// module's actors.
#[tokio::test]
async fn a_renamed_module_is_swapped_in_one_step() {
    let actors = actors_dir(&["joe", "router"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let modules = harness.runtime.modules().clone();
    let mut changes = modules.subscribe();
    let watcher = tokio::spawn(async move {
        let mut seen = Vec::new();
        while changes.changed().await.is_ok() {
            let registry = modules.registry();
            seen.push(registry.get("joe").is_some());
            if registry.modules().any(|module| module.path.ends_with("joe-renamed.wasm")) {
                break;
            }
        }
        seen
    });
    std::fs::rename(actors.path().join("joe.wasm"), actors.path().join("joe-renamed.wasm")).unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), watcher).await.expect("the rename was applied").unwrap();
    assert!(seen.iter().all(|has_joe| *has_joe), "a registry without joe was visible: {seen:?}");
    let reply: Reply = harness.client.call("joe", "setLanguage", &Request { language: "ada".into() }).await;
    assert!(reply.response.ends_with("ada"), "{}", reply.response);
    harness.stop().await;
}
