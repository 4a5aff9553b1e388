//! Typed actions: components built with the SDKs say what each action takes and answers,
//! so that the JSON client API and `spawn-wasm invoke` accept a bare JSON object. A
//! component built for WIT 0.1 (`examples/rust/legacy`, built from a frozen copy of the
//! 0.1.0 WIT) is refused with a message saying how to rebuild it; the others serve on.

use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

fn invocation(actor: &str, action: &str, value: Value) -> String {
    json!({"actor": {"id": {"name": actor}}, "actionName": action, "value": value}).to_string()
}

#[tokio::test]
async fn a_bare_json_object_takes_the_type_its_action_declares() {
    let actors = actors_dir(&["counter", "joe"]);
    std::fs::copy(fixtures_dir().join("legacy.wasm"), actors.path().join("legacy.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;

    let (status, answer) = client.invoke_json("counter", &invocation("counter", "increment", json!({"by": 4}))).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"], json!({"@type": "type.googleapis.com/domain.Counter", "value": 4}));
    // An unnamed instance: its template's declaration.
    client.spawn("c-typed", "counters").await;
    let (status, answer) = client.invoke_json("c-typed", &invocation("c-typed", "increment", json!({"by": 2}))).await;
    assert_eq!((status, &answer["value"]["value"]), (StatusCode::OK, &json!(2)), "{answer}");
    // An explicit "@type" still wins: a wrong one is refused by the actor, as before.
    let wrong = json!({"@type": "type.googleapis.com/domain.Request", "language": "x"});
    let (status, _) = client.invoke_json("counter", &invocation("counter", "increment", wrong)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);

    // An action without an input type takes a bare object only with its "@type": a clear 400.
    let (status, answer) = client.invoke_json("c-typed", &invocation("c-typed", "init", json!({"by": 1}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = answer["status"]["message"].as_str().unwrap();
    assert!(message.contains("`c-typed.init` declares no input type"), "{message}");
    // An unknown actor stays a 404, typed or not; so is the refused 0.1 component's.
    for actor in ["nobody", "legacy"] {
        let (status, _) = client.invoke_json(actor, &invocation(actor, "remember", json!({"a": 1}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    // /v1/modules lists each actor's actions with their types.
    let modules: Value =
        serde_json::from_str(&reqwest_get(&format!("{}/v1/modules", client.base_url())).await).unwrap();
    let file = |name: &str| {
        modules.as_array().unwrap().iter().find(|file| file["file"].as_str().unwrap().ends_with(name)).unwrap().clone()
    };
    let joe = file("joe.wasm");
    assert_eq!(
        joe["actions"]["joe"][0],
        json!({"name": "setLanguage", "input": "domain.Request", "output": "domain.Reply"})
    );
    assert_eq!(joe["actions"]["abs_actor"][0]["input"], "domain.Request");
    let legacy = file("legacy.wasm");
    let error = legacy["last_error"].as_str().unwrap();
    assert!(
        error.contains("built for spawn:actor@0.1.0, but this host supports spawn:actor@0.2.0")
            && error.contains("rebuild it with this release's SDK: `spawn-wasm build <project>`"),
        "{legacy}"
    );
    harness.stop().await;
}

async fn reqwest_get(url: &str) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn invoke_from_the_terminal_needs_no_type() {
    let actors = actors_dir(&["joe", "counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let url = harness.client.base_url().to_owned();
    let cli = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).chain(["--url".into(), url.clone()]).collect();
        tokio::task::spawn_blocking(move || Command::new(SPAWN_WASM).args(&args).output().unwrap())
    };
    // The issue's first command, as a new user types it.
    let output = cli(&["invoke", "joe", "setLanguage", "--data", r#"{"language": "rust"}"#]).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reply: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(reply["response"].as_str().unwrap().ends_with("rust"), "{reply}");
    assert_eq!(reply["@type"], "type.googleapis.com/domain.Reply");

    harness.client.spawn("c-cli", "counters").await;
    let output = cli(&["invoke", "c-cli", "init", "--data", r#"{"by": 1}"#]).await.unwrap();
    spawn_wasm_tests::assert_refused(&output, &["declares no input type", "400"]);
    let output =
        cli(&["invoke", "c-cli", "increment", "--type", "domain.Increment", "--data", r#"{"by": 3}"#]).await.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    harness.stop().await;
}

#[test]
fn inspect_lists_actions_with_their_types() {
    let output =
        Command::new(SPAWN_WASM).args(["inspect", "--json"]).arg(examples_dir().join("counter.wasm")).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["wit"], "spawn:actor@0.2.0");
    let counters = &report["actors"][1];
    assert_eq!(
        counters["actions"][0],
        json!({"name": "init", "input": null, "output": null}),
        "`()` declares no input"
    );
    assert_eq!(
        counters["actions"][1],
        json!({"name": "increment", "input": "domain.Increment", "output": "domain.Counter"})
    );

    let output = Command::new(SPAWN_WASM).arg("inspect").arg(fixtures_dir().join("legacy.wasm")).output().unwrap();
    spawn_wasm_tests::assert_refused(&output, &["spawn:actor@0.1.0", "rebuild it"]);
}
