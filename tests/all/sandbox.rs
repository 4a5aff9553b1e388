//! A hostile guest fails alone: each misbehaviour becomes an error for that call, within
//! about the deadline, while other actors keep answering.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, Reply, Request};
use spawn_wasm_host::wasm::chain::CallChain;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

const DEADLINE: Duration = Duration::from_millis(1000);

async fn hostile_harness() -> Harness {
    let limits = Limits { memory_bytes: 64 << 20, call_timeout: DEADLINE, ..Limits::default() };
    Harness::start_with(actors_dir(&["hostile", "counter"]), limits).await
}

fn hostile(action: &str) -> spawn_wasm_host::protocol::spawn::ActorInvocation {
    InvocationBuilder::new("hostile", action).payload(&Request::default()).build()
}

/// Runs `action` on `hostile` while a neighbour is called repeatedly; returns the hostile
/// call's status and duration, and the slowest neighbour call.
async fn misbehave_beside_a_neighbour(harness: &Harness, action: &str) -> (StatusCode, Duration, Duration) {
    let client = harness.client.clone();
    let invocation = hostile(action);
    let hostile_call = tokio::spawn(async move {
        let started = Instant::now();
        let status = client.invoke_failing(&invocation).await;
        (status, started.elapsed())
    });
    let neighbour = HostClient::new(harness.host.local_addr());
    let mut slowest = Duration::ZERO;
    let mut value = 0;
    while !hostile_call.is_finished() {
        let started = Instant::now();
        let call = InvocationBuilder::new("counter", "increment")
            .state(&Counter { value })
            .payload(&Increment { by: 1 })
            .build();
        assert_eq!(reply::<Counter>(&neighbour.invoke(&call).await), Counter { value: value + 1 });
        slowest = slowest.max(started.elapsed());
        value += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, elapsed) = hostile_call.await.unwrap();
    (status, elapsed, slowest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_guest_is_stopped_at_the_deadline_without_stalling_others() {
    let harness = hostile_harness().await;
    let (status, elapsed, slowest) = misbehave_beside_a_neighbour(&harness, "spin").await;
    eprintln!("spin stopped after {elapsed:?} (deadline {DEADLINE:?}); slowest neighbour call {slowest:?}");
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(elapsed >= DEADLINE && elapsed < DEADLINE * 3, "stopped after {elapsed:?}");
    assert!(slowest < DEADLINE / 2, "a neighbour call took {slowest:?} while the guest spun");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_guest_is_stopped_at_the_deadline() {
    let harness = hostile_harness().await;
    let (status, elapsed, _) = misbehave_beside_a_neighbour(&harness, "sleep").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(elapsed >= DEADLINE && elapsed < DEADLINE * 3, "stopped after {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hogs_recursion_and_panics_fail_their_own_call() {
    let harness = hostile_harness().await;
    for action in ["hog", "recurse", "panic"] {
        let (status, elapsed, _) = misbehave_beside_a_neighbour(&harness, action).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{action}");
        assert!(elapsed < DEADLINE, "{action} took {elapsed:?}");
    }
}

/// Memory a guest holds outside its linear memory is bounded too: handles in its resource
/// table, and the bytes of one `wasi:http` header map.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resources_held_outside_linear_memory_are_bounded() {
    let harness = hostile_harness().await;
    let (status, body) = harness.client.send(&hostile("hoard")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "a guest keeping handles without end fails at the bound");
    let message = String::from_utf8_lossy(&body);
    assert!(message.contains("resource table has no free keys"), "the bound is named: {message}");

    let header = |bytes: usize| {
        InvocationBuilder::new("hostile", "bigHeader").payload(&Request { language: bytes.to_string() }).build()
    };
    assert_eq!(reply::<Reply>(&harness.client.invoke(&header(1 << 10)).await).response, "accepted");
    let (status, body) = harness.client.send(&header(64 << 10)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "a 64 KiB header map is over the bound");
    let message = String::from_utf8_lossy(&body);
    assert!(message.contains("total size of fields exceeds limit"), "{message}");

    let (status, _, slowest) = misbehave_beside_a_neighbour(&harness, "hoard").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(slowest < DEADLINE / 2, "a neighbour call took {slowest:?} while the guest hoarded");
    assert_eq!(reply::<Reply>(&harness.client.invoke(&hostile("env")).await).response, "0", "hostile serves again");
}

#[tokio::test]
async fn nothing_is_granted_by_default() {
    let harness = hostile_harness().await;
    let read = harness.client.invoke(&hostile("readFile")).await;
    assert_eq!(reply::<Reply>(&read).response, "denied");
    let env = harness.client.invoke(&hostile("env")).await;
    assert_eq!(reply::<Reply>(&env).response, "0");
}

#[tokio::test]
async fn each_limit_hit_is_named_in_the_error() {
    use spawn_wasm_host::protocol::convert::invocation_to_wit;
    use spawn_wasm_host::sidecar::ProxyClient;
    use spawn_wasm_host::wasm::engine::ActorEngine;
    use spawn_wasm_host::wasm::executor::{Executor, InvokeError};
    use spawn_wasm_host::wasm::module::ActorModule;
    use std::sync::Arc;

    let limits = Limits { memory_bytes: 64 << 20, call_timeout: Duration::from_millis(300), ..Limits::default() };
    let engine = Arc::new(ActorEngine::new(limits).unwrap());
    let module = ActorModule::load(&engine, None, &examples_dir().join("hostile.wasm")).await.unwrap();
    let executor = Executor::new(engine);
    let dispatcher = Arc::new(ProxyClient::new("http://127.0.0.1:9").unwrap());
    let run = |action: &str| {
        let (invocation, _) = invocation_to_wit("hostile", hostile(action));
        executor.run(&module, invocation, dispatcher.clone(), CallChain::new(Instant::now() + Duration::from_secs(60)))
    };
    let spin = run("spin").await.unwrap_err();
    assert!(matches!(spin, InvokeError::Deadline(_)), "{spin}");
    assert_eq!(spin.to_string(), "exceeded the call deadline of 300 ms");
    let hog = run("hog").await.unwrap_err();
    assert!(matches!(hog, InvokeError::MemoryLimit(_)), "{hog}");
    assert_eq!(hog.to_string(), "exceeded the memory limit of 64 MiB");
    let panic = run("panic").await.unwrap_err();
    assert!(matches!(&panic, InvokeError::Trap(message) if message.contains("unreachable")), "{panic}");
}

async fn instance_calls(harness: &Harness, instance: &str) -> String {
    let invocation = if instance == "hostile" {
        hostile("instanceCalls")
    } else {
        InvocationBuilder::instance(instance, "hostile", "instanceCalls").payload(&Request::default()).build()
    };
    reply::<Reply>(&harness.client.invoke(&invocation).await).response
}

#[tokio::test]
async fn an_instance_serves_one_actor_and_is_replaced_after_a_trap() {
    let harness = hostile_harness().await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1");
    assert_eq!(instance_calls(&harness, "hostile").await, "2", "the actor's instance stays warm between turns");
    assert_eq!(instance_calls(&harness, "other").await, "1", "another actor never gets that instance");
    assert_eq!(instance_calls(&harness, "hostile").await, "3");
    harness.client.invoke_failing(&hostile("panic")).await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1", "a trapped instance is replaced");

    let cold = Limits { warm_instances: 0, ..Limits::default() };
    let harness = Harness::start_with(actors_dir(&["hostile"]), cold).await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1");
    assert_eq!(instance_calls(&harness, "hostile").await, "1", "without warm instances, every call starts afresh");
}

/// Two turns of `hostile` that overlap (each sleeps half a second in the guest), as the
/// proxy sends them to pooled and stateless actors: each reply is its instance's call count.
async fn overlapping_instance_calls(harness: &Harness) -> [String; 2] {
    let call = || {
        let client = harness.client.clone();
        let invocation = InvocationBuilder::new("hostile", "instanceCallsAfter")
            .payload(&Request { language: "500".into() })
            .build();
        async move { reply::<Reply>(&client.invoke(&invocation).await).response }
    };
    let (first, second) = tokio::join!(call(), call());
    let mut counts = [first, second];
    counts.sort();
    counts
}

#[tokio::test]
async fn overlapping_turns_of_one_actor_each_keep_a_warm_instance() {
    let harness = Harness::start_with(actors_dir(&["hostile"]), Limits::default()).await;
    assert_eq!(overlapping_instance_calls(&harness).await, ["1", "1"], "one instance per turn in flight");
    assert_eq!(overlapping_instance_calls(&harness).await, ["2", "2"], "both stayed warm, none instantiated");

    let one = Limits { warm_per_actor: 1, ..Limits::default() };
    let harness = Harness::start_with(actors_dir(&["hostile"]), one).await;
    assert_eq!(overlapping_instance_calls(&harness).await, ["1", "1"]);
    assert_eq!(overlapping_instance_calls(&harness).await, ["1", "2"], "one warm instance per actor at most");
}

#[tokio::test]
async fn the_warm_pool_holds_no_more_memory_than_its_budget() {
    let harness = Harness::start_with(actors_dir(&["hostile"]), Limits::default()).await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1");
    let metrics = harness.client.metrics().await;
    let held: usize = metrics
        .lines()
        .find_map(|line| line.strip_prefix("spawn_wasm_warm_memory_bytes "))
        .and_then(|value| value.trim().parse().ok())
        .expect("the warm pool's memory is a metric");
    assert!(held > 0, "{metrics}");

    // A budget under one instance keeps none warm.
    let tight = Limits { warm_memory_bytes: held - 1, ..Limits::default() };
    let harness = Harness::start_with(actors_dir(&["hostile"]), tight).await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1");
    assert_eq!(instance_calls(&harness, "hostile").await, "1", "an instance over the budget is not kept");

    // A budget for one and a half keeps the latest of two.
    let one = Limits { warm_memory_bytes: held + held / 2, ..Limits::default() };
    let harness = Harness::start_with(actors_dir(&["hostile"]), one).await;
    assert_eq!(instance_calls(&harness, "hostile").await, "1");
    assert_eq!(instance_calls(&harness, "hostile").await, "2", "within the budget the instance stays warm");
    assert_eq!(instance_calls(&harness, "other").await, "1");
    assert_eq!(instance_calls(&harness, "hostile").await, "1", "the budget held one of the two: hostile's was evicted");
}
