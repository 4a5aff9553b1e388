//! Sidecar mode end to end: a test proxy on loopback, the real `spawn-wasm` host serving
//! the real example components, real protobuf bytes in both directions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use prost::{Message, Name};
use spawn_wasm_host::protocol::spawn::{self as pb, actors};
use spawn_wasm_tests::*;

fn request(language: &str) -> Request {
    Request { language: language.into() }
}

fn timeout_ms(strategy: Option<&actors::actor_deactivation_strategy::Strategy>) -> i64 {
    match strategy {
        Some(actors::actor_deactivation_strategy::Strategy::Timeout(timeout)) => timeout.timeout,
        None => panic!("the deactivation strategy's oneof must be set"),
    }
}

#[tokio::test]
async fn registration_carries_everything_the_proxy_needs() {
    let harness = Harness::start(ALL_EXAMPLES).await;
    let log = harness.proxy.log();
    assert_eq!(log.registrations.len(), 1);
    let registration = &log.registrations[0];

    let info = registration.service_info.as_ref().expect("service_info is required by the proxy");
    assert_eq!(info.protocol_major_version, 1);
    assert!(!info.service_name.is_empty());
    let system = registration.actor_system.as_ref().unwrap();
    assert_eq!(system.name, SYSTEM);
    let registered = &system.registry.as_ref().unwrap().actors;
    let mut names: Vec<_> = registered.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["abs_actor", "caller", "clock", "counter", "counters", "hostile", "joe", "router", "ticker", "twin"]
    );

    for (name, actor) in registered {
        let id = actor.id.as_ref().unwrap();
        assert_eq!((id.name.as_str(), id.system.as_str(), id.parent.as_str()), (name.as_str(), SYSTEM, ""));
        assert!(actor.state.is_some(), "{name}: ActorState{{}} must be present");
        assert!(actor.metadata.is_some(), "{name}: Metadata{{}} must be present");
        let settings = actor.settings.as_ref().unwrap();
        let deactivation = settings.deactivation_strategy.as_ref().expect("deactivation strategy");
        assert!(timeout_ms(deactivation.strategy.as_ref()) > 0, "{name}: deactivation timeout must be > 0");
        if settings.stateful {
            let snapshot = settings.snapshot_strategy.as_ref().expect("a stateful actor needs a snapshot strategy");
            let Some(actors::actor_snapshot_strategy::Strategy::Timeout(timeout)) = &snapshot.strategy else {
                panic!("{name}: snapshot strategy oneof unset");
            };
            assert!(timeout.timeout > 0);
        }
    }

    let joe = &registered["joe"];
    let settings = joe.settings.as_ref().unwrap();
    assert_eq!((settings.kind, settings.stateful), (actors::Kind::Named as i32, true));
    assert_eq!(settings.state_type, "", "the proxy crashes activating a state type it does not have");
    let actions: Vec<_> = joe.actions.iter().map(|action| action.name.as_str()).collect();
    assert_eq!(actions, ["setLanguage", "saveLanguage"]);
    assert_eq!(joe.timer_actions.len(), 1);
    assert_eq!(joe.timer_actions[0].seconds, 1000, "timer periods travel in milliseconds");
    assert_eq!(joe.timer_actions[0].action.as_ref().unwrap().name, "hi");
    let channels = &joe.metadata.as_ref().unwrap().channel_group;
    assert_eq!(channels, &[actors::Channel { topic: "test".into(), action: "setLanguage".into() }]);

    let abs = registered["abs_actor"].settings.as_ref().unwrap();
    assert_eq!((abs.kind, abs.stateful), (actors::Kind::Unnamed as i32, true));
    let router = registered["router"].settings.as_ref().unwrap();
    assert_eq!((router.kind, router.stateful), (actors::Kind::Named as i32, false));
    assert!(router.snapshot_strategy.is_none());
    assert_eq!(registered["clock"].timer_actions[0].seconds, 200);
    assert_eq!(registered["router"].actions.len(), 4);
}

