//! Every call ends: loops, cycles, floods and abandoned calls, written as a hostile user
//! would (`examples/rust/hostile`, actors `hostile` and `twin`), each end promptly with a
//! reason; the actors involved answer normally afterwards, and the host goes idle.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Reply, Request};
use spawn_wasm_host::runtime::RoutingLimits;
use spawn_wasm_host::wasm::guest_output::LINE_BUDGET;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

/// The host's call timeout: every request's deadline.
const DEADLINE: Duration = Duration::from_secs(3);
/// How late past the deadline a request may end.
const MARGIN: Duration = Duration::from_millis(1500);

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

fn limits() -> Limits {
    Limits { call_timeout: DEADLINE, ..Limits::default() }
}

fn request(text: &str) -> Request {
    Request { language: text.into() }
}

async fn start(routing: RoutingLimits) -> (StandaloneHarness, tempfile::TempDir, tempfile::TempDir) {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start_with_routing(actors.path(), data.path(), limits(), routing).await;
    (harness, actors, data)
}

/// Turns run so far, all actors and outcomes together (from the host's own metrics).
fn turns(harness: &StandaloneHarness) -> f64 {
    let metrics = harness.runtime.metrics_registry().encode();
    metrics
        .lines()
        .filter(|line| line.starts_with("spawn_wasm_invocations_total{"))
        .filter_map(|line| line.rsplit_once(' ').and_then(|(_, value)| value.parse::<f64>().ok()))
        .sum()
}

/// Waits until no turn has run for a second (at most `limit`), then checks that none runs
/// in the next two: the host is idle, nothing left running for a dead request.
async fn assert_goes_idle(harness: &StandaloneHarness, limit: Duration) {
    let started = Instant::now();
    let mut last = turns(harness);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = turns(harness);
        if now == last {
            break;
        }
        assert!(started.elapsed() < limit, "turns kept running for {limit:?} ({now} so far)");
        last = now;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(turns(harness), last, "turns ran after the host went idle");
}

/// A failing call: its HTTP status, message and how long it took.
async fn fail(harness: &StandaloneHarness, actor: &str, action: &str, text: &str) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let call = harness.client.request(actor, action, Some(pack(&request(text))), CallOptions::default());
    let (status, _, message) = harness.client.fail(&call).await;
    (status, message, started.elapsed())
}

/// The actors answer normally afterwards.
async fn assert_serving(harness: &StandaloneHarness) {
    for actor in ["hostile", "twin"] {
        let reply: Reply = harness.client.call(actor, "plan", &request("")).await;
        assert_eq!(reply.response, "done", "{actor} answers normally");
    }
}

#[tokio::test]
async fn an_action_forwarding_to_itself_ends_at_the_hop_limit() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    let (status, message, took) = fail(&harness, "hostile", "forwardSelf", "").await;
    eprintln!("forward to itself: {status} after {took:?}: {message}");
    assert_eq!(status, StatusCode::LOOP_DETECTED);
    assert!(
        message.contains("routing loop") && message.contains("hostile.forwardSelf → hostile.forwardSelf"),
        "{message}"
    );
    assert!(took < DEADLINE, "cut by the hop limit, not the deadline ({took:?})");
    assert_goes_idle(&harness, Duration::from_secs(10)).await;
    assert_serving(&harness).await;
    harness.stop().await;
}

