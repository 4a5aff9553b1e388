//! The operator's ceiling over what modules are granted, against the binary: a module's TOML
//! asking beyond `--grantable-dirs` or `--allowed-outbound-hosts` is refused at load naming
//! the setting that would allow it (the other modules keep serving), what is within the
//! ceiling serves, no grant reaches the host's own API, and `/v1/modules` and `inspect` show
//! each module's effective grants.

use std::path::Path;
use std::process::Command;

use domain::{Counter, Increment, Reply, Request};
use serde_json::Value;
use spawn_wasm_tests::*;

use crate::outbound_http::LOOPBACK_ALLOWED;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

fn request(text: &str) -> Request {
    Request { language: text.into() }
}

/// `/v1/modules`' entry for `hostile.wasm`.
async fn hostile_status(process: &HostProcess) -> Value {
    let url = format!("{}/v1/modules", process.client.base_url());
    let modules: Value = serde_json::from_str(&reqwest::get(url).await.unwrap().text().await.unwrap()).unwrap();
    let files = modules.as_array().expect("a list of files").clone();
    files
        .into_iter()
        .find(|file| file["file"].as_str().is_some_and(|name| name.ends_with("hostile.wasm")))
        .expect("hostile.wasm is listed")
}

/// Why `hostile.wasm` was refused, after checking that it does not serve and that the other
/// module (`counter`) does.
async fn refusal(process: &HostProcess) -> String {
    let status = hostile_status(process).await;
    assert!(status["hash"].is_null(), "nothing of hostile serves: {status}");
    let (code, _, _) =
        process.client.fail(&process.client.request("hostile", "env", None, CallOptions::default())).await;
    assert_ne!(code, axum::http::StatusCode::OK);
    let counter: Counter = process.client.call("counter", "increment", &Increment { by: 2 }).await;
    assert!(counter.value >= 2, "the other modules serve");
    status["last_error"].as_str().expect("a reason").to_owned()
}

fn grant_dir(actors: &Path, guest: &str, host: &Path) {
    let settings = format!("[grants]\nread_only_dirs = {{ \"{guest}\" = \"{}\" }}\n", host.display());
    write_file(actors, "hostile.toml", settings.as_bytes());
}

#[tokio::test]
async fn a_directory_is_granted_only_under_a_root_the_operator_names() {
    let actors = actors_dir(&["hostile", "counter"]);
    let data = tempfile::tempdir().unwrap();
    let shared = tempfile::tempdir().unwrap();
    write_file(shared.path(), "note.txt", b"twelve bytes");
    grant_dir(actors.path(), "/shared", shared.path());

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let refused = refusal(&process).await;
    assert!(
        refused.contains("hostile.toml")
            && refused.contains("grants.read_only_dirs")
            && refused.contains("the host names none")
            && refused.contains("--grantable-dirs"),
        "{refused}"
    );
    drop(process);

    let root = shared.path().to_str().unwrap();
    let process =
        HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("SPAWN_WASM_GRANTABLE_DIRS", root)]).await;
    let read: Reply = process.client.call("hostile", "readFile", &request("/shared/note.txt")).await;
    assert_eq!(read.response, "read 12 bytes");
    let grants = &hostile_status(&process).await["grants"];
    assert_eq!(grants["read_only_dirs"]["/shared"], shared.path().canonicalize().unwrap().to_str().unwrap());
    drop(process);

    // The review's case: the whole file system, even under a root of `/`, holds /proc (the
    // host's environment, token included) and the host's own data.
    grant_dir(actors.path(), "/h", Path::new("/"));
    let process =
        HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("SPAWN_WASM_GRANTABLE_DIRS", "/")]).await;
    let refused = refusal(&process).await;
    assert!(refused.contains("/proc") && refused.contains("never granted"), "{refused}");
    drop(process);

    // A root that holds the data directory still never grants it.
    let parent = tempfile::tempdir().unwrap();
    let inner_data = parent.path().join("data");
    grant_dir(actors.path(), "/h", parent.path());
    let process = HostProcess::standalone(
        SPAWN_WASM,
        actors.path(),
        &inner_data,
        &[("SPAWN_WASM_GRANTABLE_DIRS", parent.path().to_str().unwrap())],
    )
    .await;
    let refused = refusal(&process).await;
    assert!(refused.contains("keeps for itself"), "{refused}");
}

