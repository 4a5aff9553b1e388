//! Programs written for the official Spawn Node SDK, built unchanged with `spawn-wasm build`
//! and served in both modes (issue 26): the `spawn new node` template of eigr/spawn-templates
//! and the SDK's own test actors (`test/stubs/actors.ts` of eigr/spawn-node-sdk, its imports
//! pointed at the package). Their copies, with source and commit, are under
//! `tests/fixtures/official/js-*`. The answers asserted are the official SDK's tests'.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::StatusCode;
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

use crate::polyglot::{SPAWN_WASM, build_project, data_dir};

/// `prost::Name` for messages of the fixtures' `.proto` files, which declare no package: their
/// type URL is `type.googleapis.com/<Message>`.
macro_rules! unpackaged {
    ($($message:ident),*) => {$(
        impl prost::Name for $message {
            const NAME: &'static str = stringify!($message);
            const PACKAGE: &'static str = "";
            fn full_name() -> String {
                Self::NAME.into()
            }
            fn type_url() -> String {
                format!("type.googleapis.com/{}", Self::NAME)
            }
        }
    )*};
}

/// The template's `actors/hello.proto`.
#[derive(Clone, PartialEq, prost::Message)]
struct SayHelloRequest {
    #[prost(string, tag = "1")]
    message: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct SayHelloResponse {
    #[prost(string, tag = "1")]
    response: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct HelloWorldActorState {
    #[prost(int32, tag = "1")]
    times: i32,
    #[prost(string, tag = "2")]
    last_message: String,
}

/// The SDK's `protos/user_test.proto`.
#[derive(Clone, PartialEq, prost::Message)]
struct UserState {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    nickname: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChangeUserName {
    #[prost(string, tag = "1")]
    new_name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ChangeUserNameResponse {
    /// `ChangeUserNameStatus`: `NAME_ALREADY_TAKEN` = 0, `OK` = 1.
    #[prost(int32, tag = "1")]
    status: i32,
    #[prost(string, tag = "2")]
    new_name: String,
}

unpackaged!(SayHelloRequest, SayHelloResponse, HelloWorldActorState, UserState, ChangeUserName, ChangeUserNameResponse);

/// `ChangeUserNameStatus.OK`.
const OK: i32 = 1;

/// An official program and how it is built.
struct Program {
    /// Its directory under `tests/fixtures/official/`.
    fixture: &'static str,
    /// `--entry`, where the program's layout needs one.
    entry: Option<&'static str>,
    /// The component's file name.
    component: &'static str,
}

/// The `spawn new node` template, built as it is.
const TEMPLATE: Program = Program { fixture: "js-template", entry: None, component: "hello-world.wasm" };
/// The Node SDK's test actors, registered as its tests do (`index.ts`, the `package.json`'s `main`).
const SDK_ACTORS: Program = Program { fixture: "js-node-sdk", entry: None, component: "sdk-actors.wasm" };
/// The same without the pooled actor, which the Spawn proxy does not serve.
const SDK_ACTORS_SIDECAR: Program =
    Program { fixture: "js-node-sdk", entry: Some("sidecar.ts"), component: "sdk-actors-sidecar.wasm" };

/// Runs `spawn-wasm build` on `program` into `target/tmp/official-js/` (where an unchanged
/// program's build is skipped by the builder's stamp); returns the component's path.
fn build(program: &Program) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/official").join(program.fixture);
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("official-js").join(program.component);
    let mut command = Command::new(SPAWN_WASM);
    command.arg("build").arg(&dir).arg("-o").arg(&out);
    if let Some(entry) = program.entry {
        command.args(["--entry", entry]);
    }
    let output = command.output().expect("running spawn-wasm build");
    assert!(
        output.status.success(),
        "{} failed to build:\n{}",
        program.fixture,
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// The component of `program`, built once per test run.
fn component(cell: &'static OnceLock<PathBuf>, program: &Program) -> &'static Path {
    cell.get_or_init(|| build(program))
}

fn template() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    component(&BUILT, &TEMPLATE)
}

fn sdk_actors() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    component(&BUILT, &SDK_ACTORS)
}

fn sdk_actors_sidecar() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    component(&BUILT, &SDK_ACTORS_SIDECAR)
}

/// A fresh actors directory holding `component`.
fn actors_with(component: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(component, dir.path().join(component.file_name().unwrap())).unwrap();
    dir
}

/// A sidecar host serving `component` registered with a test proxy that behaves like the stock
/// one, sharing the compiled-code cache.
async fn sidecar(component: &Path) -> Harness {
    Harness::start_with_cache(
        actors_with(component),
        Limits::default(),
        HttpLimits::default(),
        Duration::ZERO,
        Some(code_cache()),
    )
    .await
}

fn change(name: &str) -> Option<prost_types::Any> {
    Some(pack(&ChangeUserName { new_name: name.into() }))
}

fn with_metadata(key: &str, value: &str) -> CallOptions {
    CallOptions { metadata: vec![(key.into(), value.into())], ..CallOptions::default() }
}

/// A JSON document as the Node SDK's clients send it.
fn json(value: serde_json::Value) -> prost_types::Any {
    pack(&pb::JsonType { content: value.to_string() })
}

/// The value of a JSON document reply.
fn json_of(reply: Option<prost_types::Any>) -> serde_json::Value {
    let document: pb::JsonType = unpack(&reply.expect("a JSON reply"));
    serde_json::from_str(&document.content).expect("JSON content")
}

/// `HelloWorldActor.SayHello` twice: the first turn starts from the state type's empty message
/// (`context.state.times` is 0, not a TypeError), the count goes on.
async fn the_template_says_hello(client: &ClientApi) {
    for times in 1..=2 {
        let reply: SayHelloResponse =
            client.call("HelloWorldActor", "SayHello", &SayHelloRequest { message: "World".into() }).await;
        assert_eq!(reply.response, format!("Hello, World! This was executed: {times} times"));
    }
    let state: HelloWorldActorState = client.state("HelloWorldActor").await;
    assert_eq!(state, HelloWorldActorState { times: 2, last_message: "World".into() });
}

/// `spawn-invoke.test.ts` and `spawn-abstract.test.ts`: state, replies, metadata and tags,
/// unnamed instances, through `client` (the standalone runtime or the proxy).
async fn the_sdk_actors_answer_as_in_the_sdks_tests(client: &ClientApi) {
    // The listener's state before any turn: the empty UserState.
    assert_eq!(client.state::<UserState>("broadcast_listener").await, UserState::default());

    let unknown = client.request("broadcast_listener", "unknown", None, CallOptions::default());
    assert!(!client.send(&unknown).await.0.is_success(), "an unknown action fails");

    let reply = client.call_with("MockUserActor", "setName", change("novo_nome"), CallOptions::default()).await;
    assert_eq!(
        unpack::<ChangeUserNameResponse>(&reply.unwrap()),
        ChangeUserNameResponse { status: OK, new_name: "novo_nome".into() }
    );
    assert_eq!(client.state::<UserState>("MockUserActor").await.name, "novo_nome");

    // Metadata in, tags out: `init` added its tag to the initial one on activation.
    let options = with_metadata("metakey", "newNameMeta");
    let reply = client.call_with("MockUserActor", "setNameMetadata", change("newNameToIgnore"), options).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).new_name, "newNameMeta");
    let reply = client.call_with("MockUserActor", "getTagsName", None, CallOptions::default()).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).new_name, "newNameMeta-initialTags-initTag");
    assert_eq!(client.state::<UserState>("MockUserActor").await.name, "newNameMeta");

    // An asynchronous call without a reply changes the state.
    let cast = CallOptions { asynchronous: true, ..CallOptions::default() };
    assert_eq!(client.call_with("MockUserActor", "noreplyChangeName", None, cast).await, None);
    eventually(Duration::from_secs(10), "noreplyChangeName ran", || async {
        client.state::<UserState>("MockUserActor").await.name == "noreplyNameOk"
    })
    .await;

    // Unnamed: spawned, then invoked; and invoked directly with `ref`.
    let (status, _) = client.spawn("namedActorTest_01", "unnamedActorTest").await;
    assert_eq!(status, StatusCode::OK);
    let reply = client.call_with("namedActorTest_01", "setName", change("novo_nome"), CallOptions::default()).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).new_name, "novo_nome");
    let by_ref = CallOptions { register_ref: "unnamedActorTest".into(), ..CallOptions::default() };
    let reply = client.call_with("namedActorTest_02", "setName", change("novo_nome"), by_ref).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).status, OK);
}

