//! Standalone mode end to end: the embedded runtime serving the real example components
//! through the proxy's client API over real HTTP, with the real SQLite store.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use prost::Message;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_tests::*;

fn request(language: &str) -> Request {
    Request { language: language.into() }
}

async fn start(components: &[&str]) -> (StandaloneHarness, tempfile::TempDir, tempfile::TempDir) {
    let actors = actors_dir(components);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    (harness, actors, data)
}

async fn joe_knows(client: &ClientApi, language: &str) -> bool {
    client.state::<JoeState>("joe").await.languages.iter().any(|known| known == language)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_increments_end_at_exactly_five_hundred() {
    let (harness, _actors, _data) = start(&["counter"]).await;
    let mut calls = Vec::new();
    for _ in 0..500 {
        let client = harness.client.clone();
        calls.push(tokio::spawn(async move {
            client.call::<_, Counter>("counter", "increment", &Increment { by: 1 }).await.value
        }));
    }
    let mut replies = Vec::new();
    for call in calls {
        replies.push(call.await.unwrap());
    }
    replies.sort_unstable();
    assert_eq!(replies, (1..=500).collect::<Vec<_>>(), "each turn saw the previous one: no lost update");
    assert_eq!(harness.client.state::<Counter>("counter").await, Counter { value: 500 });
    harness.stop().await;
}

#[tokio::test]
async fn errors_are_prompt_and_say_what_happened() {
    let (harness, _actors, _data) = start(&["counter", "hostile", "joe"]).await;
    let client = &harness.client;

    let started = Instant::now();
    let (http, status, message) =
        client.fail(&client.request("nobody", "increment", None, CallOptions::default())).await;
    assert_eq!((http, status), (StatusCode::NOT_FOUND, pb::Status::ActorNotFound as i32));
    assert_eq!(message, "Actor nobody not found on ActorSystem spawn-system");
    assert!(started.elapsed() < Duration::from_secs(2), "no retry loop");

    let (http, status, message) =
        client.fail(&client.request("counter", "decrement", None, CallOptions::default())).await;
    assert_eq!((http, status), (StatusCode::NOT_FOUND, pb::Status::Error as i32));
    assert_eq!(message, "Action [decrement] not found for Actor [counter]");

    let (http, status, message) = client.fail(&client.request("hostile", "panic", None, CallOptions::default())).await;
    assert_eq!((http, status), (StatusCode::INTERNAL_SERVER_ERROR, pb::Status::Error as i32));
    assert!(message.contains("hostile.panic failed") && message.contains("trapped"), "{message}");

    let wrong_payload = Some(pack(&request("not an Increment")));
    let (http, _, message) =
        client.fail(&client.request("counter", "increment", wrong_payload, CallOptions::default())).await;
    assert_eq!(http, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("expected domain.Increment"), "{message}");

    let other = client.clone().in_system("another-system");
    let (http, _, message) = other.fail(&other.request("counter", "increment", None, CallOptions::default())).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert!(message.contains("unknown actor system `another-system`"), "{message}");

    let (http, body) =
        client.post("/api/v1/system/spawn-system/actors/counter/invoke", b"\xff\xff garbage".to_vec()).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    let response = pb::InvocationResponse::decode(body.as_slice()).unwrap();
    assert!(response.status.unwrap().message.contains("not a spawn.InvocationRequest"));

    let (http, _, message) =
        client.fail(&client.request("abs_actor", "setLanguage", None, CallOptions::default())).await;
    assert_eq!(http, StatusCode::BAD_REQUEST);
    assert!(message.contains("unnamed actor"), "{message}");

    // A failed turn changes nothing, and everything keeps being served.
    assert_eq!(client.call::<_, Counter>("counter", "increment", &Increment { by: 2 }).await, Counter { value: 2 });
    harness.stop().await;
}

#[tokio::test]
async fn forward_and_pipe_answer_with_the_target_reply() {
    let (harness, _actors, _data) = start(&["router", "joe"]).await;
    let client = &harness.client;

    let forwarded: Reply = client.call("router", "forwardLanguage", &request("rust")).await;
    assert!(forwarded.response.split(',').any(|language| language == "rust"), "{forwarded:?}");
    assert!(joe_knows(client, "rust").await);

    let piped: Reply = client.call("router", "pipeLanguage", &request("go")).await;
    assert!(piped.response.split(',').any(|language| language == "GO"), "joe got the upper-cased reply: {piped:?}");
    assert!(joe_knows(client, "GO").await);
    harness.stop().await;
}

#[tokio::test]
async fn broadcasts_and_side_effects_reach_their_targets() {
    let (harness, _actors, _data) = start(&["router", "joe"]).await;
    let client = &harness.client;

    let reply =
        client.call_with("router", "broadcastLanguage", Some(pack(&request("elixir"))), CallOptions::default()).await;
    assert!(reply.is_none(), "broadcastLanguage replies nothing");
    eventually(Duration::from_secs(5), "joe received the broadcast", || joe_knows(client, "elixir")).await;

    let ok: Reply = client.call("router", "effectLanguage", &request("zig")).await;
    assert_eq!(ok.response, "ok");
    eventually(Duration::from_secs(5), "the side effect ran", || joe_knows(client, "zig")).await;
    harness.stop().await;
}

#[tokio::test]
async fn unnamed_actors_by_spawn_and_by_register_ref() {
    let (harness, _actors, _data) = start(&["joe"]).await;
    let client = &harness.client;

    let (status, response) = client.spawn("abs-1", "abs_actor").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(response.status.unwrap().status, pb::Status::Ok as i32);
    let reply: Reply = client.call("abs-1", "setLanguage", &request("ada")).await;
    assert_eq!(reply.response, "ada");
    assert_eq!(client.state::<JoeState>("abs-1").await.languages, ["ada"]);

    let options = CallOptions { register_ref: "abs_actor".into(), ..CallOptions::default() };
    let reply = client.call_with("abs-2", "setLanguage", Some(pack(&request("cobol"))), options.clone()).await;
    assert_eq!(unpack::<Reply>(&reply.unwrap()).response, "cobol");
    let reply = client.call_with("abs-2", "setLanguage", Some(pack(&request("fortran"))), options).await;
    assert_eq!(unpack::<Reply>(&reply.unwrap()).response, "cobol,fortran", "register_ref is idempotent");
    assert_eq!(client.state::<JoeState>("abs-1").await.languages, ["ada"], "instances have their own state");

    let (status, _, _) = client.fail(&client.request("abs-3", "setLanguage", None, CallOptions::default())).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "an instance must be spawned first");
    let (status, response) = client.spawn("abs-4", "joe").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(response.status.unwrap().message.contains("not an unnamed actor"));
    harness.stop().await;
}