#[tokio::test]
async fn two_actors_piping_to_each_other_end_at_the_hop_limit() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    let (status, message, took) = fail(&harness, "hostile", "pipeTo", "twin").await;
    eprintln!("pipe ping-pong: {status} after {took:?}: {message}");
    assert_eq!(status, StatusCode::LOOP_DETECTED);
    assert!(message.contains("twin.pipeTo → hostile.pipeTo"), "the error names the last hops: {message}");
    assert!(took < DEADLINE, "{took:?}");
    assert_goes_idle(&harness, Duration::from_secs(10)).await;
    assert_serving(&harness).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_synchronous_invoke_cycle_is_refused_at_once() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    let (status, message, took) = fail(&harness, "hostile", "invokeCycle", "twin").await;
    eprintln!("invoke cycle: {status} after {took:?}: {message}");
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "the guest fails with the refusal");
    assert!(message.contains("invoke cycle hostile → twin → hostile"), "{message}");
    assert!(took < DEADLINE / 2, "refused at once, not at the deadline ({took:?})");
    assert_goes_idle(&harness, Duration::from_secs(10)).await;
    assert_serving(&harness).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_broadcast_loop_is_cut_and_the_host_goes_idle() {
    let routing = RoutingLimits { max_messages: 500, ..RoutingLimits::default() };
    let (harness, _actors, _data) = start(routing).await;
    assert_serving(&harness).await; // twin is active, and so subscribed, from now on
    let before = turns(&harness);
    // hostile and twin both listen to the channel they rebroadcast to: a tree doubling
    // at each hop, cut by the request's message count long before the hop limit.
    let _: Option<prost_types::Any> =
        harness.client.call_with("hostile", "rebroadcast", Some(pack(&request("x"))), CallOptions::default()).await;
    assert_goes_idle(&harness, Duration::from_secs(30)).await;
    let ran = turns(&harness) - before;
    eprintln!("broadcast loop: {ran} turns before it was cut");
    assert!(ran > 64.0, "the tree grew past the hop limit's length ({ran})");
    assert!(ran <= f64::from(routing.max_messages) + 2.0, "at most the message limit ran ({ran})");
    assert_serving(&harness).await;
    harness.stop().await;
}

#[tokio::test]
async fn a_nested_invoke_gets_what_is_left_of_its_callers_deadline() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    // twin waits on hostile.sleep(60 s): both end at the first request's deadline.
    let (status, message, took) = fail(&harness, "twin", "invokeSleep", "").await;
    eprintln!("nested sleep: {status} after {took:?}: {message}");
    assert!(took >= DEADLINE - Duration::from_millis(100) && took < DEADLINE + MARGIN, "{took:?}: {message}");
    // hostile was interrupted at the same deadline: it answers at once.
    let started = Instant::now();
    assert_serving(&harness).await;
    assert!(started.elapsed() < Duration::from_secs(1), "hostile is free again ({:?})", started.elapsed());
    harness.stop().await;
}

