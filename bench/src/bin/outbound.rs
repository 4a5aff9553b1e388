//! The overhead of one outbound HTTP call from a guest: `hostile.fetch` (the Rust SDK's
//! `http::get` through `wasi:http` and the host's checks, a new connection per request) on a
//! warm instance, against the same GET made natively with hyper (a new connection too) and
//! against a guest call that makes no request, to one loopback server, in one run.
//!
//! Needs the example components (`cargo xtask build-examples`); `cargo xtask bench` runs it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use bytes::Bytes;
use domain::{Reply, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use prost::{Message, Name};
use spawn_wasm_bench::unused_dispatcher;
use spawn_wasm_host::protocol::invocation::Invocation;
use spawn_wasm_host::protocol::spawn::actors::ActorId;
use spawn_wasm_host::protocol::wit::types as wit;
use spawn_wasm_host::wasm::capabilities::{AllowedOutboundHosts, GrantPolicy};
use spawn_wasm_host::wasm::chain::CallChain;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::executor::Executor;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::ActorModule;

/// Measured calls per subject, after as many to warm up.
const CALLS: usize = 2000;
/// What the upstream answers.
const BODY: &str = "pong";

fn fetch_invocation(action: &str, url: &str) -> Invocation {
    Invocation {
        actor: "hostile".into(),
        action: action.into(),
        payload: Some(wit::Any {
            type_url: Request::type_url(),
            value: Request { language: url.into() }.encode_to_vec(),
        }),
        state: None,
        self_id: ActorId { name: "hostile".into(), system: "spawn-system".into(), parent: String::new() },
        caller: None,
        metadata: Vec::new(),
        tags: Vec::new(),
    }
}

/// The reply's text of one guest call.
async fn guest_call(executor: &Executor, module: &ActorModule, action: &str, url: &str) -> anyhow::Result<String> {
    let chain = CallChain::new(Instant::now() + Duration::from_secs(10));
    let value = executor.run(module, fetch_invocation(action, url), unused_dispatcher(), chain).await?;
    let reply = value.reply.context("no reply")?;
    Ok(Reply::decode(reply.value.as_slice())?.response)
}

/// The same GET natively: a new connection, hyper's HTTP/1.1, the whole body read.
async fn native_get(addr: std::net::SocketAddr) -> anyhow::Result<Bytes> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let driver = tokio::spawn(conn);
    let request = hyper::Request::get("/ping").header("host", addr.to_string()).body(Empty::<Bytes>::new())?;
    let body = sender.send_request(request).await?.into_body().collect().await?.to_bytes();
    drop(sender);
    driver.await??;
    Ok(body)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn time<F, Fut>(mut call: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    for _ in 0..CALLS {
        call().await?;
    }
    let mut samples = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        call().await?;
        samples.push(started.elapsed());
    }
    Ok(median(samples))
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

async fn run(actors: &Path) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, Router::new().route("/ping", get(|| async { BODY }))).await });

    let dir = tempfile::tempdir()?;
    let wasm = dir.path().join("hostile.wasm");
    std::fs::copy(actors.join("hostile.wasm"), &wasm).context("run `cargo xtask build-examples` first")?;
    let destination = format!("http://127.0.0.1:{}", addr.port());
    std::fs::write(
        dir.path().join("hostile.toml"),
        format!("[grants]\nallowed_outbound_hosts = [\"{destination}\"]\n"),
    )?;
    // The upstream is on loopback, which a module reaches only when the operator names it too.
    let policy = GrantPolicy {
        outbound_hosts: Some(AllowedOutboundHosts::parse(&[destination]).map_err(anyhow::Error::msg)?),
        ..GrantPolicy::default()
    };
    let engine = Arc::new(ActorEngine::new(Limits { policy, ..Limits::default() })?);
    let module = ActorModule::load(&engine, None, &wasm).await?;
    let executor = Executor::new(engine);
    let url = format!("http://{addr}/ping");

    let expected = format!("status 200: {BODY}");
    let reply = guest_call(&executor, &module, "fetch", &url).await?;
    anyhow::ensure!(reply == expected, "the guest's fetch answered {reply:?}");
    let native = time(|| async {
        anyhow::ensure!(native_get(addr).await? == BODY, "unexpected native body");
        Ok(())
    })
    .await?;
    let guest = time(|| async {
        let reply = guest_call(&executor, &module, "fetch", &url).await?;
        anyhow::ensure!(reply == expected, "the guest's fetch answered {reply:?}");
        Ok(())
    })
    .await?;
    let no_request = time(|| async { guest_call(&executor, &module, "env", "").await.map(drop) }).await?;

    println!("outbound HTTP GET to a loopback server, new connection each, median of {CALLS} (one thread):");
    println!("  native (hyper)                         {}", micros(native));
    println!("  guest hostile.fetch, warm instance      {}", micros(guest));
    println!("  guest call making no request (env)      {}", micros(no_request));
    println!(
        "  ratio guest / native: {:.2}x; guest minus its call, over native: {:.2}x",
        guest.as_secs_f64() / native.as_secs_f64(),
        guest.saturating_sub(no_request).as_secs_f64() / native.as_secs_f64()
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let root = xtask::workspace_root();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(run(&xtask::actors_dir(&root)))
}
