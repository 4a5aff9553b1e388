//! JavaScript and TypeScript actors end to end: the JS examples (built by this crate's build
//! script with `spawn-wasm-build`: esbuild, componentize-js, the JS SDK, the shared `domain`
//! protos) served by the real host, next to Rust and Python actors; `spawn-wasm build`
//! failures; `spawn-wasm new --lang js`.
//!
//! A JS component is ~13 MB of WebAssembly: the tests share one compiled-code cache (see
//! [`crate::polyglot`]).

use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, Reply};
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_tests::*;

use crate::polyglot::{a_new_project_builds_and_serves, build_project, data_dir, eventually_has, request, warm};
use crate::python::PYTHON_EXAMPLES;

/// The JavaScript example components.
pub const JS_EXAMPLES: &[&str] = &["js-bridge", "js-counter"];

#[tokio::test]
async fn a_js_counter_keeps_its_state_speaks_json_and_fails_alone() {
    warm(JS_EXAMPLES);
    let actors = actors_dir(&["js-counter", "counter"]);
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;

    // JSON in and out, through the descriptors the JS component exports.
    let body = serde_json::json!({
        "actor": {"id": {"name": "js_counter"}},
        "actionName": "increment",
        "value": {"@type": "type.googleapis.com/domain.Increment", "by": 3}
    });
    let (status, answer) = client.invoke_json("js_counter", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"], serde_json::json!({"@type": "type.googleapis.com/domain.Counter", "value": 3}));

    // A bare object: the action's `payloadType` declared its type (WIT 0.1.1 `signatures`).
    let body = serde_json::json!({"actionName": "increment", "value": {"by": 1}});
    let (status, answer) = client.invoke_json("js_counter", &body.to_string()).await;
    assert_eq!((status, &answer["value"]["value"]), (StatusCode::OK, &serde_json::json!(4)), "{answer}");
    let counter: Counter = client.call("js_counter", "increment", &Increment { by: -1 }).await;
    assert_eq!(counter.value, 3);

    // Protobuf in and out; the state is kept between calls; checkpoint writes through.
    let counter: Counter = client.call("js_counter", "increment", &Increment { by: 2 }).await;
    assert_eq!(counter.value, 5);
    let counter: Counter = client.call("js_counter", "incrementDurably", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 6);

    // A thrown error reaches the caller with the JS stack in the user's file; the state is
    // unchanged and everything keeps serving.
    let fail = client.request("js_counter", "fail", Some(pack(&request("cobol"))), CallOptions::default());
    let (status, code, message) = client.fail(&fail).await;
    assert_eq!((status, code), (StatusCode::INTERNAL_SERVER_ERROR, pb::Status::Error as i32));
    assert!(message.contains("RangeError: no language like cobol"), "the error is named: {message}");
    assert!(message.contains("at refuse (src/main.ts:"), "with its stack in the user's file: {message}");
    let wrong = client.request("js_counter", "increment", Some(pack(&request("no"))), CallOptions::default());
    let (status, _, message) = client.fail(&wrong).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("expected domain.Increment"), "a wrong payload type is a bad payload: {message}");
    let counter: Counter = client.call("counter", "increment", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 1, "the Rust neighbour serves");
    let counter: Counter = client.call("js_counter", "increment", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 7, "the failures changed nothing");

    // A timer action runs by itself.
    eventually(Duration::from_secs(15), "js_ticker ticked twice", || async {
        client.state::<Counter>("js_ticker").await.value >= 2
    })
    .await;

    // The state survives a restart of the host.
    harness.stop().await;
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    assert_eq!(harness.client.state::<Counter>("js_counter").await.value, 7);
    harness.stop().await;
}