#[tokio::test]
async fn timers_fire_every_period_while_the_runtime_runs() {
    let (harness, _actors, _data) = start(&["clock", "joe"]).await;
    let client = &harness.client;
    eventually(Duration::from_secs(5), "clock ticked three times", || async {
        client.state::<Counter>("clock").await.value >= 3
    })
    .await;
    eventually(Duration::from_secs(5), "joe's hi timer seeded its state", || joe_knows(client, "python")).await;
    harness.stop().await;
}

#[tokio::test]
async fn scheduled_and_async_invocations_run_later() {
    let (harness, _actors, _data) = start(&["counter"]).await;
    let client = &harness.client;
    let increment = Some(pack(&Increment { by: 10 }));
    let scheduled = CallOptions { scheduled_to: unix_ms() + 400, ..CallOptions::default() };
    let started = Instant::now();
    assert!(client.call_with("counter", "increment", increment.clone(), scheduled).await.is_none());
    assert!(started.elapsed() < Duration::from_millis(300), "a scheduled call answers at once");
    assert_eq!(client.state::<Counter>("counter").await.value, 0, "not yet");
    eventually(Duration::from_secs(5), "the scheduled increment ran", || async {
        client.state::<Counter>("counter").await.value == 10
    })
    .await;
    assert!(started.elapsed() >= Duration::from_millis(400), "not before its time");

    let asynchronous = CallOptions { asynchronous: true, ..CallOptions::default() };
    assert!(client.call_with("counter", "increment", increment, asynchronous).await.is_none());
    eventually(Duration::from_secs(5), "the async increment ran", || async {
        client.state::<Counter>("counter").await.value == 20
    })
    .await;
    harness.stop().await;
}

