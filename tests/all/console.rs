//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver): a first-time user's path through it, with screenshots saved
//! under `target/console-screenshots/` for people to look at.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use spawn_wasm_tests::*;

const INSTALL: &str = "the console tests need Chromium and its WebDriver: `sudo apt-get install -y chromium \
                       chromium-driver` (what `cargo xtask install-browser` and `.ci/run` do), or name them with \
                       SPAWN_WASM_CHROMIUM and SPAWN_WASM_CHROMEDRIVER";

/// How long the page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(15);

/// `name` from the environment variable `variable`, else the first of `candidates` present.
fn program(variable: &str, candidates: &[&str]) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| candidates.iter().map(PathBuf::from).find(|path| path.exists()))
        .unwrap_or_else(|| panic!("{INSTALL}"))
}

/// A headless Chromium session; its chromedriver is killed when dropped.
struct Browser {
    client: Client,
    driver: Child,
}

impl Browser {
    async fn start() -> Browser {
        let chromium = program("SPAWN_WASM_CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
        let chromedriver = program("SPAWN_WASM_CHROMEDRIVER", &["/usr/bin/chromedriver"]);
        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("starting {}: {error}; {INSTALL}", chromedriver.display()));
        let mut capabilities = fantoccini::wd::Capabilities::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--force-device-scale-factor=1"],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => return Browser { client, driver },
                Err(error) => last_error = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last_error:?}");
    }

    /// Runs `script` (a function body) in the page.
    async fn run(&self, script: &str) -> Value {
        self.client.execute(script, Vec::new()).await.expect("running a script in the page")
    }

    /// The text of the first element matching `css`, if there is one.
    async fn text(&self, css: &str) -> Option<String> {
        let script = format!("return document.querySelector({})?.textContent ?? null", json!(css));
        self.run(&script).await.as_str().map(str::to_owned)
    }

    /// Waits until the element `css` exists and its text satisfies `check`; returns the text.
    async fn wait_text(&self, css: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let text = self.text(css).await;
            if let Some(text) = text.as_deref().filter(|text| check(text)) {
                return text.to_owned();
            }
            if tokio::time::Instant::now() > deadline {
                self.screenshot("failure").await;
                panic!("waited {PATIENCE:?} for {what} (`{css}`): it reads {text:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Saves the viewport as `target/console-screenshots/{name}.png`.
    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = screenshots_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("no `{css}`")).click().await.unwrap();
    }

    async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|_| panic!("no `{css}`"))
            .send_keys(text)
            .await
            .unwrap();
    }

    async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

fn screenshots_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether the host under test keeps state history (the route exists: an unknown route
/// answers 404 with no JSON body).
async fn keeps_history(client: &ClientApi) -> bool {
    let url = format!("{}/api/v1/system/{SYSTEM}/actors/counter/state/history", client.base_url());
    let response = reqwest::get(url).await.unwrap();
    let found = response.status().as_u16() != 404;
    found || serde_json::from_str::<Value>(&response.text().await.unwrap()).is_ok()
}

#[tokio::test]
async fn a_first_time_user_invokes_counter_through_the_form_and_sees_its_new_state() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    write_file(actors.path(), "broken.wasm", b"not a component");
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let _: domain::Counter = client.call("counter", "increment", &domain::Increment { by: 1 }).await;
    let browser = Browser::start().await;
    let console = format!("{}/console", client.base_url());

    // The overview: live charts and the actors.
    browser.client.goto(&console).await.unwrap();
    browser.wait_text("#actor-list", "the actor list", |text| text.contains("counter")).await;
    let paint =
        browser.run("return performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null").await;
    // Again, with the browser warm (the first load also starts the renderer).
    browser.client.refresh().await.unwrap();
    browser.wait_text("#actor-list", "the actor list", |text| text.contains("counter")).await;
    let again =
        browser.run("return performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null").await;
    let paint = format!(
        "first contentful paint of /console: {paint} ms on the first load, {again} ms reloaded (headless Chromium, loopback)\n"
    );
    std::fs::write(screenshots_dir().join("first-paint.txt"), &paint).unwrap();
    eprint!("{paint}");

    // The modules, with the rejected file's error.
    browser.client.goto(&format!("{console}/#/modules")).await.unwrap();
    let modules = browser.wait_text("#view table", "the modules table", |text| text.contains("broken.wasm")).await;
    assert!(modules.contains("counter.wasm") && modules.contains("KiB"), "{modules}");
    browser.screenshot("modules").await;

    // The actor: its state, and the form generated from the input's descriptor.
    browser.client.goto(&format!("{console}/#/actor/counter")).await.unwrap();
    browser.wait_text("#state-json", "the state", |text| text.contains("\"value\": 1")).await;
    browser.wait_text("#invoke-fields", "the form's fields", |text| text.contains("by")).await;
    let chosen = browser.run("return document.querySelector('#invoke-type').value").await;
    assert_eq!(chosen, "domain.Increment", "the input type is chosen for the action");
    let history = keeps_history(client).await;
    if !history {
        browser.wait_text("#history-card", "the history", |text| text.contains("History not available")).await;
    }
    browser.screenshot("actor").await;

    browser.type_into("#field-by", "41").await;
    browser.click("#invoke-submit").await;
    let reply = browser.wait_text("#invoke-result", "the reply", |text| text.contains("\"value\": 42")).await;
    assert!(reply.contains("domain.Counter"), "{reply}");
    browser.wait_text("#state-json", "the new state", |text| text.contains("\"value\": 42")).await;
    let stored: domain::Counter = client.state("counter").await;
    assert_eq!(stored.value, 42, "the form's call reached the actor");
    browser.screenshot("actor-after-invoke").await;

    if history {
        // The new revision is listed; restoring the previous one brings its value back.
        let rows = browser.wait_text("#history", "two revisions", |text| text.matches("Restore").count() >= 1).await;
        assert!(rows.contains("current"), "{rows}");
        // The diff of the previous revision against the current one shows the change.
        browser.wait_text("#diff .add", "the diff's new line", |text| text.contains("\"value\": 42")).await;
        browser.wait_text("#diff .del", "the diff's old line", |text| text.contains("\"value\": 1")).await;
        browser.run("document.querySelector('#history-card').scrollIntoView()").await;
        browser.screenshot("history").await;
        browser.click("#history .restore").await;
        browser.client.accept_alert().await.unwrap();
        browser.wait_text("#state-json", "the restored state", |text| text.contains("\"value\": 1")).await;
        let restored: domain::Counter = client.state("counter").await;
        assert_eq!(restored.value, 1);
        browser.screenshot("actor-after-restore").await;
    }

    // Back to the overview: the charts show calls made while it is open.
    browser.client.goto(&console).await.unwrap();
    browser.wait_text("#legend-calls", "the first sample", |text| text.contains("counter")).await;
    for _ in 0..40 {
        let _: domain::Counter = client.call("counter", "increment", &domain::Increment { by: 1 }).await;
    }
    browser
        .wait_text("#legend-calls", "calls per second", |text| {
            text.strip_prefix("counter ").and_then(|rate| rate.parse::<f64>().ok()).is_some_and(|rate| rate > 0.0)
        })
        .await;
    let p99 = browser.text("#legend-p99").await.unwrap_or_default();
    assert!(p99.starts_with("counter ") && !p99.contains('–'), "a p99 latency: {p99}");
    browser.screenshot("overview").await;
    browser.close().await;
    harness.stop().await;
}

