//! Python actors end to end: the Python examples (built by this crate's build script with
//! `spawn-wasm-build`: componentize-py, the Python SDK, the shared `domain` protos) served
//! by the real host in both modes, next to Rust actors.
//!
//! A Python component is 20–30 MB of WebAssembly: every test shares one compiled-code cache
//! (see [`crate::polyglot`]), filled once by the first test that needs it while the others
//! wait.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, Reply};
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

use crate::polyglot::{
    a_new_project_builds_and_serves, build_project, data_dir, eventually_has, languages, request, warm,
};

/// The Python example components.
pub const PYTHON_EXAMPLES: &[&str] = &["python-bridge", "python-hostile", "python-joe"];

/// Compiles every Python example once into the shared cache.
fn warm_cache() {
    warm(PYTHON_EXAMPLES);
}

struct Standalone {
    harness: StandaloneHarness,
    actors: tempfile::TempDir,
    _data: tempfile::TempDir,
}

async fn standalone_with(components: &[&str], limits: Limits) -> Standalone {
    warm_cache();
    let actors = actors_dir(components);
    let data = data_dir();
    let harness = StandaloneHarness::start_with(actors.path(), data.path(), limits).await;
    Standalone { harness, actors, _data: data }
}

async fn standalone(components: &[&str]) -> Standalone {
    standalone_with(components, Limits::default()).await
}