#[tokio::test]
async fn the_host_serves_before_it_registers() {
    let harness = Harness::start(&["counter"]).await;
    let (status, body) = harness.proxy.log().warmup.expect("the proxy called the host during registration");
    assert_eq!(status, StatusCode::OK);
    let response = pb::ActorInvocationResponse::decode(body.as_slice()).unwrap();
    assert_eq!(reply::<Counter>(&response), Counter { value: 0 });
    let log = harness.proxy.log();
    assert_eq!(
        log.readiness_during_registration,
        Some(StatusCode::SERVICE_UNAVAILABLE),
        "not ready before registration"
    );
    harness.client.wait_ready().await;
    assert!(harness.host.is_ready());
}

#[tokio::test]
async fn counter_increment_updates_state_and_replies() {
    let harness = Harness::start(&["counter"]).await;
    let invocation = InvocationBuilder::new("counter", "increment")
        .state(&Counter { value: 40 })
        .payload(&Increment { by: 2 })
        .tag("owner", "tests")
        .metadata("trace", "abc")
        .build();
    let response = harness.client.invoke(&invocation).await;

    assert_eq!(reply::<Counter>(&response), Counter { value: 42 });
    assert_eq!(new_state::<Counter>(&response), Counter { value: 42 });
    let context = response.updated_context.as_ref().unwrap();
    assert_eq!(context.state.as_ref().unwrap().type_url, "type.googleapis.com/domain.Counter");
    assert_eq!(context.tags, HashMap::from([("owner".to_string(), "tests".to_string())]), "tags are echoed");
    assert_eq!(response.actor_name, "counter");
    assert_eq!(response.actor_system, SYSTEM);
    assert!(response.workflow.is_none());
    assert!(!response.checkpoint);

    // No state yet: the counter starts from zero.
    let first = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 5 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&first).await), Counter { value: 5 });
}

#[tokio::test]
async fn joe_collects_languages_and_its_checkpoint_is_cleared() {
    let harness = Harness::start(&["joe"]).await;
    let state = JoeState { languages: vec!["erlang".into()] };
    let set = InvocationBuilder::new("joe", "setLanguage").state(&state).payload(&request("rust")).build();
    let response = harness.client.invoke(&set).await;
    assert_eq!(reply::<Reply>(&response).response, "erlang,rust");
    assert_eq!(new_state::<JoeState>(&response).languages, ["erlang", "rust"]);
    assert!(!response.checkpoint);

    let save = InvocationBuilder::new("joe", "saveLanguage").payload(&request("go")).build();
    let response = harness.client.invoke(&save).await;
    assert!(!response.checkpoint, "saveLanguage asks for a checkpoint, which the proxy does not support");
    assert_eq!(new_state::<JoeState>(&response).languages, ["go"]);
}

#[tokio::test]
async fn timers_get_a_noop_payload_and_may_reply_nothing() {
    let harness = Harness::start(&["joe", "clock"]).await;
    let hi = InvocationBuilder::new("joe", "hi").caller("joe").build();
    let response = harness.client.invoke(&hi).await;
    assert_eq!(new_state::<JoeState>(&response).languages, ["python"]);
    assert!(matches!(response.payload, Some(pb::actor_invocation_response::Payload::Noop(_))));

    let full = InvocationBuilder::new("joe", "hi").state(&JoeState { languages: vec!["c".into()] }).build();
    let response = harness.client.invoke(&full).await;
    let context = response.updated_context.expect("updated_context must always be present");
    assert!(context.state.is_none(), "a kept state is left unset");

    let tick = InvocationBuilder::new("clock", "tick").state(&Counter { value: 9 }).build();
    assert_eq!(new_state::<Counter>(&harness.client.invoke(&tick).await), Counter { value: 10 });
}

