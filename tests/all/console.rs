//! The web console in a real headless Chromium (Debian's `chromium` and `chromium-driver`,
//! driven over WebDriver): a first-time user's path through it, and a request's path through
//! the actors in the requests view, with screenshots saved under
//! `target/console-screenshots/` for people to look at.

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

/// `caller.callJoe`: a request through two actors (`caller`'s turn invokes `joe.setLanguage`).
const CALL_JOE: &str =
    r#"{"actionName":"callJoe","value":{"@type":"type.googleapis.com/domain.Request","language":"rust"}}"#;

/// One span row of the waterfall as the page shows it.
#[derive(Debug)]
struct SpanRow {
    name: String,
    instance: String,
    depth: u32,
    /// Where its name starts on screen (px): its indentation.
    indent: f64,
    /// Where its bar starts and how wide it is, as shares of the time line.
    bar: (f64, f64),
    failed: bool,
    error: Option<String>,
}

/// The waterfall's span rows, top to bottom.
async fn waterfall(browser: &Browser) -> Vec<SpanRow> {
    let rows = browser
        .run(
            "return [...document.querySelectorAll('#waterfall [data-span]')].map((row) => {
               const track = row.querySelector('.span-track').getBoundingClientRect();
               const bar = row.querySelector('.span-bar').getBoundingClientRect();
               return {
                 name: row.querySelector('.span-label').textContent,
                 instance: row.querySelector('.span-instance').textContent,
                 depth: Number(row.dataset.depth),
                 indent: row.querySelector('.span-label').getBoundingClientRect().left,
                 bar: [(bar.left - track.left) / track.width, bar.width / track.width],
                 failed: row.classList.contains('failed'),
                 error: row.querySelector('.span-error')?.textContent ?? null,
               };
             })",
        )
        .await;
    let number = |value: &Value| value.as_f64().unwrap();
    let rows = rows.as_array().unwrap().iter().map(|row| SpanRow {
        name: row["name"].as_str().unwrap().to_owned(),
        instance: row["instance"].as_str().unwrap().to_owned(),
        depth: row["depth"].as_u64().unwrap() as u32,
        indent: number(&row["indent"]),
        bar: (number(&row["bar"][0]), number(&row["bar"][1])),
        failed: row["failed"].as_bool().unwrap(),
        error: row["error"].as_str().map(str::to_owned),
    });
    rows.collect()
}