#[tokio::test]
async fn a_js_actor_calls_rust_and_python_actors() {
    warm(JS_EXAMPLES);
    warm(PYTHON_EXAMPLES);
    let actors = actors_dir(&["js-bridge", "python-bridge", "joe"]);
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let joe_ends_with = |reply: Reply, language: &str| {
        assert!(reply.response.ends_with(language), "joe's reply {:?} should end with {language}", reply.response);
    };

    // invoke (sync): JS → Rust joe, with metadata; JS → Python counter.
    joe_ends_with(client.call("js_bridge", "callRust", &request("js")).await, "js");
    let counter: Counter = client.call("js_bridge", "callPython", &Increment { by: 5 }).await;
    assert_eq!(counter.value, 5);
    assert_eq!(client.state::<Counter>("python_counter").await.value, 5);
    // invoke (async): returns at once; joe gets it.
    let reply: Reply = client.call("js_bridge", "castRust", &request("cast")).await;
    assert_eq!(reply.response, "sent");
    eventually_has(client, "joe", "cast").await;
    // spawn from inside an action: an unnamed JS instance, then invoked.
    let reply: Reply = client.call("js_bridge", "spawnAbs", &request("zed")).await;
    assert_eq!(reply.response, "zed");
    // forward, pipe (the JS reply upper-cased), effect, broadcast towards Rust.
    joe_ends_with(client.call("js_bridge", "forwardToRust", &request("fwd")).await, "fwd");
    joe_ends_with(client.call("js_bridge", "pipeToRust", &request("pipe")).await, "PIPE");
    let reply: Reply = client.call("js_bridge", "effectToRust", &request("eff")).await;
    assert_eq!(reply.response, "ok");
    eventually_has(client, "joe", "eff").await;
    let reply =
        client.call_with("js_bridge", "broadcastToRust", Some(pack(&request("all"))), CallOptions::default()).await;
    assert!(reply.is_none(), "noReply replies nothing, got {reply:?}");
    eventually_has(client, "joe", "all").await;
    eventually_has(client, "js_bridge", "all").await;
    eventually_has(client, "bridge", "all").await;

    // The context: self, metadata, the decoded state, tags set by a previous turn.
    let options = CallOptions { metadata: vec![("via".into(), "test".into())], ..Default::default() };
    let first = client.call_with("js_bridge", "context", Some(pack(&request("x"))), options.clone()).await.unwrap();
    assert_traced(&unpack::<Reply>(&first).response, "self=js_bridge caller=undefined via=test k=undefined state=all");
    let second = client.call_with("js_bridge", "context", Some(pack(&request("y"))), options).await.unwrap();
    assert!(unpack::<Reply>(&second).response.contains("k=x"), "tags persist between turns");
    harness.stop().await;
}

#[test]
fn a_broken_js_build_says_where() {
    let package = ("package.json", r#"{"name": "broken", "main": "src/main.ts"}"#);
    let (dir, output) =
        build_project(&[package, ("src/main.ts", "import spawn from \"spawn-wasm\";\n\nconst x = (;\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a syntax error fails the build");
    assert!(stderr.contains("src/main.ts:3:"), "a syntax error names the file and line: {stderr}");
    assert!(!dir.path().join("out.wasm").exists());

    let (_dir, output) =
        build_project(&[package, ("src/main.ts", "import { Valeu } from \"spawn-wasm\";\nValeu.of();\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("No matching export") && stderr.contains("Valeu"), "a missing export: {stderr}");

    let (_dir, output) =
        build_project(&[package, ("src/main.ts", "import { Nope } from \"@proto/nowhere\";\nNope.create();\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("no .proto file of package `nowhere`"), "an unknown proto package: {stderr}");

    let (_dir, output) =
        build_project(&[package, ("src/main.ts", "import spawn from \"spawn-wasm\";\nspawn.createSystem();\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("declares no actor"), "a module without actors: {stderr}");

    let (_dir, output) = build_project(&[
        package,
        ("src/main.ts", "import spawn from \"spawn-wasm\";\n"),
        ("proto/broken.proto", "syntax = \"proto3\";\nmessage Broken {\n  string = 1;\n}\n"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("broken.proto:3:"), "a .proto error names its file and line: {stderr}");
}

#[tokio::test]
async fn a_new_js_project_builds_and_serves() {
    a_new_project_builds_and_serves("js").await;
}
