//! Sidecar mode against a test proxy that behaves like the stock Spawn proxy where hosts go
//! wrong (see `spawn_wasm_tests::stock`): it crashes activating an unknown `state_type`, retries
//! empty answers, crashes on undecodable ones and on `checkpoint`, and ignores status codes.
//! Every call goes client → proxy → host, over real HTTP, with the real components.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use prost::Message;
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::sidecar::{RpcStatus, failure_in};
use spawn_wasm_tests::*;

fn request(language: &str) -> Request {
    Request { language: language.into() }
}

fn instance(parent: &str) -> CallOptions {
    CallOptions { register_ref: parent.into(), ..CallOptions::default() }
}

/// The `google.rpc.Status` a reply carries; panics if the reply is not a failure.
fn failure(reply: Option<prost_types::Any>) -> RpcStatus {
    let reply = reply.expect("a failed turn replies a google.rpc.Status");
    failure_in(&reply).unwrap_or_else(|| panic!("expected a google.rpc.Status, got {}", reply.type_url))
}

fn calls_to(log: &ProxyLog, actor: &str, action: &str) -> usize {
    log.host_calls.iter().filter(|(a, b)| (a.as_str(), b.as_str()) == (actor, action)).count()
}

#[tokio::test]
async fn stateful_actors_activate_and_keep_their_state() {
    let harness = Harness::start(&["joe", "counter", "clock"]).await;
    let proxy = &harness.proxy;
    let client = proxy.client();
    assert_eq!(proxy.log().crashes, Vec::<String>::new(), "warm-up activated joe, counter and clock");
    assert!(proxy.memory("joe").await.is_some(), "joe was warmed up");

    let reply: Reply = client.call("joe", "setLanguage", &request("rust")).await;
    assert_eq!(reply.response, "rust");
    let reply: Reply = client.call("joe", "setLanguage", &request("zig")).await;
    assert_eq!(reply.response, "rust,zig", "the proxy kept the state between turns");
    assert_eq!(client.state::<JoeState>("joe").await.languages, ["rust", "zig"]);

    // An unnamed instance activates on its first call; `counters` runs `init` then.
    let by = pack(&Increment { by: 3 });
    let reply = client.call_with("c1", "increment", Some(by.clone()), instance("counters")).await;
    assert_eq!(unpack::<Counter>(&reply.unwrap()), Counter { value: 3 });
    assert_eq!(calls_to(&proxy.log(), "c1", "init"), 1);
    let reply = client.call_with("abs-1", "setLanguage", Some(pack(&request("go"))), instance("abs_actor")).await;
    assert_eq!(unpack::<Reply>(&reply.unwrap()).response, "go");
    assert_eq!(proxy.log().crashes, Vec::<String>::new());

    // The same registration with joe's state type, as the host used to send it, crashes the
    // activation of a fresh instance: this test would catch it.
    let mut registration = proxy.log().registrations[0].clone();
    let actors = &mut registration.actor_system.as_mut().unwrap().registry.as_mut().unwrap().actors;
    actors.get_mut("abs_actor").unwrap().settings.as_mut().unwrap().state_type = "domain.JoeState".into();
    let (status, _) = client.post("/api/v1/system", registration.encode_to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    let request = client.request("abs-2", "setLanguage", Some(pack(&request("c"))), instance("abs_actor"));
    let (status, _) = client.send(&request).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(proxy.log().crashes[0].contains("struct(domain.JoeState)"), "{:?}", proxy.log().crashes);
}

#[tokio::test]
async fn a_failed_turn_is_answered_once_and_keeps_the_state_and_tags() {
    let harness = Harness::start(&["counter", "hostile"]).await;
    let proxy = &harness.proxy;
    let client = proxy.client();
    // The template's initial tags, so that the instance has some to keep.
    let mut registration = proxy.log().registrations[0].clone();
    let actors = &mut registration.actor_system.as_mut().unwrap().registry.as_mut().unwrap().actors;
    let tags = HashMap::from([("team".to_string(), "a".to_string())]);
    actors.get_mut("counters").unwrap().state.as_mut().unwrap().tags = tags.clone();
    assert_eq!(client.post("/api/v1/system", registration.encode_to_vec()).await.0, StatusCode::OK);

    let by = |by| Some(pack(&Increment { by }));
    let reply = client.call_with("c1", "increment", by(5), instance("counters")).await;
    assert_eq!(unpack::<Counter>(&reply.unwrap()), Counter { value: 5 });

    let overflow = client.call_with("c1", "increment", by(i64::MAX), instance("counters")).await;
    let status = failure(overflow);
    assert_eq!(status.code, 2, "google.rpc.Code UNKNOWN: the actor's own failure");
    assert!(status.message.contains("overflows the counter"), "{}", status.message);
    let log = proxy.log();
    assert_eq!(calls_to(&log, "c1", "increment"), 2, "the failed turn ran once: no retry");
    assert_eq!((log.retries.len(), log.crashes.len()), (0, 0), "{log:?}");
    let memory = proxy.memory("c1").await.expect("the actor process is alive");
    assert_eq!(unpack::<Counter>(memory.state.as_ref().unwrap()), Counter { value: 5 }, "the state is kept");
    assert_eq!(memory.tags, tags, "the tags are kept");

    let trap = failure(client.call_with("hostile", "panic", Some(pack(&request(""))), CallOptions::default()).await);
    assert_eq!(trap.code, 13, "google.rpc.Code INTERNAL: a trap");
    assert_eq!(calls_to(&proxy.log(), "hostile", "panic"), 1);
}

#[tokio::test]
async fn a_guest_calling_a_failed_actor_gets_an_error() {
    let harness = Harness::start(&["caller", "joe"]).await;
    let failed = RpcStatus { code: 5, message: "no such language".into(), details: Vec::new() };
    let failed =
        prost_types::Any { type_url: "type.googleapis.com/google.rpc.Status".into(), value: failed.encode_to_vec() };
    harness.proxy.answer_invocations(InvokeAnswer::Ok(Some(failed)));
    let call = InvocationBuilder::new("caller", "callJoe").payload(&request("ocaml")).build();
    let (status, answer) = harness.client.invoke_failure(&call).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(answer.message.contains("no such language"), "{}", answer.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_limits_neither_crash_the_proxy_nor_lose_state() {
    // No wait queue: a call beyond the only slot is refused at once.
    let harness = Harness::start_configured(actors_dir(&["counter", "hostile"]), |config| {
        config.http = HttpLimits { max_body_bytes: 64 << 10, max_in_flight: 1, ..HttpLimits::default() };
        config.max_queued = 0;
    })
    .await;
    let proxy = &harness.proxy;
    let client = proxy.client();
    let one = Increment { by: 1 };
    assert_eq!(client.call::<_, Counter>("counter", "increment", &one).await, Counter { value: 1 });

    // 413: a failure the proxy applies; the state stays.
    let huge = Some(pack(&request(&"x".repeat(6 << 20))));
    let fail_fast = CallOptions { metadata: vec![("request-timeout".into(), "3000".into())], ..CallOptions::default() };
    let status = failure(client.call_with("counter", "increment", huge, fail_fast).await);
    assert_eq!(status.code, 8, "google.rpc.Code RESOURCE_EXHAUSTED");
    assert!(status.message.contains("over the limit of 65536"), "{}", status.message);
    assert_eq!((proxy.log().retries, proxy.log().crashes), (vec![], vec![]), "answered once, readable");
    assert_eq!(client.state::<Counter>("counter").await, Counter { value: 1 });

    // 503 while another call holds the only slot: an empty answer, which the proxy retries
    // until the slot frees; the guest runs once.
    let host = harness.client.clone();
    let sleeping = tokio::spawn(async move {
        host.send(&InvocationBuilder::new("hostile", "sleep").payload(&request("1000")).build()).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.call::<_, Counter>("counter", "increment", &one).await, Counter { value: 2 });
    assert_eq!(sleeping.await.unwrap().0, StatusCode::OK);
    let log = proxy.log();
    assert!(log.retries.iter().any(|why| why.contains("no_content")), "{:?}", log.retries);
    assert_eq!(log.crashes, Vec::<String>::new());
    assert_eq!(client.state::<Counter>("counter").await, Counter { value: 2 }, "incremented exactly once");
}

#[tokio::test]
async fn any_other_answer_of_the_actions_route_is_readable_too() {
    let harness = Harness::start(&["counter"]).await;
    let url = format!("http://{}/api/v1/actors/actions", harness.host.local_addr());
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let status = assert_failure(&response.bytes().await.unwrap(), &HashMap::new());
    assert_eq!(status.code, 3, "google.rpc.Code INVALID_ARGUMENT: {}", status.message);
}

#[tokio::test]
async fn a_checkpoint_is_cleared_so_the_proxy_keeps_the_actor() {
    let harness = Harness::start(&["joe", "counter"]).await;
    let client = harness.proxy.client();
    let reply: Reply = client.call("joe", "saveLanguage", &request("go")).await;
    assert_eq!(reply.response, "go");
    let reply =
        client.call_with("c1", "incrementDurably", Some(pack(&Increment { by: 2 })), instance("counters")).await;
    assert_eq!(unpack::<Counter>(&reply.unwrap()), Counter { value: 2 });
    assert_eq!(harness.proxy.log().crashes, Vec::<String>::new());
    assert_eq!(client.state::<JoeState>("joe").await.languages, ["go"]);
}

#[tokio::test]
async fn sidecar_refuses_pooled_actors_and_standalone_serves_them() {
    let harness = Harness::start(&["pool", "counter"]).await;
    let registered = &harness.proxy.log().registrations[0].actor_system.clone().unwrap().registry.unwrap().actors;
    assert!(registered.contains_key("counter") && !registered.contains_key("pool"), "{:?}", registered.keys());
    let modules = harness.client.modules().await;
    assert!(modules.contains("actor `pool` is pooled, which the Spawn proxy does not support"), "{modules}");

    let actors = actors_dir(&["pool"]);
    let data = tempfile::tempdir().unwrap();
    let standalone = StandaloneHarness::start(actors.path(), data.path()).await;
    let reply: Reply = standalone.client.call("pool", "echo", &request("ada")).await;
    assert_eq!(reply.response, "ada");
    standalone.stop().await;
}

#[tokio::test]
async fn empty_environment_variables_are_unset_and_the_host_listens_on_loopback() {
    let proxy = TestProxy::start().await;
    let actors = actors_dir(&["counter"]);
    let empty = [
        ("PROXY_ACTOR_SYSTEM_NAME", ""),
        ("USER_FUNCTION_HOST", ""),
        ("SPAWN_WASM_MEMORY_LIMIT_MB", ""),
        ("SPAWN_WASM_CALL_TIMEOUT_MS", ""),
    ];
    let host = HostProcess::sidecar(env!("CARGO_BIN_EXE_spawn-wasm-e2e"), actors.path(), &proxy, &empty).await;
    let registration = proxy.log().registrations[0].clone();
    assert_eq!(registration.actor_system.unwrap().name, SYSTEM, "an empty system name means the default");
    let log = host.log();
    let serving = log.lines().find(|line| line.contains("serving actor invocations")).expect("the serving line");
    assert!(serving.contains("127.0.0.1:"), "the default is loopback: {serving}");
    assert!(!log.contains("forge actor state"), "no exposure warning on loopback:\n{log}");
    let reply: Counter = proxy.client().call("counter", "increment", &Increment { by: 4 }).await;
    assert_eq!(reply, Counter { value: 4 });
}

#[test]
fn the_failure_reply_is_a_google_rpc_status() {
    let status = RpcStatus { code: 4, message: "late".into(), details: Vec::new() };
    let any =
        prost_types::Any { type_url: "type.googleapis.com/google.rpc.Status".into(), value: status.encode_to_vec() };
    assert_eq!(failure_in(&any), Some(status));
    let reply = pack(&Reply { response: "fine".into() });
    assert_eq!(failure_in(&reply), None);
}