#[tokio::test]
async fn python_state_reply_noreply_checkpoint_context_and_json() {
    let Standalone { harness, actors: _actors, _data } = standalone(&["python-bridge"]).await;
    let client = &harness.client;

    // JSON in and out, through the descriptors the Python component exports.
    let body = serde_json::json!({
        "actor": {"id": {"name": "python_counter"}},
        "actionName": "increment",
        "value": {"@type": "type.googleapis.com/domain.Increment", "by": 3}
    });
    let (status, answer) = client.invoke_json("python_counter", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"], serde_json::json!({"@type": "type.googleapis.com/domain.Counter", "value": 3}));

    // A bare object: the handler's annotation (`request: Increment`) declared its type.
    let body = serde_json::json!({"actionName": "increment", "value": {"by": 1}});
    let (status, answer) = client.invoke_json("python_counter", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"]["value"], 4);
    let counter: Counter = client.call("python_counter", "increment", &Increment { by: -1 }).await;
    assert_eq!(counter.value, 3);

    // Protobuf in and out; the state is kept between calls; checkpoint writes through.
    let counter: Counter = client.call("python_counter", "increment", &Increment { by: 2 }).await;
    assert_eq!(counter.value, 5);
    let counter: Counter = client.call("python_counter", "incrementDurably", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 6);
    assert_eq!(client.state::<Counter>("python_counter").await.value, 6);

    // noreply: the state changes, nothing is replied.
    let reply = client.call_with("bridge", "quietly", Some(pack(&request("a"))), CallOptions::default()).await;
    assert!(reply.is_none(), "noreply must reply nothing, got {reply:?}");
    assert_eq!(languages(client, "bridge").await, ["a"]);
    let reply: Reply = client.call("bridge", "remember", &request("b")).await;
    assert_eq!(reply.response, "a,b");

    // The context: self, metadata, tags set by a previous turn, the decoded state.
    let options = CallOptions { metadata: vec![("via".into(), "test".into())], ..Default::default() };
    let first = client.call_with("bridge", "context", Some(pack(&request("x"))), options.clone()).await.unwrap();
    let first: Reply = unpack(&first);
    assert_traced(&first.response, "self=bridge caller=None via=test k=None state=a,b");
    let second: Reply =
        unpack(&client.call_with("bridge", "context", Some(pack(&request("y"))), options).await.unwrap());
    assert!(second.response.contains("k=x"), "tags persist between turns: {}", second.response);

    // A wrong payload type is a bad payload, not a crash.
    let wrong = client.request("python_counter", "increment", Some(pack(&request("no"))), CallOptions::default());
    let (status, _, message) = client.fail(&wrong).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(message.contains("expected domain.Increment"), "{message}");
    harness.stop().await;
}

#[tokio::test]
async fn the_readme_joe_ticks_broadcasts_and_spawns_unnamed_instances() {
    let Standalone { harness, actors: _actors, _data } = standalone(&["python-joe"]).await;
    let client = &harness.client;

    // The `hi` timer seeds the state; its broadcast on `python` comes back to `receive`.
    eventually(Duration::from_secs(15), "hi seeded python_joe", || async {
        languages(client, "python_joe").await == ["python"]
    })
    .await;
    let reply: Reply = client.call("python_joe", "setLanguage", &request("rust")).await;
    assert_eq!(reply.response, "python,rust");

    // Unnamed actors: spawned by the client API, or on first call with register_ref.
    let (status, _) = client.spawn("mike", "python_abs_actor").await;
    assert_eq!(status, StatusCode::OK);
    let reply: Reply = client.call("mike", "setLanguage", &request("erlang")).await;
    assert_eq!(reply.response, "erlang");
    let options = CallOptions { register_ref: "python_abs_actor".into(), ..Default::default() };
    let reply = client.call_with("ann", "setLanguage", Some(pack(&request("go"))), options).await.unwrap();
    assert_eq!(unpack::<Reply>(&reply).response, "go");
    let reply: Reply = client.call("mike", "setLanguage", &request("elixir")).await;
    assert_eq!(reply.response, "erlang,elixir", "each instance has its own state");
    harness.stop().await;
}

#[tokio::test]
async fn python_and_rust_actors_call_each_other_through_every_workflow() {
    let Standalone { harness, actors: _actors, _data } =
        standalone(&["python-bridge", "python-joe", "joe", "router"]).await;
    let client = &harness.client;
    let joe_ends_with = |reply: Reply, language: &str| {
        assert!(reply.response.ends_with(language), "joe's reply {:?} should end with {language}", reply.response);
    };

    // invoke (sync): Python → Rust joe, with metadata; its reply comes back.
    joe_ends_with(client.call("bridge", "callRust", &request("py")).await, "py");
    // invoke (async): returns at once; joe gets it.
    let reply: Reply = client.call("bridge", "castRust", &request("cast")).await;
    assert_eq!(reply.response, "sent");
    eventually_has(client, "joe", "cast").await;
    // spawn from inside an action: a Python unnamed instance, then invoked.
    let reply: Reply = client.call("bridge", "spawnAbs", &request("zed")).await;
    assert_eq!(reply.response, "zed");
    // forward: joe gets the input and the caller joe's reply.
    joe_ends_with(client.call("bridge", "forwardToRust", &request("fwd")).await, "fwd");
    // pipe: joe gets the Python reply (upper-cased) and the caller joe's reply.
    joe_ends_with(client.call("bridge", "pipeToRust", &request("pipe")).await, "PIPE");
    // effect: after the turn, asynchronously.
    let reply: Reply = client.call("bridge", "effectToRust", &request("eff")).await;
    assert_eq!(reply.response, "ok");
    eventually_has(client, "joe", "eff").await;
    // broadcast: every subscriber of `test`, Rust joe and this Python actor.
    client.call_with("bridge", "broadcastToRust", Some(pack(&request("all"))), CallOptions::default()).await;
    eventually_has(client, "joe", "all").await;
    eventually_has(client, "bridge", "all").await;
    // Python → Rust router → its broadcast → back to the Python actor.
    let reply: Reply = client.call("bridge", "roundTrip", &request("round")).await;
    assert_eq!(reply.response, "ok");
    eventually_has(client, "bridge", "round").await;
    // Rust → Python: the Rust router's broadcast reaches the Python subscriber.
    client.call_with("router", "broadcastLanguage", Some(pack(&request("rusty"))), CallOptions::default()).await;
    eventually_has(client, "bridge", "rusty").await;
    harness.stop().await;
}

#[tokio::test]
async fn an_exception_a_loop_and_a_memory_hog_in_python_each_fail_alone() {
    let limits = Limits { call_timeout: Duration::from_secs(3), ..Limits::default() };
    let Standalone { harness, actors: _actors, _data } = standalone_with(&["python-hostile", "counter"], limits).await;
    let client = &harness.client;
    let reply: Reply = client.call("python_hostile", "ok", &request("a")).await;
    assert_eq!(reply.response, "a");

    let call =
        |action: &str| client.request("python_hostile", action, Some(pack(&request("x"))), CallOptions::default());
    let (status, code, message) = client.fail(&call("raise")).await;
    assert_eq!((status, code), (StatusCode::INTERNAL_SERVER_ERROR, pb::Status::Error as i32));
    assert!(message.contains("ValueError: no language like x"), "the exception is named: {message}");
    assert!(message.contains("main.py, line"), "and where it was raised: {message}");

    let started = Instant::now();
    let (status, _, message) = client.fail(&call("loop")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{message}");
    assert!(started.elapsed() < Duration::from_secs(8), "the deadline cut the loop: {:?}", started.elapsed());

    let (status, _, message) = client.fail(&call("hog")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{message}");

    // The failures changed nothing, and everything keeps serving.
    let reply: Reply = client.call("python_hostile", "ok", &request("b")).await;
    assert_eq!(reply.response, "a,b");
    let counter: Counter = client.call("counter", "increment", &Increment { by: 1 }).await;
    assert_eq!(counter.value, 1);
    harness.stop().await;
}

#[tokio::test]
async fn a_python_component_hot_reloads() {
    let Standalone { harness, actors, _data } = standalone(&[]).await;
    let client = &harness.client;
    let read = |name: &str| std::fs::read(examples_dir().join(format!("{name}.wasm"))).unwrap();
    let replace = |bytes: &[u8]| {
        std::fs::write(actors.path().join(".py.wasm.tmp"), bytes).unwrap();
        std::fs::rename(actors.path().join(".py.wasm.tmp"), actors.path().join("py.wasm")).unwrap();
    };
    let status = |actor: &str, action: &str, message: prost_types::Any| {
        let request = client.request(actor, action, Some(message), CallOptions::default());
        async move { client.send(&request).await.0 }
    };

    replace(&read("python-bridge"));
    eventually(Duration::from_secs(60), "python_counter is served", || async {
        status("python_counter", "increment", pack(&Increment { by: 1 })).await == StatusCode::OK
    })
    .await;
    replace(&read("python-joe"));
    eventually(Duration::from_secs(60), "the new version serves python_joe", || async {
        status("python_joe", "setLanguage", pack(&request("c"))).await == StatusCode::OK
    })
    .await;
    assert_eq!(status("python_counter", "increment", pack(&Increment { by: 1 })).await, StatusCode::NOT_FOUND);
    harness.stop().await;
}

#[tokio::test]
async fn python_actors_serve_a_spawn_proxy() {
    warm_cache();
    let actors = actors_dir(&["python-bridge"]);
    let cache = Some(code_cache());
    let harness =
        Harness::start_with_cache(actors, Limits::default(), HttpLimits::default(), Duration::ZERO, cache).await;
    let (proxy, client) = (&harness.proxy, &harness.client);

    // Registered from the component alone: actors, actions, channel.
    let registration = &proxy.log().registrations[0];
    let actors = &registration.actor_system.as_ref().unwrap().registry.as_ref().unwrap().actors;
    let bridge = actors.get("bridge").expect("bridge registered");
    assert!(bridge.actions.iter().any(|action| action.name == "callRust"));
    let channels = &bridge.metadata.as_ref().unwrap().channel_group;
    assert!(channels.iter().any(|channel| channel.topic == "test" && channel.action == "heard"), "{channels:?}");
    assert!(actors.contains_key("python_counter"));

    // The proxy sends the state; the Python actor answers the new one.
    let invocation = InvocationBuilder::new("python_counter", "increment")
        .state(&Counter { value: 1 })
        .payload(&Increment { by: 4 })
        .build();
    let response = client.invoke(&invocation).await;
    assert_eq!(reply::<Counter>(&response).value, 5);
    assert_eq!(new_state::<Counter>(&response).value, 5);

    // A Python actor's invoke goes through the proxy.
    proxy.answer_invocations(InvokeAnswer::Ok(Some(pack(&Reply { response: "from the proxy".into() }))));
    let response = client.invoke(&InvocationBuilder::new("bridge", "callRust").payload(&request("py")).build()).await;
    assert_eq!(reply::<Reply>(&response).response, "from the proxy");
    let log = proxy.log();
    let (actor, sent) = log.invocations.last().expect("the guest's call reached the proxy");
    assert_eq!((actor.as_str(), sent.action_name.as_str()), ("joe", "setLanguage"));
    assert_eq!(sent.metadata.get("via").map(String::as_str), Some("bridge"));

    // A pipe is returned to the proxy as a workflow.
    let response = client.invoke(&InvocationBuilder::new("bridge", "pipeToRust").payload(&request("py")).build()).await;
    let workflow = response.workflow.expect("a workflow");
    assert!(matches!(workflow.routing, Some(pb::workflow::Routing::Pipe(pipe)) if pipe.actor == "joe"));
}

#[test]
fn a_broken_python_build_names_the_file_and_line() {
    let (dir, output) = build_project(&[("main.py", "from spawn_wasm import Actor\n\nx = (\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a syntax error fails the build");
    assert!(stderr.contains("SyntaxError") && stderr.contains("main.py") && stderr.contains("line 3"), "{stderr}");
    assert!(!dir.path().join("out.wasm").exists());

    let (_dir, output) = build_project(&[(
        "main.py",
        "from spawn_wasm import Actor, ActorSettings, Kind\n\nactor = Actor(settings=ActorSettings(name=\"a\", kind=Kind.NAMLESS))\n",
    )]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("main.py\", line 3") && stderr.contains("NAMLESS"), "an unknown Kind: {stderr}");

    let (_dir, output) = build_project(&[("main.py", "from spawn_wasm import Actor\nimport nothing_like_this\n")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("main.py\", line 2") && stderr.contains("nothing_like_this"), "a missing import: {stderr}");

    let (_dir, output) = build_project(&[
        ("main.py", "from spawn_wasm import Actor\n"),
        ("proto/broken.proto", "syntax = \"proto3\";\nmessage Broken {\n  string = 1;\n}\n"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("broken.proto:3:"), "a .proto error names its file and line: {stderr}");
}

#[tokio::test]
async fn a_new_python_project_builds_and_serves() {
    a_new_project_builds_and_serves("python").await;
}