#[tokio::test]
async fn a_call_whose_caller_gave_up_is_dropped_before_it_runs() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    let blocker = {
        let client = harness.client.clone();
        tokio::spawn(async move {
            let call = client.request("hostile", "sleep", Some(pack(&request("1500"))), CallOptions::default());
            client.send(&call).await.0
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A caller that gives up after 200 ms, while hostile is still asleep.
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(200)).build().unwrap();
    let call = harness.client.request("hostile", "env", Some(pack(&request(""))), CallOptions::default());
    let url = format!("{}/api/v1/system/{SYSTEM}/actors/hostile/invoke", harness.client.base_url());
    let sent = impatient
        .post(url)
        .header("content-type", "application/octet-stream")
        .body(prost::Message::encode_to_vec(&call))
        .send()
        .await;
    assert!(sent.is_err(), "the impatient caller gave up");
    assert_eq!(blocker.await.unwrap(), StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics = harness.runtime.metrics_registry().encode();
    assert!(!metrics.contains(r#"actor="hostile",action="env""#), "the abandoned call never ran:\n{metrics}");
    harness.stop().await;
}

#[tokio::test]
async fn side_effects_and_mailboxes_are_bounded_with_a_clear_error() {
    let routing = RoutingLimits { mailbox_capacity: 4, max_effects: 100, ..RoutingLimits::default() };
    let (harness, _actors, _data) = start(routing).await;
    let (status, message, _) = fail(&harness, "hostile", "effectFlood", "2000").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(message.contains("asked for 2000 side effects; a turn may ask for 100"), "{message}");
    let reply: Reply = harness.client.call("hostile", "effectFlood", &request("10")).await;
    assert_eq!(reply.response, "asked for 10");

    // Fill hostile's mailbox behind a sleeping turn: past its capacity, calls are refused at once.
    let client = harness.client.clone();
    let sleeper = tokio::spawn(async move {
        let call = client.request("hostile", "sleep", Some(pack(&request("1000"))), CallOptions::default());
        client.send(&call).await.0
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = Vec::new();
    for _ in 0..8 {
        let options = CallOptions { asynchronous: true, ..CallOptions::default() };
        let call = harness.client.request("hostile", "env", Some(pack(&request(""))), options);
        let (status, response) = harness.client.send(&call).await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused.push(response.status.map(|status| status.message).unwrap_or_default());
        }
    }
    assert_eq!(refused.len(), 4, "4 queued, 4 refused: {refused:?}");
    assert!(refused[0].contains("mailbox of `hostile` holds 4 turns"), "{refused:?}");
    assert_eq!(sleeper.await.unwrap(), StatusCode::OK);
    assert_goes_idle(&harness, Duration::from_secs(10)).await;
    assert_serving(&harness).await;
    harness.stop().await;
}

#[tokio::test]
async fn random_call_graphs_all_end_within_their_deadline() {
    let (harness, _actors, _data) = start(RoutingLimits::default()).await;
    // A small deterministic generator: the same graphs every run.
    let mut seed = 0x5eed_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let mut plans = Vec::new();
    for _ in 0..24 {
        let steps: Vec<String> = (0..1 + next(10))
            .map(|_| {
                let target = if next(2) == 0 { "hostile" } else { "twin" };
                match next(6) {
                    0 => format!("p{target}"),
                    1 => format!("f{target}"),
                    2 | 3 => format!("i{target}"),
                    4 => format!("a{target}"),
                    _ => format!("s{}", next(200)),
                }
            })
            .collect();
        plans.push(steps.join(","));
    }
    let calls = plans.iter().enumerate().map(|(n, plan)| {
        let client = harness.client.clone();
        let plan = plan.clone();
        async move {
            let first = if n % 2 == 0 { "hostile" } else { "twin" };
            let call = client.request(first, "plan", Some(pack(&request(&plan))), CallOptions::default());
            let started = Instant::now();
            let (status, response) = client.send(&call).await;
            let message = response.status.map(|status| status.message).unwrap_or_default();
            (plan, status, message, started.elapsed())
        }
    });
    for (plan, status, message, took) in futures_join_all(calls).await {
        eprintln!("{plan}: {status} after {took:?} {message}");
        assert!(took < DEADLINE + MARGIN, "{plan} took {took:?}: {status} {message}");
    }
    assert_goes_idle(&harness, Duration::from_secs(15)).await;
    assert_serving(&harness).await;
    harness.stop().await;
}

/// Runs the futures concurrently, in order of their results.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("a call task"));
    }
    results
}

#[tokio::test]
async fn a_log_flood_is_budgeted_and_cannot_forge_a_host_line() {
    let actors = actors_dir(&["hostile"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let started = Instant::now();
    let reply: Reply = process.client.call("hostile", "logFlood", &request("")).await;
    assert_eq!(reply.response, "flooded");
    eprintln!("log flood answered after {:?}", started.elapsed());
    let log = process.log();
    let flood_lines = log.lines().filter(|line| line.contains("flood line")).count();
    assert!(flood_lines <= LINE_BUDGET, "at most one call's line budget reached the log ({flood_lines})");
    assert!(log.contains("dropped_lines="), "the drop is said once:\n{}", &log[log.len().saturating_sub(2000)..]);
    assert!(!log.lines().any(|line| line.starts_with("FAKE host line")), "a guest forged a log line");
    assert!(log.contains("\\nFAKE host line"), "the newline is escaped");
    assert!(log.len() < 1 << 20, "the log stayed small ({} bytes)", log.len());
}