#[tokio::test]
async fn guest_invoke_and_spawn_route_in_process() {
    let (harness, _actors, _data) = start(&["caller", "joe"]).await;
    let client = &harness.client;
    let reply: Reply = client.call("caller", "callJoe", &request("haskell")).await;
    assert!(reply.response.split(',').any(|language| language == "haskell"), "{reply:?}");
    let spawned: Reply = client.call("caller", "spawnAbs", &request("prolog")).await;
    assert_eq!(spawned.response, "prolog");
    assert_eq!(client.state::<JoeState>("prolog").await.languages, ["prolog"]);
    let sent: Reply = client.call("caller", "castJoe", &request("scheme")).await;
    assert_eq!(sent.response, "sent");
    eventually(Duration::from_secs(5), "the cast reached joe", || joe_knows(client, "scheme")).await;
    harness.stop().await;
}

#[tokio::test]
async fn state_survives_a_graceful_restart() {
    let actors = actors_dir(&["counter", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    for _ in 0..7 {
        let _: Counter = harness.client.call("counter", "increment", &Increment { by: 1 }).await;
    }
    let (status, _) = harness.client.spawn("abs-9", "abs_actor").await;
    assert_eq!(status, StatusCode::OK);
    let _: Reply = harness.client.call("abs-9", "setLanguage", &request("pascal")).await;
    harness.stop().await;

    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    assert_eq!(harness.client.state::<Counter>("counter").await, Counter { value: 7 });
    assert_eq!(harness.client.state::<JoeState>("abs-9").await.languages, ["pascal"], "spawned instances persist too");
    harness.stop().await;
}

#[tokio::test]
async fn a_runtime_holds_its_data_directory_until_it_stops() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let first = StandaloneHarness::start(actors.path(), data.path()).await;
    let config = spawn_wasm_host::runtime::RuntimeConfig {
        actors_dir: actors.path().to_owned(),
        data_dir: data.path().to_owned(),
        cache_dir: Some(code_cache()),
        listen: "127.0.0.1:0".parse().unwrap(),
        system: SYSTEM.into(),
        limits: Default::default(),
        fsync: false,
        store_keys: Default::default(),
        state_history: 4,
        watch: false,
        http: Default::default(),
        routing: Default::default(),
        token: None,
        allowed_hosts: Vec::new(),
    };
    let Err(error) = spawn_wasm_host::runtime::Standalone::start(config).await else {
        panic!("a second runtime on the same data directory started")
    };
    let error = format!("{error:#}");
    assert!(error.contains(&format!("in use by another spawn-wasm (pid {})", std::process::id())), "{error}");
    let _: Counter = first.client.call("counter", "increment", &Increment { by: 1 }).await;
    first.stop().await;
    // Stopped, it lets the next one in.
    let second = StandaloneHarness::start(actors.path(), data.path()).await;
    assert_eq!(second.client.state::<Counter>("counter").await, Counter { value: 1 });
    second.stop().await;
}

#[tokio::test]
async fn health_routes_answer() {
    let (harness, _actors, _data) = start(&["counter"]).await;
    assert_eq!(harness.client.get_status("/health/liveness").await, StatusCode::OK);
    assert_eq!(harness.client.get_status("/health/readiness").await, StatusCode::OK);
    harness.stop().await;
}

#[tokio::test]
async fn an_idle_actor_deactivates_after_persisting_and_comes_back_on_demand() {
    use spawn_wasm_host::protocol::spawn::actors::ActorId;
    use spawn_wasm_host::runtime::store::{StateKey, StateStore};

    let (harness, _actors, data) = start(&["joe"]).await;
    let client = &harness.client;
    client.spawn("abs-idle", "abs_actor").await;
    let _: Reply = client.call("abs-idle", "setLanguage", &request("basic")).await;
    assert!(harness.runtime.is_active("abs-idle"));

    // abs_actor deactivates after 1 s idle; joe (10 s) stays.
    eventually(Duration::from_secs(5), "abs-idle deactivated", || async { !harness.runtime.is_active("abs-idle") })
        .await;
    assert!(harness.runtime.is_active("joe"));
    let id = ActorId { name: "abs-idle".into(), system: SYSTEM.into(), parent: "abs_actor".into() };
    let stored = StateStore::open(data.path(), false, 16).unwrap().load(StateKey::of(&id)).await.unwrap();
    let stored = stored.expect("deactivation persisted the write-behind state");
    assert_eq!(unpack::<JoeState>(&stored.state.unwrap()).languages, ["basic"]);
    assert_eq!(stored.revision, 1);

    let reply: Reply = client.call("abs-idle", "setLanguage", &request("logo")).await;
    assert_eq!(reply.response, "basic,logo", "reactivation loaded the stored state");
    harness.stop().await;
}

#[tokio::test]
async fn a_changed_state_is_snapshotted_while_the_actor_stays_active() {
    use spawn_wasm_host::protocol::spawn::actors::ActorId;
    use spawn_wasm_host::runtime::store::{StateKey, StateStore};

    let (harness, _actors, data) = start(&["counter"]).await;
    let client = &harness.client;
    client.spawn("c-snap", "counters").await;
    let id = ActorId { name: "c-snap".into(), system: SYSTEM.into(), parent: "counters".into() };
    let store = StateStore::open(data.path(), false, 16).unwrap();
    let stored_value = || async {
        let stored = store.load(StateKey::of(&id)).await.unwrap();
        stored.and_then(|stored| stored.state).map(|state| unpack::<Counter>(&state).value)
    };

    // Busy for longer than the snapshot period (2 s): the state is saved meanwhile, not only
    // once the actor rests.
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < Duration::from_millis(3_500) {
        last = client.call::<_, Counter>("c-snap", "increment", &Increment { by: 1 }).await.value;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let during = stored_value().await;
    assert!(during.is_some_and(|value| value > 0 && value <= last), "no snapshot while busy: {during:?}");

    // At rest, the last change is saved a snapshot period later, well before the 60 s
    // deactivation timeout of `counters`.
    eventually(Duration::from_secs(5), "the last value snapshotted", || async { stored_value().await == Some(last) })
        .await;
    assert!(harness.runtime.is_active("c-snap"), "snapshots must not deactivate the actor");
    harness.stop().await;
}

#[tokio::test]
async fn init_runs_on_activation_and_keeps_a_stored_state() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    client.spawn("c-init", "counters").await;
    // Never incremented: only `init`, run on activation, can have given it a state.
    let state = client.call_with("c-init", "get", None, CallOptions::default()).await;
    let state = state.expect("init gave the new instance a state");
    assert_eq!(unpack::<Counter>(&state), Counter { value: 0 });
    for _ in 0..3 {
        let _: Counter = client.call("c-init", "increment", &Increment { by: 1 }).await;
    }
    harness.stop().await;

    // Activated again from the stored state: init runs and keeps it.
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    assert_eq!(harness.client.state::<Counter>("c-init").await, Counter { value: 3 });
    harness.stop().await;
}

/// The compiled-code cache is the user's, not the data directory's: a host started on a new
/// data directory loads from it what an earlier host compiled.
#[tokio::test]
async fn a_new_data_directory_starts_from_the_users_code_cache() {
    const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");
    let actors = actors_dir(&["counter"]);
    let cache = tempfile::tempdir().unwrap();
    let cache_env = [("SPAWN_WASM_CACHE_DIR", cache.path().to_str().unwrap())];
    let loaded = |log: String| {
        log.lines().find(|line| line.contains("component loaded")).map(str::to_owned).expect("a load line")
    };

    let first_data = tempfile::tempdir().unwrap();
    let first = HostProcess::standalone(SPAWN_WASM, actors.path(), first_data.path(), &cache_env).await;
    assert!(loaded(first.log()).contains("cached=false"), "compiled the first time");
    drop(first);
    assert!(
        std::fs::read_dir(cache.path())
            .unwrap()
            .any(|entry| entry.unwrap().path().extension() == Some("cwasm".as_ref())),
        "the compiled code is in the user's cache"
    );
    assert!(!first_data.path().join("code-cache").exists(), "not in the data directory");

    let second_data = tempfile::tempdir().unwrap();
    let second = HostProcess::standalone(SPAWN_WASM, actors.path(), second_data.path(), &cache_env).await;
    assert!(loaded(second.log()).contains("cached=true"), "a new data directory loads the cached code");
}
