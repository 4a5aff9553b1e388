//! What the tests of components built by `spawn-wasm build` (Python, JavaScript) share: one
//! compiled-code cache, building a project from files, and a scaffolded project served.
//!
//! Those components are 12–30 MB of WebAssembly: compiling one takes seconds to tens of
//! seconds in a debug host. Every standalone host of the tests keeps compiled code in
//! [`spawn_wasm_tests::code_cache`], and each set of components is compiled into it once per
//! test run (by loading them in a runtime) while the tests that need it wait.

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::http::StatusCode;
use spawn_wasm_tests::{StandaloneHarness, actors_dir};

/// The `spawn-wasm` binary.
pub const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// A fresh data directory (compiled code is in the shared cache, not in it).
pub fn data_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Compiles `components` into the shared cache, once per test run; concurrent callers for
/// the same set wait for the first.
pub fn warm(components: &'static [&'static str]) {
    static SETS: OnceLock<Mutex<HashMap<String, Arc<OnceLock<()>>>>> = OnceLock::new();
    let once = SETS.get_or_init(Default::default).lock().unwrap().entry(components.join(",")).or_default().clone();
    once.get_or_init(|| {
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async {
                let started = Instant::now();
                let actors = actors_dir(components);
                let data = data_dir();
                StandaloneHarness::start(actors.path(), data.path()).await.stop().await;
                eprintln!("{components:?} loaded (compiled or cached) in {:?}", started.elapsed());
            })
        })
        .join()
        .expect("loading the components");
    });
}

/// Writes a project of `files` into a fresh directory and runs `spawn-wasm build` on it.
pub fn build_project(files: &[(&str, &str)]) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let output = Command::new(SPAWN_WASM)
        .arg("build")
        .arg(dir.path())
        .arg("-o")
        .arg(dir.path().join("out.wasm"))
        .output()
        .expect("running spawn-wasm build");
    (dir, output)
}

/// `spawn-wasm new --lang LANG greeter`, built with `spawn-wasm build` and served: its
/// `greet` answers over JSON (through the descriptors the component exports).
pub async fn a_new_project_builds_and_serves(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new(SPAWN_WASM).args(["new", "--lang", lang, "greeter", "--dir"]).arg(dir.path()).status().unwrap();
    assert!(status.success());
    let project = dir.path().join("greeter");
    let actors = dir.path().join("actors");
    let output = Command::new(SPAWN_WASM)
        .arg("build")
        .arg(&project)
        .arg("-o")
        .arg(actors.join("greeter.wasm"))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // A Python build runs the project's code on this machine, and says so first; a JS one
    // runs it only inside the component.
    let warned = String::from_utf8_lossy(&output.stderr).contains("building runs this project's code");
    assert_eq!(warned, lang == "python", "{}", String::from_utf8_lossy(&output.stderr));

    let data = data_dir();
    let harness = StandaloneHarness::start(&actors, data.path()).await;
    let body = serde_json::json!({
        "actor": {"id": {"name": "greeter"}},
        "actionName": "greet",
        "value": {"@type": "type.googleapis.com/greeter.Greet", "name": "Ada"}
    });
    let (status, answer) = harness.client.invoke_json("greeter", &body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["value"]["text"], "Hello, Ada! (1 greetings so far)");
    harness.stop().await;
}

/// `Request{language}`, the examples' input message.
pub fn request(language: &str) -> domain::Request {
    domain::Request { language: language.into() }
}

/// The languages in `actor`'s `JoeState`.
pub async fn languages(client: &spawn_wasm_tests::ClientApi, actor: &str) -> Vec<String> {
    client.state::<domain::JoeState>(actor).await.languages
}

/// Waits until `actor`'s state lists `language` (a side effect or a timer lands later).
pub async fn eventually_has(client: &spawn_wasm_tests::ClientApi, actor: &str, language: &str) {
    spawn_wasm_tests::eventually(
        std::time::Duration::from_secs(15),
        &format!("{actor}'s state has {language}"),
        || async { languages(client, actor).await.iter().any(|l| l == language) },
    )
    .await;
}
