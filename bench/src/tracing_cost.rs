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

use super::{CounterLoad, Measured, counter_request, measure, median, start_standalone_in};

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

/// Runs `load` with tracing off and on, `rounds` times each, and prints the ratio.
pub async fn run(binary: &Path, actors: &Path, load: &CounterLoad, rounds: usize) -> anyhow::Result<()> {
    let CounterLoad { actors: count, connections, seconds } = *load;
    let only_counter = tempfile::tempdir()?;
    std::fs::copy(actors.join("counter.wasm"), only_counter.path().join("counter.wasm"))?;
    let (collector, received) = receiver().await?;
    let on = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
        ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
    ];
    let body = move |c: usize, i: u64| counter_request((c * 7919 + i as usize) % count, "increment");
    let mut runs: [Vec<Measured>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for (traced, env) in [(false, &[][..]), (true, &on[..])] {
            let data = tempfile::tempdir()?;
            let cache = data.path().join("code-cache");
            let (server, _) = start_standalone_in(binary, only_counter.path(), data.path(), &cache, None, env).await?;
            measure(&server, connections, Duration::from_secs(1), body).await?;
            let run = measure(&server, connections, Duration::from_secs(seconds), body).await?;
            let label = if traced { "on, every request exported" } else { "off" };
            println!("tracing {label}, round {round}: {run}");
            runs[usize::from(traced)].push(run);
        }
    }
    let [off, on] = runs.map(median);
    println!(
        "tracing on / off: {:.2} req/s (target ≥ 0.85), {:.2} CPU per request; {} KiB of spans received",
        on.load.requests_per_second / off.load.requests_per_second,
        on.cost.cpu_us / off.cost.cpu_us,
        received.load(Ordering::Relaxed) >> 10
    );
    Ok(())
}