#[tokio::test]
async fn a_loopback_grant_needs_the_operator_and_never_reaches_the_hosts_own_api() {
    let actors = actors_dir(&["hostile", "counter"]);
    let data = tempfile::tempdir().unwrap();
    write_file(actors.path(), "hostile.toml", b"[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n");

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let refused = refusal(&process).await;
    assert!(
        refused.contains("`http://127.0.0.1:*` names 127.0.0.1")
            && refused.contains("not a public address")
            && refused.contains("--allowed-outbound-hosts"),
        "{refused}"
    );
    drop(process);

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[LOOPBACK_ALLOWED]).await;
    let own_state = format!("{}/api/v1/system/spawn-system/actors/counter/state", process.client.base_url());
    let reply: Reply = process.client.call("hostile", "fetch", &request(&own_state)).await;
    assert!(
        reply.response.contains("this host's own API") && reply.response.contains("--allowed-outbound-hosts"),
        "a wildcard port does not reach the host itself: {}",
        reply.response
    );
    let grants = &hostile_status(&process).await["grants"];
    assert_eq!(grants["allowed_outbound_hosts"], serde_json::json!(["http://127.0.0.1:*"]));
    assert_eq!(grants["narrowed_by_host"][0], "http://127.0.0.1:*");
    let log = process.log();
    assert!(log.contains("this host's own API"), "the refusal is logged:\n{log}");
}

#[tokio::test]
async fn inspect_shows_a_modules_grants_under_the_policy_given() {
    let actors = actors_dir(&["hostile"]);
    let shared = tempfile::tempdir().unwrap();
    let settings = format!(
        "[grants]\nenv = {{ GREETING = \"a secret value\" }}\nread_only_dirs = {{ \"/shared\" = \"{}\" }}\n",
        shared.path().display()
    );
    write_file(actors.path(), "hostile.toml", settings.as_bytes());
    let wasm = actors.path().join("hostile.wasm");

    let refused = Command::new(SPAWN_WASM).arg("inspect").arg(&wasm).output().unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--grantable-dirs"), "{stderr}");

    let root = shared.path().to_str().unwrap();
    let text = Command::new(SPAWN_WASM).args(["inspect", "--grantable-dirs", root]).arg(&wasm).output().unwrap();
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    assert!(stdout.contains("grants env: GREETING") && stdout.contains("grants read-only dir: /shared = "), "{stdout}");
    assert!(!stdout.contains("a secret value"), "a variable's value is never shown: {stdout}");

    let json =
        Command::new(SPAWN_WASM).args(["inspect", "--json", "--grantable-dirs", root]).arg(&wasm).output().unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["grants"]["env"], serde_json::json!(["GREETING"]));
    assert_eq!(report["grants"]["read_only_dirs"]["/shared"], shared.path().canonicalize().unwrap().to_str().unwrap());
}

#[tokio::test]
async fn a_sidecars_guest_cannot_reach_its_proxy_even_with_loopback_allowed() {
    let proxy = TestProxy::start().await;
    let actors = actors_dir(&["hostile"]);
    write_file(actors.path(), "hostile.toml", b"[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n");
    let _sidecar = HostProcess::sidecar(SPAWN_WASM, actors.path(), &proxy, &[LOOPBACK_ALLOWED]).await;
    let target = format!("{}/api/v1/system/spawn-system/actors/hostile/invoke", proxy.url());
    let reply: Reply = proxy.client().call("hostile", "fetch", &request(&target)).await;
    assert!(
        reply.response.contains("own API (or its Spawn proxy's)"),
        "the proxy's unauthenticated API is not a guest's destination: {}",
        reply.response
    );
}