#[tokio::test]
async fn unnamed_instances_dispatch_on_their_parent() {
    let harness = Harness::start(&["joe"]).await;
    let invocation = InvocationBuilder::instance("abs-1", "abs_actor", "setLanguage").payload(&request("zig")).build();
    let response = harness.client.invoke(&invocation).await;
    assert_eq!(reply::<Reply>(&response).response, "zig");
    assert_eq!(response.actor_name, "abs-1");
    let context = response.updated_context.unwrap();
    assert_eq!(context.self_.unwrap().parent, "abs_actor");
}

#[tokio::test]
async fn router_emits_every_workflow_kind() {
    let harness = Harness::start(&["router", "joe"]).await;
    let call = |action: &str| InvocationBuilder::new("router", action).payload(&request("rust")).build();

    let forward = harness.client.invoke(&call("forwardLanguage")).await;
    let workflow = forward.workflow.expect("forward has a workflow");
    let Some(pb::workflow::Routing::Forward(target)) = workflow.routing else { panic!("expected a forward") };
    assert_eq!(
        (target.actor.as_str(), target.action_name.as_str(), target.register_ref.as_str()),
        ("joe", "setLanguage", "")
    );
    assert!(matches!(forward.payload, Some(pb::actor_invocation_response::Payload::Noop(_))));

    let pipe = harness.client.invoke(&call("pipeLanguage")).await;
    assert_eq!(reply::<Request>(&pipe).language, "RUST");
    let Some(pb::workflow::Routing::Pipe(target)) = pipe.workflow.unwrap().routing else { panic!("expected a pipe") };
    assert_eq!((target.actor.as_str(), target.action_name.as_str()), ("joe", "setLanguage"));

    let broadcast = harness.client.invoke(&call("broadcastLanguage")).await;
    let published = broadcast.workflow.unwrap().broadcast.expect("a broadcast");
    assert_eq!(published.channel_group, "test");
    let Some(pb::broadcast::Payload::Value(any)) = published.payload else { panic!("expected a value payload") };
    assert_eq!(unpack::<Request>(&any), request("rust"));
    assert!(matches!(broadcast.payload, Some(pb::actor_invocation_response::Payload::Noop(_))));

    let effect = harness.client.invoke(&call("effectLanguage")).await;
    assert_eq!(reply::<Reply>(&effect).response, "ok");
    let effects = effect.workflow.unwrap().effects;
    assert_eq!(effects.len(), 1);
    let request_sent = effects[0].request.as_ref().unwrap();
    assert_eq!(request_sent.system.as_ref().unwrap().name, SYSTEM);
    let target = request_sent.actor.as_ref().unwrap().id.as_ref().unwrap();
    assert_eq!((target.name.as_str(), target.system.as_str()), ("joe", SYSTEM));
    assert_eq!(request_sent.action_name, "setLanguage");
    assert!(request_sent.r#async, "side effects are asynchronous");
    assert_eq!(request_sent.caller.as_ref().unwrap().name, "router");
    let Some(pb::invocation_request::Payload::Value(any)) = &request_sent.payload else { panic!("expected a payload") };
    assert_eq!(unpack::<Request>(any), request("rust"));
}

#[tokio::test]
async fn guest_invoke_and_spawn_go_to_the_proxy() {
    let harness = Harness::start(&["caller", "joe"]).await;
    harness.proxy.answer_invocations(InvokeAnswer::Ok(Some(pack(&Reply { response: "from joe".into() }))));

    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    assert_eq!(reply::<Reply>(&harness.client.invoke(&call).await).response, "from joe");
    let log = harness.proxy.log();
    let (url_actor, sent) = &log.invocations[0];
    assert_eq!(url_actor, "joe");
    assert_eq!(sent.system.as_ref().unwrap().name, SYSTEM);
    assert_eq!(sent.actor.as_ref().unwrap().id.as_ref().unwrap().name, "joe");
    assert_eq!(sent.action_name, "setLanguage");
    assert!(!sent.r#async);
    assert_eq!(sent.caller.as_ref().unwrap().name, "caller");
    assert_eq!(sent.metadata.get("via").map(String::as_str), Some("caller"));
    let budget: u64 = sent.metadata["request-timeout"].parse().expect("the turn's remaining milliseconds");
    assert!((1..=10_000).contains(&budget), "the proxy retries no longer than the calling turn waits: {budget}");
    let Some(pb::invocation_request::Payload::Value(any)) = &sent.payload else { panic!("expected a payload") };
    assert_eq!(unpack::<Request>(any), request("ocaml"));

    let cast = InvocationBuilder::new("caller", "castJoe").payload(&request("ada")).build();
    assert_eq!(reply::<Reply>(&harness.client.invoke(&cast).await).response, "sent");
    let cast = &harness.proxy.log().invocations[1].1;
    assert!(cast.r#async);
    assert!(!cast.metadata.contains_key("request-timeout"), "a cast has no retry budget to pass on");

    harness.proxy.answer_invocations(InvokeAnswer::Ok(Some(pack(&Reply { response: "lisp".into() }))));
    let spawn = InvocationBuilder::new("caller", "spawnAbs").payload(&request("lisp")).build();
    assert_eq!(reply::<Reply>(&harness.client.invoke(&spawn).await).response, "lisp");
    let log = harness.proxy.log();
    assert_eq!(
        log.spawns[0].actors,
        [actors::ActorId { name: "lisp".into(), system: SYSTEM.into(), parent: "abs_actor".into() }]
    );
    assert_eq!(log.invocations[2].0, "lisp");
}

#[tokio::test]
async fn a_proxy_error_fails_the_calling_action_only() {
    let harness = Harness::start(&["caller", "counter"]).await;
    harness.proxy.answer_invocations(InvokeAnswer::Error("Actor joe not found on ActorSystem spawn-system".into()));
    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    assert_eq!(harness.client.invoke_failing(&call).await, StatusCode::INTERNAL_SERVER_ERROR);
    let increment = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&increment).await), Counter { value: 1 });
}

