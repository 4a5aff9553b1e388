//! Programs written for the official Spawn Python SDK (eigr/spawn-python-sdk), built with the
//! real `spawn-wasm build` and served in both modes (issue 26):
//!
//! - `tests/fixtures/official/python-sdk-example`: the SDK's own `example/`, unchanged (see its
//!   NOTICE.md): `joe` (named, stateful, channel `test`, a timer that broadcasts with an action
//!   name) and `abs_actor` (unnamed), and client code after `start()`, which a component does
//!   not run: the build warns about it, naming the lines.
//! - `tests/fixtures/official/python-api`: the API rows spawn-wasm once differed on, written
//!   with the official SDK's import paths and positional arguments.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use domain::{Reply, Request};
use spawn_wasm_host::http::HttpLimits;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

use crate::polyglot::{SPAWN_WASM, data_dir};

/// `prost::Name` for a message of the fixtures' protos, with the Spawn SDKs' type URL prefix.
macro_rules! named {
    ($message:ident, $package:literal) => {
        impl prost::Name for $message {
            const NAME: &'static str = stringify!($message);
            const PACKAGE: &'static str = $package;

            fn type_url() -> String {
                format!("type.googleapis.com/{}", Self::full_name())
            }
        }
    };
}

/// `domain.State` of the official example's proto (the examples' `domain` has no `State`).
#[derive(Clone, PartialEq, prost::Message)]
struct State {
    #[prost(string, repeated, tag = "1")]
    languages: Vec<String>,
}

named!(State, "domain");

/// `rows.Note` of the API fixture.
#[derive(Clone, PartialEq, prost::Message)]
struct Note {
    #[prost(string, tag = "1")]
    text: String,
}

named!(Note, "rows");

/// `rows.Log` of the API fixture.
#[derive(Clone, PartialEq, prost::Message)]
struct Log {
    #[prost(string, repeated, tag = "1")]
    lines: Vec<String>,
}

named!(Log, "rows");

/// A fixture built once per test run: the component and what the build printed.
struct Built {
    component: PathBuf,
    stderr: String,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/official").join(name)
}

/// `spawn-wasm build` of a fixture (with `--entry` when given), into the test run's target.
fn build(name: &str, entry: Option<&str>) -> Built {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("official-python").join(format!("{name}.wasm"));
    let mut command = Command::new(SPAWN_WASM);
    command.arg("build").arg(fixture(name)).arg("-o").arg(&out).arg("--force");
    if let Some(entry) = entry {
        command.args(["--entry", entry]);
    }
    let started = std::time::Instant::now();
    let output = command.output().expect("running spawn-wasm build");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "building {name} failed:\n{stderr}");
    eprintln!("built {name} in {:?}", started.elapsed());
    Built { component: out, stderr }
}

fn official_example() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build("python-sdk-example", Some("example.spawn_example")))
}

fn api_rows() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| build("python-api", None))
}

/// A fresh actors directory holding `built`.
fn actors(built: &Built) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&built.component, dir.path().join(built.component.file_name().unwrap())).unwrap();
    dir
}

fn instance(parent: &str) -> CallOptions {
    CallOptions { register_ref: parent.into(), ..CallOptions::default() }
}

fn request(language: &str) -> Request {
    Request { language: language.into() }
}

/// The warning lines of a build's output that name `file:line`.
fn warnings_at<'a>(built: &'a Built, place: &str) -> Vec<&'a str> {
    built.stderr.lines().filter(|line| line.starts_with("warning: ") && line.contains(place)).collect()
}

#[test]
fn the_official_example_builds_and_warns_about_its_client_code() {
    let built = official_example();
    let skipped = warnings_at(built, "example/spawn_example.py:21: ");
    assert!(
        skipped.iter().any(|line| line.contains("the code after Spawn.start() does not run in a component")),
        "{}",
        built.stderr
    );
    assert!(
        skipped.iter().any(|line| line.contains("Spawn.create_actor_ref(...) outside an action is not run")),
        "{}",
        built.stderr
    );
    let invoke = warnings_at(built, "example/spawn_example.py:27: ");
    assert!(invoke.iter().any(|line| line.contains("mike_actor.invoke(...) outside an action")), "{}", built.stderr);
    // Only the program's own lines are named: nothing about the actors' modules.
    assert_eq!(built.stderr.lines().filter(|line| line.starts_with("warning: ")).count(), 3, "{}", built.stderr);
}

