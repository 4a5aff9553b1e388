//! The client verbs read the server's settings (environment, configuration file), and the
//! token guards the client API and the console beyond loopback: the real binary, real HTTP.

use std::path::Path;
use std::process::{Command, Output};

use axum::http::StatusCode;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// The settings a test's own environment might carry, cleared so that only the test's count.
const SETTINGS: [&str; 7] = [
    "PROXY_HTTP_PORT",
    "SPAWN_WASM_ALLOWED_HOSTS",
    "SPAWN_WASM_HOST",
    "SPAWN_WASM_URL",
    "SPAWN_WASM_TOKEN",
    "SPAWN_WASM_CONFIG",
    "PROXY_ACTOR_SYSTEM_NAME",
];

fn spawn_wasm(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(SPAWN_WASM);
    for name in SETTINGS {
        command.env_remove(name);
    }
    command.args(args).envs(env.iter().copied());
    command
}

/// Runs a client verb to its end.
fn client(args: &[&str], env: &[(&str, &str)]) -> Output {
    spawn_wasm(args, env).output().expect("running spawn-wasm")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A standalone server over `counter`, configured by `args` and `env` only, serving on `port`.
async fn server(args: &[&str], env: &[(&str, &str)], port: u16, actors: &Path, data: &Path) -> HostProcess {
    let mut command = spawn_wasm(args, &[]);
    command.args(["--actors"]).arg(actors).arg("--data").arg(data);
    HostProcess::started(command, port, env).await
}

#[tokio::test]
async fn client_verbs_reach_the_port_the_server_was_given_in_the_environment() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let port = free_port();
    let port_text = port.to_string();
    let env = [("PROXY_HTTP_PORT", port_text.as_str())];
    let _server = server(&["standalone"], &env, port, actors.path(), data.path()).await;

    let invoked =
        client(&["invoke", "counter", "increment", "--type", "domain.Increment", "--data", r#"{"by": 2}"#], &env);
    assert!(invoked.status.success(), "{}", text(&invoked));
    assert!(text(&invoked).contains("\"value\": 2"), "{}", text(&invoked));
    let state = client(&["state", "counter"], &env);
    assert!(state.status.success() && text(&state).contains("\"value\": 2"), "{}", text(&state));

    // --url overrides a port that points elsewhere.
    let url = format!("http://127.0.0.1:{port}");
    let elsewhere = [("PROXY_HTTP_PORT", "1")];
    let state = client(&["state", "counter", "--url", &url], &elsewhere);
    assert!(state.status.success(), "{}", text(&state));
    let refused = client(&["state", "counter"], &elsewhere);
    assert!(!refused.status.success());
    assert!(text(&refused).contains("127.0.0.1:1"), "the error names where it called: {}", text(&refused));
}

#[tokio::test]
async fn beyond_loopback_the_api_and_console_need_the_token_from_the_configuration_file() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let port = free_port();
    let config = tempfile::NamedTempFile::new().unwrap();
    let settings = format!("[standalone]\nhost = \"0.0.0.0\"\nport = {port}\ntoken = \"s3cret\"\nno-watch = true\n");
    std::fs::write(config.path(), settings).unwrap();
    let config_path = config.path().to_str().unwrap();
    let host = server(&["--config", config_path, "standalone"], &[], port, actors.path(), data.path()).await;

    // The client verbs read host (0.0.0.0 is reached on loopback), port and token from the file.
    let invoked = client(
        &[
            "--config",
            config_path,
            "invoke",
            "counter",
            "increment",
            "--type",
            "domain.Increment",
            "--data",
            r#"{"by": 3}"#,
        ],
        &[],
    );
    assert!(invoked.status.success(), "{}", text(&invoked));
    // A wrong token from the environment wins over the file, and is refused with the reason.
    let wrong = client(&["--config", config_path, "state", "counter"], &[("SPAWN_WASM_TOKEN", "guess")]);
    assert!(!wrong.status.success());
    assert!(text(&wrong).contains("the token is not this host's (HTTP 401"), "{}", text(&wrong));
    let none = client(&["state", "counter", "--port", &port.to_string()], &[]);
    assert!(text(&none).contains("this host requires a token"), "{}", text(&none));

    let base = host.client.base_url().to_owned();
    let http = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{base}{path}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    for path in ["/v1/actors", "/v1/modules", "/v1/console", "/v1/messages"] {
        let refused = get(path, None).await;
        assert_eq!(refused.status().as_u16(), StatusCode::UNAUTHORIZED.as_u16(), "{path}");
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
        assert!(body["error"].as_str().unwrap().contains("Authorization: Bearer"), "{path}: {body}");
        assert_eq!(get(path, Some("s3cret")).await.status().as_u16(), 200, "{path}");
    }
    // Probes, scrapes and the console's page itself (which asks for the token) stay open.
    for path in ["/health", "/health/readiness", "/metrics", "/console/", "/console/console.js"] {
        assert_eq!(get(path, None).await.status().as_u16(), 200, "{path}");
    }
    let invoke = format!("{base}/api/v1/system/{SYSTEM}/actors/counter/invoke");
    let body = r#"{"actionName": "get"}"#;
    let refused = http.post(&invoke).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let answered = http
        .post(&invoke)
        .bearer_auth("s3cret")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let answer: serde_json::Value = serde_json::from_str(&answered.text().await.unwrap()).unwrap();
    assert_eq!(answer["value"]["value"], 3, "{answer}");
}

#[tokio::test]
async fn standalone_refuses_to_serve_beyond_loopback_without_a_token() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let port = free_port().to_string();
    let output = spawn_wasm(&["standalone", "--host", "0.0.0.0", "--port", &port, "--actors"], &[])
        .arg(actors.path())
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = text(&output);
    assert!(said.contains("refusing to serve the client API on 0.0.0.0"), "{said}");
    assert!(said.contains("--token"), "{said}");
    assert!(!data.path().join("state.db").exists(), "nothing was opened before refusing");
}

#[tokio::test]
async fn the_token_is_shown_as_set_never_printed() {
    let output = client(&["config", "--print"], &[("SPAWN_WASM_TOKEN", "s3cret"), ("SPAWN_WASM_ACTORS", "/a")]);
    let said = text(&output);
    assert!(said.contains("token = \"(set)\"  # environment"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
}

#[tokio::test]
async fn a_sidecar_beyond_loopback_keeps_its_console_off_without_a_token_and_serves_the_proxy() {
    let actors = actors_dir(&["counter"]);
    let proxy = TestProxy::start().await;
    let host = HostProcess::sidecar(SPAWN_WASM, actors.path(), &proxy, &[("USER_FUNCTION_HOST", "0.0.0.0")]).await;
    let base = host.client.base_url().to_owned();
    let refused = reqwest::get(format!("{base}/v1/actors")).await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let body = refused.text().await.unwrap();
    assert!(body.contains("without a token, so this route is off"), "{body}");
    assert_eq!(reqwest::get(format!("{base}/metrics")).await.unwrap().status().as_u16(), 200);
    // The proxy's route needs no token: the registration went through, and a call is served.
    let port: u16 = base.rsplit(':').next().unwrap().parse().unwrap();
    let user_function = HostClient::new(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
    let invocation = InvocationBuilder::new("counter", "increment").payload(&domain::Increment { by: 2 }).build();
    let counter: domain::Counter = new_state(&user_function.invoke(&invocation).await);
    assert_eq!(counter.value, 2);
}