/// `spawn-invoke-json.test.ts`: a JSON actor (no `stateType`, the official default) whose
/// `init` seeds `{sum: 0}` and whose `plusOne` replies JSON (`responseType: 'json'`).
async fn the_json_actor_answers_json(client: &ClientApi) {
    let state = client.call_with("json_actor01", "getState", None, CallOptions::default()).await;
    assert_eq!(json_of(state), serde_json::json!({"sum": 0}));
    let payload = Some(json(serde_json::json!({"value": 1, "fwf": 1})));
    let reply = client.call_with("json_actor01", "plusOne", payload, CallOptions::default()).await;
    assert_eq!(json_of(reply), serde_json::json!({"sum": 2}));
    let state = client.call_with("json_actor01", "getState", None, CallOptions::default()).await;
    assert_eq!(json_of(state), serde_json::json!({"sum": 2}));
}

#[tokio::test]
async fn the_node_template_builds_unchanged_and_greets_in_both_modes() {
    let actors = actors_with(template());
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    the_template_says_hello(&harness.client).await;
    // JSON in and out, through the descriptors of the template's `.proto` files.
    let body = serde_json::json!({
        "actionName": "SayHello",
        "value": {"@type": "type.googleapis.com/SayHelloRequest", "message": "JSON"}
    });
    let (status, answer) = harness.client.invoke_json("HelloWorldActor", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"]["response"], "Hello, JSON! This was executed: 3 times");
    harness.stop().await;

    let harness = sidecar(template()).await;
    the_template_says_hello(&harness.proxy.client()).await;
    assert_eq!(harness.proxy.log().crashes, Vec::<String>::new());
}

#[tokio::test]
async fn the_node_sdks_test_actors_run_standalone() {
    let actors = actors_with(sdk_actors());
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    the_sdk_actors_answer_as_in_the_sdks_tests(client).await;
    the_json_actor_answers_json(client).await;
    // Over the JSON API, a JSON document is a `spawn.JSONType` (of the protocol's descriptors).
    let body = serde_json::json!({
        "actionName": "plusOne",
        "value": {"@type": "type.googleapis.com/spawn.JSONType", "content": "{\"value\": 5}"}
    });
    let (status, answer) = client.invoke_json("json_actor01", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"]["content"], "{\"sum\":6}");

    // `actors-workflow.test.ts`: pipe and forward through the transformer.
    let reply = client.call_with("MockUserActor", "pipeTest", change("newNameInput"), CallOptions::default()).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).new_name, "transformed newNameInputInternal");
    assert_eq!(client.state::<UserState>("MockUserActor").await.name, "pipe_initial");
    let reply =
        client.call_with("MockUserActor", "forwardTest", change("newNameForward"), CallOptions::default()).await;
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply.unwrap()).new_name, "transformed newNameForward");
    assert_eq!(client.state::<UserState>("MockUserActor").await.name, "forward_initial");

    // A broadcast on `broadcast_test` reaches the subscribed listener.
    client.call_with("MockUserActor", "broadcastTest", None, CallOptions::default()).await;
    eventually(Duration::from_secs(10), "the listener heard the broadcast", || async {
        client.state::<UserState>("broadcast_listener").await.name == "afterBroadcast"
    })
    .await;

    // `scheduledTo: 1_000` on an effect is a delay: `afterEffect` lands a second later, not at once.
    let sent = unix_ms();
    client.call_with("MockUserActor", "effectsTest", change("newNameForward"), CallOptions::default()).await;
    eventually(Duration::from_secs(10), "the effect ran", || async {
        client.state::<UserState>("MockUserActor").await.name == "afterEffect"
    })
    .await;
    let waited = unix_ms() - sent;
    assert!(waited >= 1_000, "the effect ran {waited} ms after the call, before its delay of 1 000 ms");

    // `spawn-pooled.test.ts`: standalone serves the pooled actor.
    let reply =
        client.call_with("pooledActorExample", "setName", change("pooled"), CallOptions::default()).await.unwrap();
    assert_eq!(unpack::<ChangeUserNameResponse>(&reply).new_name, "pooled-set");
    harness.stop().await;
}