#[tokio::test]
async fn the_official_example_answers_standalone() {
    let actors = actors(official_example());
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;

    // What the program's client part does: mike, an instance of abs_actor, learns a language.
    let reply = client.call_with("mike", "setLanguage", Some(pack(&request("erlang"))), instance("abs_actor")).await;
    assert_eq!(unpack::<Reply>(&reply.expect("a reply")).response, "erlang");
    assert_eq!(client.state::<State>("mike").await.languages, ["python"]);

    // joe's timer `hi` seeds its state and broadcasts `Request{python}` on `test` for
    // `setLanguage`; joe is subscribed, so its `setLanguage` makes the state `["erlang"]`.
    eventually(Duration::from_secs(20), "joe's broadcast reached its setLanguage", || async {
        client.state::<State>("joe").await.languages == ["erlang"]
    })
    .await;
    let reply: Reply = client.call("joe", "setLanguage", &request("python")).await;
    assert_eq!(reply.response, "erlang");
    harness.stop().await;
}

/// A sidecar host serving `built` against the test proxy, with the shared code cache.
async fn sidecar(built: &Built) -> Harness {
    let cache = Some(code_cache());
    Harness::start_with_cache(actors(built), Limits::default(), HttpLimits::default(), Duration::ZERO, cache).await
}

#[tokio::test]
async fn the_official_example_serves_a_spawn_proxy() {
    let harness = sidecar(official_example()).await;
    let (proxy, host) = (&harness.proxy, &harness.client);

    let registration = &proxy.log().registrations[0];
    let registered = &registration.actor_system.as_ref().unwrap().registry.as_ref().unwrap().actors;
    let joe = registered.get("joe").expect("joe registered");
    assert!(joe.actions.iter().any(|action| action.name == "setLanguage"), "{:?}", joe.actions);
    assert_eq!(joe.timer_actions.iter().map(|timer| timer.seconds).collect::<Vec<_>>(), [1000]);
    assert!(joe.metadata.as_ref().unwrap().channel_group.iter().any(|channel| channel.topic == "test"));
    let abstract_kind = registered.get("abs_actor").expect("abs_actor registered").settings.as_ref().unwrap().kind;
    assert_eq!(abstract_kind, pb::actors::Kind::Unnamed as i32);

    // The program's client part, through the proxy.
    let client = proxy.client();
    let answer = client.call_with("mike", "setLanguage", Some(pack(&request("erlang"))), instance("abs_actor")).await;
    assert_eq!(unpack::<Reply>(&answer.expect("a reply")).response, "erlang");
    let memory = proxy.memory("mike").await.expect("mike is active");
    assert_eq!(unpack::<State>(memory.state.as_ref().expect("a state")).languages, ["python"]);

    // joe's timer turn, as the proxy sends it: the state seeded, the broadcast in the workflow.
    let response = host.invoke(&InvocationBuilder::new("joe", "hi").build()).await;
    assert_eq!(new_state::<State>(&response).languages, ["python"]);
    assert!(matches!(response.payload, Some(pb::actor_invocation_response::Payload::Noop(_))), "{response:?}");
    let broadcast = response.workflow.and_then(|workflow| workflow.broadcast).expect("a broadcast");
    assert_eq!(broadcast.channel_group, "test");
    let Some(pb::broadcast::Payload::Value(value)) = broadcast.payload else { panic!("{broadcast:?}") };
    assert_eq!(unpack::<Request>(&value).language, "python");
    // The proxy delivers it to the subscription's action, `receive`: joe's setLanguage runs.
    let response = host
        .invoke(
            &InvocationBuilder::new("joe", "receive")
                .state(&State { languages: vec!["python".into()] })
                .payload(&unpack::<Request>(&value))
                .build(),
        )
        .await;
    assert_eq!(reply::<Reply>(&response).response, "erlang");
    assert_eq!(new_state::<State>(&response).languages, ["erlang"]);
}

