//! Python and JavaScript actors against the Rust counter, in one run and one process: cold compile and
//! cached load of the component, a warm call (the actor's instance kept between turns), the
//! activation of a fresh instance, and resident memory per warm instance.
//!
//! Needs the example components (`cargo xtask build-examples`); `cargo xtask bench` runs it.
//! Targets (issue 15): warm call ≤ 150 µs, fresh activation ≤ 10 ms, cached load ≤ 200 ms.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use domain::{Counter, Increment};
use prost::{Message, Name};
use spawn_wasm_bench::unused_dispatcher;
use spawn_wasm_host::protocol::invocation::Invocation;
use spawn_wasm_host::protocol::spawn::actors::ActorId;
use spawn_wasm_host::protocol::wit::types as wit;
use spawn_wasm_host::wasm::cache::CodeCache;
use spawn_wasm_host::wasm::chain::CallChain;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::executor::Executor;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::ActorModule;

/// A request's chain for one measured call: a deadline far enough not to matter.
fn chain() -> CallChain {
    CallChain::new(std::time::Instant::now() + std::time::Duration::from_secs(60))
}

/// One actor measured: its component and definition.
struct Subject {
    label: &'static str,
    file: &'static str,
    definition: &'static str,
}

const SUBJECTS: &[Subject] = &[
    Subject { label: "rust counter", file: "counter.wasm", definition: "counter" },
    Subject { label: "python counter", file: "python-bridge.wasm", definition: "python_counter" },
    Subject { label: "js counter", file: "js-counter.wasm", definition: "js_counter" },
];

fn invocation(definition: &str, instance: &str, value: i64) -> Invocation {
    let any = |type_url: String, value: Vec<u8>| wit::Any { type_url, value };
    Invocation {
        actor: definition.into(),
        action: "increment".into(),
        payload: Some(any(Increment::type_url(), Increment { by: 1 }.encode_to_vec())),
        state: Some(any(Counter::type_url(), Counter { value }.encode_to_vec())),
        self_id: ActorId { name: instance.into(), system: "spawn-system".into(), parent: String::new() },
        caller: None,
        metadata: Vec::new(),
        tags: Vec::new(),
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p).round() as usize]
}

fn micros(duration: Duration) -> String {
    format!("{:.1} µs", duration.as_secs_f64() * 1e6)
}

fn millis(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1e3)
}

async fn measure(subject: &Subject, actors: &Path) -> anyhow::Result<()> {
    let path = actors.join(subject.file);
    let dispatcher = unused_dispatcher();
    let engine = Arc::new(ActorEngine::new(Limits::default())?);
    let cache_dir = tempfile::tempdir()?;
    let cache = CodeCache::open(cache_dir.path(), engine.engine())?;
    let size = std::fs::metadata(&path)
        .with_context(|| format!("{} (run `cargo xtask build-examples`)", path.display()))?
        .len();

    let started = Instant::now();
    let module = ActorModule::load(&engine, Some(&cache), &path).await?;
    let cold = started.elapsed();
    let mut cached_loads: Vec<Duration> = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let again = ActorModule::load(&engine, Some(&cache), &path).await?;
        cached_loads.push(started.elapsed());
        anyhow::ensure!(again.cached, "the second load must come from the cache");
    }
    let cached = percentile(&mut cached_loads, 0.5);

    // Warm: the same actor's instance, kept between its turns.
    let executor = Executor::new(engine.clone());
    let calls = if subject.definition == "counter" { 20_000 } else { 2_000 };
    executor.run(&module, invocation(subject.definition, "warm", 0), dispatcher.clone(), chain()).await?;
    let mut warm = Vec::with_capacity(calls);
    for n in 0..calls {
        let started = Instant::now();
        executor.run(&module, invocation(subject.definition, "warm", n as i64), dispatcher.clone(), chain()).await?;
        warm.push(started.elapsed());
    }

    // Fresh: a new instance for every call (what activating an actor costs).
    let fresh_executor = Executor::new(Arc::new(ActorEngine::new(Limits { warm_instances: 0, ..Limits::default() })?));
    let fresh_module = ActorModule::load(fresh_executor.engine(), Some(&cache), &path).await?;
    let mut fresh = Vec::new();
    for n in 0..200 {
        let started = Instant::now();
        fresh_executor
            .run(&fresh_module, invocation(subject.definition, "fresh", n), dispatcher.clone(), chain())
            .await?;
        fresh.push(started.elapsed());
    }

    // Memory: resident growth per warm instance of distinct actors.
    let instances = if subject.definition == "counter" { 500 } else { 50 };
    let before = rss_kib();
    for n in 0..instances {
        executor
            .run(&module, invocation(subject.definition, &format!("m-{n}"), 0), dispatcher.clone(), chain())
            .await?;
    }
    let per_instance = (rss_kib().saturating_sub(before)) as f64 / instances as f64;

    println!(
        "{:<15} {:>7} KiB  cold compile {:>9}  cached load {:>8}  warm call p50 {:>9} p99 {:>9}  \
         fresh instance p50 {:>9} p99 {:>9}  {:>8.0} KiB per warm instance",
        subject.label,
        size.div_ceil(1024),
        millis(cold),
        millis(cached),
        micros(percentile(&mut warm, 0.5)),
        micros(percentile(&mut warm, 0.99)),
        micros(percentile(&mut fresh, 0.5)),
        micros(percentile(&mut fresh, 0.99)),
        per_instance,
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let actors = std::env::args().nth(1).map_or_else(|| xtask::actors_dir(&xtask::workspace_root()), Into::into);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    println!(
        "python and js actors against the rust counter (targets: warm ≤ 150 µs, fresh ≤ 10 ms, cached load ≤ 200 ms)"
    );
    for subject in SUBJECTS {
        runtime.block_on(measure(subject, &actors))?;
    }
    Ok(())
}
