//! Operating spawn-wasm: Prometheus metrics, `inspect`, JSON logs, module introspection.

use std::process::Command;

use domain::{Counter, Increment, Request};
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// The value of the sample `name{labels}` in a Prometheus text exposition.
fn sample(metrics: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = if labels.is_empty() { format!("{name} ") } else { format!("{name}{{{labels}}} ") };
    metrics.lines().find_map(|line| line.strip_prefix(&prefix)).and_then(|value| value.trim().parse().ok())
}

async fn scrape(client: &ClientApi) -> String {
    assert_eq!(client.get_status("/metrics").await, axum::http::StatusCode::OK);
    let response = reqwest::get(format!("{}/metrics", client.base_url())).await.unwrap();
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_invocations_outcomes_actors_and_modules() {
    let actors = actors_dir(&["counter", "hostile"]);
    let data = tempfile::tempdir().unwrap();
    write_file(actors.path(), "broken.wasm", b"not a component");
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    for _ in 0..3 {
        let _: Counter = client.call("counter", "increment", &Increment { by: 1 }).await;
    }
    client.fail(&client.request("hostile", "panic", Some(pack(&Request::default())), CallOptions::default())).await;

    let metrics = scrape(client).await;
    let ok = sample(&metrics, "spawn_wasm_invocations_total", r#"actor="counter",action="increment",outcome="ok""#);
    assert_eq!(ok, Some(3.0), "{metrics}");
    let trap = sample(&metrics, "spawn_wasm_invocations_total", r#"actor="hostile",action="panic",outcome="trap""#);
    assert_eq!(trap, Some(1.0), "{metrics}");
    let latency =
        sample(&metrics, "spawn_wasm_invocation_duration_seconds_count", r#"actor="counter",action="increment""#);
    assert_eq!(latency, Some(3.0));
    assert!(sample(&metrics, "spawn_wasm_active_actors", "").unwrap() >= 1.0);
    assert_eq!(sample(&metrics, "spawn_wasm_module_events_total", r#"event="loaded""#), Some(2.0));
    assert_eq!(sample(&metrics, "spawn_wasm_module_events_total", r#"event="rejected""#), Some(1.0));
    assert!(sample(&metrics, "spawn_wasm_warm_instances", "").unwrap() >= 1.0);

    let modules: serde_json::Value = serde_json::from_str(
        &reqwest::get(format!("{}/v1/modules", client.base_url())).await.unwrap().text().await.unwrap(),
    )
    .unwrap();
    let files = modules.as_array().unwrap();
    assert_eq!(files.len(), 3);
    let broken = files.iter().find(|file| file["file"].as_str().unwrap().ends_with("broken.wasm")).unwrap();
    assert!(broken["last_error"].as_str().unwrap().contains("not a valid WebAssembly component"));
    harness.stop().await;
}

#[tokio::test]
async fn the_sidecar_serves_metrics_too() {
    let harness = Harness::start(&["counter"]).await;
    let invocation = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    harness.client.invoke(&invocation).await;
    let metrics =
        reqwest::get(format!("http://{}/metrics", harness.host.local_addr())).await.unwrap().text().await.unwrap();
    let ok = sample(&metrics, "spawn_wasm_invocations_total", r#"actor="counter",action="increment",outcome="ok""#);
    assert_eq!(ok, Some(2.0), "the warm-up call and ours:\n{metrics}");
}

#[test]
fn inspect_shows_what_a_component_provides() {
    let joe = examples_dir().join("joe.wasm");
    let output = Command::new(SPAWN_WASM).arg("inspect").arg(&joe).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("spawn:actor@0.2.0"), "{text}");
    assert!(text.contains("joe  named, stateful, state domain.JoeState"), "{text}");
    assert!(
        text.contains(
            "actions: setLanguage(domain.Request) -> domain.Reply, saveLanguage(domain.Request) -> domain.Reply"
        ),
        "{text}"
    );
    assert!(text.contains("timer: hi every 1000 ms"), "{text}");
    assert!(text.contains("channel: test -> setLanguage"), "{text}");
    assert!(text.contains("abs_actor  unnamed, stateful"), "{text}");

    let output = Command::new(SPAWN_WASM).args(["inspect", "--json"]).arg(&joe).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["wit"], "spawn:actor@0.2.0");
    assert_eq!(report["actors"][0]["name"], "joe");
    assert_eq!(report["actors"][0]["timers"][0]["period_ms"], 1000);
    assert_eq!(report["actors"][1]["deactivation_timeout_ms"], 1000);

    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "bad.wasm", b"garbage");
    let output = Command::new(SPAWN_WASM).arg("inspect").arg(dir.path().join("bad.wasm")).output().unwrap();
    spawn_wasm_tests::assert_refused(&output, &["bad.wasm", "not a valid WebAssembly component"]);
}

#[tokio::test]
async fn logs_can_be_json_lines() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let process =
        HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("SPAWN_WASM_LOG_FORMAT", "json")]).await;
    let _: Counter = process.client.call("counter", "increment", &Increment { by: 1 }).await;
    let log = process.log();
    let lines: Vec<serde_json::Value> =
        log.lines().map(|line| serde_json::from_str(line).expect("a JSON log line")).collect();
    assert!(lines.iter().any(|line| line["fields"]["message"] == "component loaded"), "{log}");
}

#[tokio::test]
async fn the_client_api_speaks_json_with_the_components_descriptors() {
    let actors = actors_dir(&["counter", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let body = serde_json::json!({
        "actor": {"id": {"name": "counter"}},
        "actionName": "increment",
        "value": {"@type": "type.googleapis.com/domain.Increment", "by": 3}
    });
    let (status, answer) = harness.client.invoke_json("counter", &body.to_string()).await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert_eq!(answer["status"]["status"], "OK");
    assert_eq!(answer["value"], serde_json::json!({"@type": "type.googleapis.com/domain.Counter", "value": 3}));

    let (status, answer) = harness.client.invoke_json("counter", r#"{"actionName": 7}"#).await;
    assert_eq!(status, axum::http::StatusCode::BAD_REQUEST);
    assert!(
        answer["status"]["message"].as_str().unwrap().contains("invalid JSON for spawn.InvocationRequest"),
        "{answer}"
    );
    harness.stop().await;
}

#[tokio::test]
async fn invoke_and_state_from_the_terminal() {
    let actors = actors_dir(&["counter", "joe"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let url = harness.client.base_url().to_owned();
    let cli = |args: &[&str]| {
        let url = url.clone();
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new(SPAWN_WASM).args(&args).args(["--url", &url]).output().unwrap()
            })
            .await
            .unwrap()
        }
    };
    let output = cli(&["invoke", "counter", "increment", "--type", "domain.Increment", "--data", r#"{"by": 5}"#]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(reply["value"], 5);

    let output = cli(&[
        "invoke",
        "joe",
        "setLanguage",
        "--data",
        r#"{"@type": "type.googleapis.com/domain.Request", "language": "rust"}"#,
        "--metadata",
        "trace=1",
    ])
    .await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(reply["response"].as_str().unwrap().contains("rust"));

    let output = cli(&["state", "counter"]).await;
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(state["state"], serde_json::json!({"@type": "type.googleapis.com/domain.Counter", "value": 5}));

    let output = cli(&["invoke", "nobody", "get"]).await;
    spawn_wasm_tests::assert_refused(&output, &["Actor nobody not found"]);
    let output = cli(&["invoke", "counter", "increment", "--data", "[1]"]).await;
    spawn_wasm_tests::assert_refused(&output, &["JSON object"]);
    harness.stop().await;
}

#[test]
fn a_config_file_sits_below_environment_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("spawn-wasm.toml");
    std::fs::write(
        &file,
        "log-format = \"json\"\n[standalone]\nactors = \"/from/file\"\nport = 9100\nsystem = \"from-file\"\n",
    )
    .unwrap();
    let output = Command::new(SPAWN_WASM)
        .args(["config", "--print"])
        .arg("--config")
        .arg(&file)
        .env("PROXY_ACTOR_SYSTEM_NAME", "from-env")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("actors = \"/from/file\"  # file"), "{text}");
    assert!(text.contains("port = \"9100\"  # file"), "{text}");
    assert!(text.contains("system = \"from-env\"  # environment"), "the environment beats the file:\n{text}");
    assert!(text.contains("data = \"spawn-data\"  # default"), "{text}");

    std::fs::write(&file, "[standalone]\nactors = \"/a\"\nmemory-limit = 3\n").unwrap();
    let output = Command::new(SPAWN_WASM).args(["config", "--print", "--config"]).arg(&file).output().unwrap();
    spawn_wasm_tests::assert_refused(&output, &["unknown key `memory-limit` in [standalone]", "spawn-wasm.toml"]);
}

#[tokio::test]
async fn standalone_runs_from_a_config_file_and_flags_override_it() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("spawn-wasm.toml");
    let config = format!("[standalone]\nactors = \"{}\"\nport = 1\nmemory-limit-mb = 32\n", actors.path().display());
    std::fs::write(&file, config).unwrap();
    // HostProcess passes --actors, --data and --port: the flags win over the file's port.
    let process = HostProcess::standalone(
        SPAWN_WASM,
        actors.path(),
        data.path(),
        &[("SPAWN_WASM_CONFIG", file.to_str().unwrap())],
    )
    .await;
    let counter: Counter = process.client.call("counter", "increment", &Increment { by: 2 }).await;
    assert_eq!(counter.value, 2);
}