#[tokio::test]
async fn a_slow_proxy_fails_the_waiting_call_at_its_deadline_and_delays_nothing_else() {
    let limits =
        spawn_wasm_host::wasm::limits::Limits { call_timeout: Duration::from_millis(500), ..Default::default() };
    let harness = Harness::start_with(actors_dir(&["caller", "counter"]), limits).await;
    harness.proxy.answer_invocations(InvokeAnswer::Ok(Some(pack(&Reply { response: "late".into() }))));
    harness.proxy.delay_invocations(Duration::from_secs(30));

    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    let client = harness.client.clone();
    let slow = tokio::spawn(async move {
        let started = Instant::now();
        let answer = client.send(&call).await;
        (answer, started.elapsed())
    });
    let proxy = &harness.proxy;
    eventually(Duration::from_secs(5), "the guest's call reaches the proxy", || async {
        proxy.log().invocations.len() == 1
    })
    .await;

    // While that call waits on the proxy, other actors are served.
    for by in 1..=5 {
        let increment = InvocationBuilder::new("counter", "increment").payload(&Increment { by }).build();
        assert_eq!(reply::<Counter>(&harness.client.invoke(&increment).await), Counter { value: by });
    }
    assert!(!slow.is_finished(), "the call answered before the proxy did and before its deadline");

    let ((status, body), waited) = slow.await.unwrap();
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "a call stuck on the proxy is a deadline failure");
    assert_eq!(assert_failure(&body, &HashMap::new()).code, 4, "google.rpc.Code DEADLINE_EXCEEDED");
    assert!(waited < Duration::from_secs(10), "the call waited {waited:?} for a proxy answering after 30 s");

    // Once the proxy answers promptly again, so does the caller (on a fresh instance).
    harness.proxy.delay_invocations(Duration::ZERO);
    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    assert_eq!(reply::<Reply>(&harness.client.invoke(&call).await).response, "late");
}