#[tokio::test]
async fn the_console_asks_for_the_token_and_keeps_it_for_the_tab() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let harness = StandaloneHarness::start_with_token(actors.path(), data.path(), "s3cret").await;
    let browser = Browser::start().await;
    browser.client.goto(&format!("{}/console", harness.client.base_url())).await.unwrap();
    let reason = browser.wait_text("#token-reason", "the token prompt", |text| !text.is_empty()).await;
    assert!(reason.contains("requires a token"), "{reason}");
    assert_eq!(browser.run("return document.querySelector('#token-dialog').open").await, true);
    browser.screenshot("token").await;

    browser.type_into("#token-input", "wrong").await;
    browser.click("#token-form button").await;
    browser.wait_text("#token-reason", "the refusal", |text| text.contains("not this host's")).await;

    browser.run("document.querySelector('#token-input').value = ''").await;
    browser.type_into("#token-input", "s3cret").await;
    browser.click("#token-form button").await;
    browser.wait_text("#actor-list", "the actors", |text| text.contains("counter")).await;
    let kept = browser.run("return sessionStorage.getItem('spawn-wasm-token')").await;
    assert_eq!(kept, "s3cret");
    browser.close().await;
    harness.stop().await;
}

async fn get_json(client: &ClientApi, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path}", client.base_url())).await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_str(&response.text().await.unwrap()).unwrap())
}

fn actor<'a>(actors: &'a Value, name: &str) -> &'a Value {
    actors
        .as_array()
        .unwrap()
        .iter()
        .find(|actor| actor["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {actors}"))
}

#[tokio::test]
async fn the_console_s_views_list_active_instances_and_the_fields_of_messages() {
    let (actors, data) = (actors_dir(&["counter"]), tempfile::tempdir().unwrap());
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    assert_eq!(client.spawn("c1", "counters").await.0.as_u16(), 200);
    let _: domain::Counter = client.call("c1", "increment", &domain::Increment { by: 1 }).await;

    let (_, listed) = get_json(client, "/v1/actors").await;
    assert_eq!(actor(&listed, "counter")["active"], json!(["counter"]), "a stateful named actor starts active");
    assert_eq!(actor(&listed, "counters")["active"], json!(["c1"]), "a spawned instance under its template");
    assert_eq!(actor(&listed, "counters")["kind"], "unnamed");
    assert!(actor(&listed, "counter")["file"].as_str().unwrap().ends_with("counter.wasm"));

    let (_, messages) = get_json(client, "/v1/messages").await;
    let messages: Vec<&str> = messages.as_array().unwrap().iter().map(|name| name.as_str().unwrap()).collect();
    assert!(messages.contains(&"domain.Increment") && messages.contains(&"domain.Counter"), "{messages:?}");
    assert!(messages.iter().all(|name| name.starts_with("domain.")), "the components' messages only: {messages:?}");
    let (_, increment) = get_json(client, "/v1/messages/domain.Increment").await;
    assert_eq!(increment["fields"], json!([{"name": "by", "json": "by", "list": false, "type": "integer"}]));
    let (status, missing) = get_json(client, "/v1/messages/domain.Nope").await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"], "no loaded component describes the message `domain.Nope`");
    let (_, about) = get_json(client, "/v1/console").await;
    assert_eq!(about["mode"], "standalone");
    assert_eq!(about["system"], SYSTEM);
    harness.stop().await;
}

#[tokio::test]
async fn the_sidecar_serves_the_console_read_only() {
    let harness = Harness::start(&["counter"]).await;
    let json = |text: String| serde_json::from_str::<Value>(&text).unwrap();
    assert_eq!(json(harness.client.get_text("/v1/console").await)["mode"], "sidecar");
    let listed = json(harness.client.get_text("/v1/actors").await);
    assert!(actor(&listed, "counter")["active"].is_null(), "the proxy, not the sidecar, knows active instances");
    assert!(harness.client.get_text("/console/").await.contains("console.js"));
}