/// The id of the kept trace with a span that passes `check`.
fn trace_with(records: &Value, check: impl Fn(&Value) -> bool) -> String {
    let record =
        records.as_array().unwrap().iter().find(|record| record["spans"].as_array().unwrap().iter().any(&check));
    record.unwrap_or_else(|| panic!("no such trace in {records}"))["trace_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_requests_view_shows_a_request_s_path_through_the_actors_as_a_waterfall() {
    let (actors, data) = (actors_dir(&["caller", "joe"]), tempfile::tempdir().unwrap());
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let client = &harness.client;
    let (status, reply) = client.invoke_json("caller", CALL_JOE).await;
    assert_eq!(status.as_u16(), 200, "{reply}");
    let (status, _) = client.invoke_json("caller", r#"{"actionName":"noSuchAction"}"#).await;
    assert_eq!(status.as_u16(), 404);
    let unknown = "Action [noSuchAction] not found for Actor [caller]";

    // The views the page reads: both requests, and only the first reached joe.
    // (joe's timer adds requests of its own, `joe.hi`, every second.)
    let (_, all) = get_json(client, "/v1/requests").await;
    let call_joe = trace_with(&all, |span| span["name"] == "caller.callJoe");
    let failed = trace_with(&all, |span| span["error"] == unknown);
    let (_, joe) = get_json(client, "/v1/requests?actor=joe").await;
    assert_eq!(trace_with(&joe, |span| span["name"] == "joe.setLanguage"), call_joe);
    assert!(joe.as_array().unwrap().iter().all(|record| record["trace_id"] != failed), "{joe}");
    let (status, gone) = get_json(client, "/v1/requests/0af7651916cd43dd8448eb211c80319c").await;
    assert_eq!(status, 404, "{gone}");

    // The list: both, newest first, the failed one marked with its error.
    let browser = Browser::start().await;
    let console = format!("{}/console/", client.base_url());
    browser.client.goto(&format!("{console}#/requests")).await.unwrap();
    let list = browser.wait_text("#requests", "the requests", |text| text.contains("caller.callJoe")).await;
    assert!(list.contains("invoke → caller.callJoe") && list.contains(unknown), "{list}");
    let order = browser
        .run("return [...document.querySelectorAll('#requests [data-trace]')].map((row) => row.dataset.trace)")
        .await;
    let at = |trace: &str| order.as_array().unwrap().iter().position(|row| row == trace);
    assert!(at(&failed).unwrap() < at(&call_joe).unwrap(), "newest first: {order}");
    let marker = browser.text(&format!("#requests [data-trace='{failed}'] .tag")).await;
    assert_eq!(marker.as_deref(), Some("failed"));
    assert_eq!(browser.text(&format!("#requests [data-trace='{call_joe}'] .tag")).await.as_deref(), Some("ok"));

    // callJoe's waterfall: each span under the one that caused it, indented deeper, its bar
    // within the request's time line.
    browser.click(&format!("#requests [data-trace='{call_joe}'] a")).await;
    browser.wait_text("#waterfall", "the waterfall", |text| text.contains("joe.setLanguage")).await;
    let rows = waterfall(&browser).await;
    let path = ["invoke", "caller.callJoe", "call joe.setLanguage", "joe.setLanguage"];
    let at: Vec<usize> = path
        .iter()
        .map(|name| rows.iter().position(|row| row.name == *name).unwrap_or_else(|| panic!("{name} in {rows:?}")))
        .collect();
    for (depth, pair) in at.windows(2).enumerate() {
        let (parent, child) = (&rows[pair[0]], &rows[pair[1]]);
        assert!(pair[0] < pair[1], "{} before {}: {rows:?}", parent.name, child.name);
        assert_eq!((parent.depth, child.depth), (depth as u32, depth as u32 + 1), "{rows:?}");
        assert!(child.indent > parent.indent, "{} indented under {}: {rows:?}", child.name, parent.name);
        assert!(child.bar.0 >= parent.bar.0 - 0.01, "{} starts within {}: {rows:?}", child.name, parent.name);
    }
    let request = &rows[at[0]];
    assert!(request.bar.0 < 0.01 && request.bar.1 > 0.99, "the request spans the time line: {rows:?}");
    let instances: Vec<&str> = at.iter().map(|&row| rows[row].instance.as_str()).collect();
    assert_eq!(instances, ["caller", "caller", "joe", "joe"]);
    assert!(rows.iter().all(|row| !row.failed && row.error.is_none()), "{rows:?}");
    browser.wait_text("#requests tr.current", "the chosen request", |text| text.contains("caller.callJoe")).await;
    let saved = browser.screenshot("requests-waterfall").await;
    assert!(saved.ends_with("console-screenshots/requests-waterfall.png"));

    // The failed request: its span marked, with the error in the row and its title.
    browser.click(&format!("#requests [data-trace='{failed}'] a")).await;
    browser.wait_text("#waterfall", "the failed request", |text| text.contains(unknown)).await;
    let rows = waterfall(&browser).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].failed && rows[0].error.as_deref() == Some(unknown), "{rows:?}");
    let title = browser.run("return document.querySelector('#waterfall [data-span]').title").await;
    assert!(title.as_str().unwrap().contains(unknown), "{title}");

    // A new request shows on refresh.
    let (status, _) = client.invoke_json("caller", CALL_JOE).await;
    assert_eq!(status.as_u16(), 200);
    browser.click("#requests-refresh").await;
    browser.wait_text("#requests", "the new request", |text| text.matches("caller.callJoe").count() == 2).await;

    // From joe's page, its requests: the filter applies.
    browser.client.goto(&format!("{console}#/actor/joe")).await.unwrap();
    browser.wait_text("#actor-requests", "the requests link", |text| text == "requests").await;
    browser.click("#actor-requests").await;
    browser.wait_text("#requests-filter", "the filter", |text| text.contains("joe")).await;
    let list = browser.wait_text("#requests", "joe's requests", |text| text.contains("caller.callJoe")).await;
    assert!(!list.contains(unknown), "the failed request never reached joe: {list}");
    let hash = browser.run("return location.hash").await;
    assert_eq!(hash, "#/requests?actor=joe");
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

    // Its requests too: a turn the proxy asked for is the root of its trace.
    let invocation = InvocationBuilder::new("counter", "increment").payload(&domain::Increment { by: 1 }).build();
    harness.client.invoke(&invocation).await;
    let requests = json(harness.client.get_text("/v1/requests").await);
    assert_eq!(requests[0]["spans"][0]["name"], "counter.increment", "{requests}");
    let browser = Browser::start().await;
    browser.client.goto(&format!("http://{}/console/#/requests", harness.host.local_addr())).await.unwrap();
    let list =
        browser.wait_text("#requests", "the sidecar's requests", |text| text.contains("counter.increment")).await;
    assert!(list.contains("ok"), "{list}");
    browser.close().await;
}