#[tokio::test]
async fn bad_input_gets_a_non_2xx_failure_answer_and_the_host_keeps_serving() {
    let harness = Harness::start(&["counter", "hostile"]).await;
    let client = &harness.client;

    let (status, body) = client.post_bytes(b"\xff\xff\xff definitely not protobuf".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(assert_failure(&body, &HashMap::new()).code, 3, "google.rpc.Code INVALID_ARGUMENT");

    let unknown_actor = InvocationBuilder::new("nobody", "increment").build();
    assert_eq!(client.invoke_failing(&unknown_actor).await, StatusCode::NOT_FOUND);

    let unknown_action = InvocationBuilder::new("counter", "decrement").build();
    assert_eq!(client.invoke_failing(&unknown_action).await, StatusCode::NOT_FOUND);

    let wrong_payload = InvocationBuilder::new("counter", "increment").payload(&request("not an Increment")).build();
    assert_eq!(client.invoke_failing(&wrong_payload).await, StatusCode::BAD_REQUEST);

    let wrong_state = InvocationBuilder::new("counter", "increment").state(&request("not a Counter")).build();
    assert_eq!(client.invoke_failing(&wrong_state).await, StatusCode::BAD_REQUEST);

    let no_actor = pb::ActorInvocation { action_name: "increment".into(), ..Default::default() };
    assert_eq!(client.invoke_failing(&no_actor).await, StatusCode::BAD_REQUEST);

    let panic = InvocationBuilder::new("hostile", "panic").build();
    assert_eq!(client.invoke_failing(&panic).await, StatusCode::INTERNAL_SERVER_ERROR);

    let increment = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 3 }).build();
    assert_eq!(reply::<Counter>(&client.invoke(&increment).await), Counter { value: 3 });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_connections_are_all_served_correctly() {
    let harness = Harness::start(&["counter", "joe"]).await;
    let mut tasks = Vec::new();
    for connection in 0..8i64 {
        // One client per task: its own keep-alive connection.
        let client = HostClient::new(harness.host.local_addr());
        tasks.push(tokio::spawn(async move {
            for call in 0..25i64 {
                let base = connection * 1000 + call;
                let invocation = InvocationBuilder::new("counter", "increment")
                    .state(&Counter { value: base })
                    .payload(&Increment { by: connection + 1 })
                    .build();
                let response = client.invoke(&invocation).await;
                assert_eq!(reply::<Counter>(&response), Counter { value: base + connection + 1 });
            }
        }));
    }
    for task in tasks {
        task.await.expect("a connection's calls failed");
    }
}

#[test]
fn example_type_urls_are_fully_qualified() {
    assert_eq!(JoeState::type_url(), "type.googleapis.com/domain.JoeState");
    assert_eq!(Counter::full_name(), "domain.Counter");
}

#[tokio::test]
async fn a_restarted_proxy_gets_the_registration_back_and_readiness_follows() {
    use spawn_wasm_host::http::HttpLimits;
    use spawn_wasm_host::wasm::limits::Limits;
    // The proxy's health is polled every 200 ms: a poll while it is down sees it gone.
    let health_every = std::time::Duration::from_millis(200);
    let harness =
        Harness::start_with_refresh(actors_dir(&["counter"]), Limits::default(), HttpLimits::default(), health_every)
            .await;
    harness.client.wait_ready().await;
    let before = harness.proxy.log().registrations.len();

    harness.proxy.stop().await;
    eventually(std::time::Duration::from_secs(10), "readiness turns down while the proxy is gone", || async {
        harness.client.readiness().await == StatusCode::SERVICE_UNAVAILABLE
    })
    .await;
    let increment = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&increment).await), Counter { value: 1 }, "still serving");

    harness.proxy.start_again().await;
    harness.proxy.wait_for_registrations(before + 1).await;
    harness.client.wait_ready().await;
}