#[tokio::test]
async fn the_node_sdks_test_actors_run_behind_the_proxy() {
    let harness = sidecar(sdk_actors_sidecar()).await;
    let client = harness.proxy.client();
    the_sdk_actors_answer_as_in_the_sdks_tests(&client).await;
    the_json_actor_answers_json(&client).await;
    assert_eq!(harness.proxy.log().crashes, Vec::<String>::new());

    // The proxy runs workflows: what the host hands it. The effect is due a second after the
    // turn (the official `scheduledTo: 1_000`), as the Node SDK sends it.
    let before = unix_ms();
    let effects = InvocationBuilder::new("MockUserActor", "effectsTest")
        .payload(&ChangeUserName { new_name: "x".into() })
        .state(&UserState::default())
        .build();
    let response = harness.client.invoke(&effects).await;
    let after = unix_ms();
    assert_eq!(new_state::<UserState>(&response).name, "effectsInitial");
    let effect = response.workflow.unwrap().effects[0].request.clone().unwrap();
    assert_eq!(effect.action_name, "afterEffect");
    assert!(
        (before + 1_000..=after + 1_000).contains(&effect.scheduled_to),
        "scheduled_to {} is not a second after the turn ({before}..{after})",
        effect.scheduled_to
    );

    let pipe = InvocationBuilder::new("MockUserActor", "pipeTest").payload(&ChangeUserName { new_name: "in".into() });
    let response = harness.client.invoke(&pipe.build()).await;
    assert_eq!(reply::<ChangeUserName>(&response).new_name, "inInternal");
    match response.workflow.unwrap().routing {
        Some(pb::workflow::Routing::Pipe(pipe)) => {
            assert_eq!((pipe.actor.as_str(), pipe.action_name.as_str()), ("userActorTransformerTest", "transform"))
        }
        other => panic!("expected a pipe, got {other:?}"),
    }
}

#[test]
fn what_a_component_cannot_honour_is_a_build_warning_naming_the_line() {
    let main = "import spawn, { Kind, Value } from '@eigr/spawn-sdk'\n\
                const system = spawn.createSystem('spawn-system')\n\
                system.buildActor({ name: 'pool', kind: Kind.POOLED, stateful: false })\n\
                \x20 .addAction({ name: 'ping' }, async () => Value.of())\n\
                system.register().then(() => spawn.invoke('pool', { action: 'ping' }))\n\
                spawn.spawnActor('p1', { actorRef: 'pool' })\n";
    let (dir, output) =
        build_project(&[("package.json", r#"{"name": "client", "main": "index.js"}"#), ("index.ts", main)]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(dir.path().join("out.wasm").is_file(), "`main: index.js` builds index.ts");
    for expected in [
        "spawn-wasm build: warning: index.ts:3: actor pool is pooled",
        "spawn-wasm build: warning: index.ts:5: spawn.invoke('pool', { action: 'ping' }) outside an action does nothing",
        "spawn-wasm build: warning: index.ts:6: spawn.spawnActor('p1', { actorRef: 'pool' }) outside an action does nothing",
    ] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}
