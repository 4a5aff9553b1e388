//! `spawn-wasm new`: the scaffolded crate builds for wasm32-wasip2 and its actor serves.

use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

#[tokio::test]
async fn a_new_actor_crate_builds_and_serves() {
    let workspace = tempfile::tempdir().unwrap();
    let sdk = xtask::workspace_root().join("guest-sdk").join("rust");
    let output = std::process::Command::new(SPAWN_WASM)
        .args(["new", "hello-actor", "--dir"])
        .arg(workspace.path())
        .arg("--sdk")
        .arg(&sdk)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let crate_dir = workspace.path().join("hello-actor");
    // Its own target directory (kept between runs), so that it never waits on the outer build.
    let target_dir = xtask::workspace_root().join("target").join("scaffold");
    let built = tokio::task::spawn_blocking({
        let (crate_dir, target_dir) = (crate_dir.clone(), target_dir.clone());
        move || {
            xtask::cargo()
                .current_dir(&crate_dir)
                .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
                .arg(&target_dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(built.status.success(), "the scaffold must build:\n{}", String::from_utf8_lossy(&built.stderr));

    let actors = tempfile::tempdir().unwrap();
    std::fs::copy(target_dir.join("wasm32-wasip2/release/hello_actor.wasm"), actors.path().join("hello_actor.wasm"))
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let body = serde_json::json!({
        "actor": {"id": {"name": "hello-actor"}},
        "actionName": "greet",
        "value": {"@type": "type.googleapis.com/hello_actor.Greet", "name": "Ada"}
    });
    let (status, answer) = harness.client.invoke_json("hello-actor", &body.to_string()).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(answer["value"]["text"], "Hello, Ada! (1 greetings so far)");
    harness.stop().await;
}

/// `spawn-wasm new PATH` takes a path as `cargo new` does: the directories before its last
/// component may exist or not, the last names the project (`-` read as `_` in Python and
/// JavaScript names).
#[test]
fn new_takes_a_path_whose_last_component_names_the_project() {
    let workspace = tempfile::tempdir().unwrap();
    for lang in ["python", "js"] {
        let path = format!("nested/{lang}/my-actor");
        let output = std::process::Command::new(SPAWN_WASM)
            .current_dir(workspace.path())
            .args(["new", "--lang", lang, &path])
            .output()
            .unwrap();
        assert!(output.status.success(), "{lang}: {}", String::from_utf8_lossy(&output.stderr));
        let project = workspace.path().join(&path);
        let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
        assert!(
            readme.contains("my_actor") && !readme.contains("actor_name"),
            "{lang}: the name is filled in:\n{readme}"
        );

        let again = std::process::Command::new(SPAWN_WASM)
            .current_dir(workspace.path())
            .args(["new", "--lang", lang, &path])
            .output()
            .unwrap();
        assert!(!again.status.success(), "{lang}: an existing directory is not overwritten");
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    }
    let root = std::process::Command::new(SPAWN_WASM).args(["new", "--lang", "python", "/"]).output().unwrap();
    assert!(!root.status.success());
    assert!(String::from_utf8_lossy(&root.stderr).contains("names no directory to create"));
}
