//! The `tracing` scenario: what tracing costs a standalone host under load. The same
//! `counter.increment` load runs with tracing off (no collector configured: spans are ids
//! and the console's in-memory ring) and on (every request sampled and exported over
//! OTLP/HTTP to a receiver in this process), alternating, in one run.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;

use super::{CounterLoad, alternating, counter_request, measure, start_standalone_in};

/// A loopback OTLP/HTTP receiver that takes every export and counts the bytes.
async fn receiver() -> anyhow::Result<(SocketAddr, Arc<AtomicU64>)> {
    let received = Arc::new(AtomicU64::new(0));
    let counted = received.clone();
    let app = Router::new().route(
        "/v1/traces",
        post(move |body: Bytes| async move {
            counted.fetch_add(body.len() as u64, Ordering::Relaxed);
            ""
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, received))
}

/// Runs `load` with tracing off and on, alternating, and prints the ratio of the medians.
pub async fn run(binary: &Path, actors: &Path, load: &CounterLoad) -> anyhow::Result<()> {
    let CounterLoad { actors: count, connections, seconds, rounds } = *load;
    let only_counter = tempfile::tempdir()?;
    std::fs::copy(actors.join("counter.wasm"), only_counter.path().join("counter.wasm"))?;
    let (collector, received) = receiver().await?;
    let on = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
        ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
    ];
    let body = move |c: usize, i: u64| counter_request((c * 7919 + i as usize) % count, "increment");
    let [off, on] = alternating(rounds, |variant, round| {
        let (only_counter, env) = (only_counter.path(), if variant == 1 { &on[..] } else { &[][..] });
        async move {
            let data = tempfile::tempdir()?;
            let cache = data.path().join("code-cache");
            let (server, _) = start_standalone_in(binary, only_counter, data.path(), &cache, None, env).await?;
            measure(&server, connections, Duration::from_secs(1), body).await?;
            let run = measure(&server, connections, Duration::from_secs(seconds), body).await?;
            let label = if variant == 1 { "on, every request exported" } else { "off" };
            println!("tracing {label}, round {round}: {run}");
            Ok(run)
        }
    })
    .await?;
    println!(
        "tracing on / off: {:.2} req/s (medians of {rounds}; target ≥ 0.85), {:.2} CPU per request; {} KiB of spans received",
        on.load.requests_per_second / off.load.requests_per_second,
        on.cost.cpu_us / off.cost.cpu_us,
        received.load(Ordering::Relaxed) >> 10
    );
    Ok(())
}