#[test]
fn the_api_rows_build_with_their_warnings() {
    let built = api_rows();
    let effect = warnings_at(built, "main.py:54: ");
    assert!(
        effect.iter().any(|line| line.contains("Effect(system='other-system'): in a component an effect stays")),
        "{}",
        built.stderr
    );
    let client = warnings_at(built, "main.py:64: ");
    assert!(
        client.iter().any(|line| line.contains("Spawn.create_actor_ref(...) outside an action")),
        "{}",
        built.stderr
    );
    assert!(client.iter().any(|line| line.contains("ActorRef.invoke(...) outside an action")), "{}", built.stderr);
    // The positional `Effect("hear", "spawn-system", ...)` of the same actor's system is fine.
    assert!(warnings_at(built, "main.py:23: ").is_empty(), "{}", built.stderr);
}

#[tokio::test]
async fn the_api_rows_answer_standalone() {
    let actors = actors(api_rows());
    let data = data_dir();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;

    // Metadata and Value getters, ReplyKind, a positional Effect.
    let reply: Note = client.call("rows", "describe", &Note { text: "t1".into() }).await;
    assert_eq!(reply.text, "NO_REPLY|REPLY|t1|blue|effect|t1|described|False|True|True");
    assert_eq!(client.state::<Log>("rows").await.lines, ["t1"]);
    // `Value.metadata(m)`: its tags are the actor's, its metadata went with the effect.
    let tags: Note = client.call("rows", "tags", &Note::default()).await;
    assert_eq!(tags.text, "color=blue");
    let hears = |line: &'static str| async move {
        eventually(Duration::from_secs(15), &format!("listener heard {line}"), || async {
            client.state::<Log>("listener").await.lines.iter().any(|heard| heard == line)
        })
        .await
    };
    hears("effect:t1").await;

    // `Broadcast(channel, action_name, value)`, positional: the listener's `hear` gets it.
    let reply =
        client.call_with("rows", "shout", Some(pack(&Note { text: "loud".into() })), CallOptions::default()).await;
    assert!(reply.is_none(), "shout replies nothing");
    hears("loud:-").await;

    // An effect to another system fails the turn, saying why.
    let request = client.request("rows", "elsewhere", Some(pack(&Note::default())), CallOptions::default());
    let (_, _, message) = client.fail(&request).await;
    assert!(message.contains("an effect stays in its actor's system ('spawn-system')"), "{message}");
    harness.stop().await;
}

#[tokio::test]
async fn the_api_rows_serve_a_spawn_proxy() {
    let harness = sidecar(api_rows()).await;
    let response = harness
        .client
        .invoke(&InvocationBuilder::new("rows", "describe").payload(&Note { text: "t2".into() }).build())
        .await;
    assert_eq!(reply::<Note>(&response).text, "NO_REPLY|REPLY|t2|blue|effect|t2|described|False|True|True");
    let context = response.updated_context.as_ref().expect("an updated context");
    assert_eq!(context.tags.get("color").map(String::as_str), Some("blue"));
    let workflow = response.workflow.expect("a workflow");
    let effect = workflow.effects[0].request.as_ref().expect("an effect's request");
    assert_eq!(effect.actor.as_ref().and_then(|actor| actor.id.as_ref()).map(|id| id.name.as_str()), Some("listener"));
    assert_eq!(effect.action_name, "hear");
    assert_eq!(effect.metadata.get("trace").map(String::as_str), Some("t2"));
    let Some(pb::invocation_request::Payload::Value(value)) = &effect.payload else { panic!("{effect:?}") };
    assert_eq!(unpack::<Note>(value).text, "effect");

    let response = harness
        .client
        .invoke(&InvocationBuilder::new("rows", "shout").payload(&Note { text: "loud".into() }).build())
        .await;
    let broadcast = response.workflow.and_then(|workflow| workflow.broadcast).expect("a broadcast");
    assert_eq!(broadcast.channel_group, "rows");
    let Some(pb::broadcast::Payload::Value(value)) = broadcast.payload else { panic!("{broadcast:?}") };
    assert_eq!(unpack::<Note>(&value).text, "loud");
}
