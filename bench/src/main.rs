//! `spawn-wasm-bench`: load runs over loopback against the real `spawn-wasm` binary, each
//! reported next to its baseline or target. Run them all with `cargo xtask bench`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use domain::{Counter, Increment};
use prost::{Message, Name};
use spawn_wasm_bench::load::Call;
use spawn_wasm_bench::usage::{PerRequest, Usage};
use spawn_wasm_bench::{SYSTEM, increment_invocation, load};
use spawn_wasm_host::protocol::spawn::{self as pb, actors};

mod backup;
mod tracing_cost;

/// The state store key of the encrypted runs (the base64 of 32 bytes).
const BENCH_KEY: &str = "uWnMotiVC+MS8pvatoDnPNTK9j1WguXditoBoAnKilM=";

#[derive(Parser)]
#[command(about = "Load benchmarks of spawn-wasm over loopback")]
struct Cli {
    /// The `spawn-wasm` binary to measure.
    #[arg(long, default_value = "target/release/spawn-wasm")]
    binary: PathBuf,
    /// The example components.
    #[arg(long, default_value = "target/actors")]
    actors: PathBuf,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Sidecar over HTTP against a native axum server doing the same work, alternating.
    Http {
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        #[arg(long, default_value_t = 2)]
        rounds: usize,
    },
    /// Standalone: counter.increment through the client API across many actors.
    Standalone(CounterLoad),
    /// Standalone: `counter.increment` across many actors with every request traced and
    /// exported over OTLP to a local receiver, against tracing off, alternating in one run.
    Tracing(CounterLoad),
    /// The state store of N actors, encrypted: an online backup (`VACUUM INTO`) and a
    /// `verify` of the copy.
    Backup {
        #[arg(long, default_value_t = 100_000)]
        actors: usize,
    },
    /// Standalone: resident memory per activated idle actor.
    Memory {
        #[arg(long, default_value_t = 100_000)]
        actors: usize,
    },
    /// Standalone: what ticking instances cost (tasks and memory), active and once
    /// deactivated: each one's timers are records in one clock, not tasks.
    Timers {
        #[arg(long, default_value_t = 10_000)]
        instances: usize,
    },
    /// Time from a component file written to its new version answering.
    Reload {
        #[arg(long, default_value_t = 20)]
        rounds: usize,
    },
    /// Time from start to serving N components, with a cold and a warm code cache.
    Startup {
        #[arg(long, default_value_t = 100)]
        components: usize,
    },
    /// A bounded mixed run: increments across many actors, hostile calls and component
    /// reloads at once; checks every call is accounted for and that memory and file
    /// descriptors stay flat.
    Soak {
        #[arg(long, default_value_t = 120)]
        seconds: u64,
    },
    /// The native baseline servers (used by `http` and `standalone`): the sidecar's route,
    /// or with `--client-api` the proxy's client API.
    #[command(hide = true)]
    NativeServer {
        port: u16,
        #[arg(long)]
        client_api: bool,
    },
    /// Sends the `http` scenario's load to a user function already listening (to profile it).
    Drive {
        addr: SocketAddr,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Distinct actor instances the requests go to, round-robin.
        #[arg(long, default_value_t = 1)]
        actors: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Send the standalone scenario's client-API requests instead of the proxy's.
        #[arg(long)]
        standalone: bool,
    },
}

/// `counter.increment` load on a standalone host: how many actors, connections and seconds,
/// and how many rounds of the configurations compared, alternating (each one's median is
/// reported).
#[derive(clap::Args, Clone, Copy)]
struct CounterLoad {
    #[arg(long, default_value_t = 1000)]
    actors: usize,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.scenario {
            Scenario::NativeServer { port, client_api } => {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
                if client_api {
                    Ok(spawn_wasm_bench::serve_native_client_api(listener).await?)
                } else {
                    Ok(spawn_wasm_bench::serve_native(listener).await?)
                }
            }
            Scenario::Drive { addr, connections, actors, seconds, standalone } => {
                let duration = Duration::from_secs(seconds);
                let report = if standalone {
                    load::run(addr, connections, duration, move |c, i| {
                        counter_request((c * 7919 + i as usize) % actors, "increment")
                    })
                    .await?
                } else {
                    let bodies = sidecar_bodies(actors);
                    load::run(addr, connections, duration, move |c, i| {
                        sidecar_call(bodies[(c * 7919 + i as usize) % bodies.len()].clone())
                    })
                    .await?
                };
                println!("{report}");
                Ok(())
            }
            Scenario::Http { seconds, rounds } => http(&cli.binary, &cli.actors, seconds, rounds).await,
            Scenario::Standalone(load) => standalone(&cli.binary, &cli.actors, &load).await,
            Scenario::Memory { actors } => memory(&cli.binary, &cli.actors, actors).await,
            Scenario::Backup { actors } => backup::run(actors).await,
            Scenario::Tracing(load) => tracing_cost::run(&cli.binary, &cli.actors, &load).await,
            Scenario::Timers { instances } => timers(&cli.binary, &cli.actors, instances).await,
            Scenario::Reload { rounds } => reload(&cli.binary, &cli.actors, rounds).await,
            Scenario::Startup { components } => startup(&cli.binary, &cli.actors, components).await,
            Scenario::Soak { seconds } => soak(&cli.binary, &cli.actors, seconds).await,
        }
    })
}

/// A child process, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `program args`, then waits until `GET ready_path` answers 200 (at most 120 s).
async fn start(program: &Path, args: &[String], port: u16, ready_path: &str) -> anyhow::Result<(Server, Duration)> {
    start_in(program, args, &[], port, ready_path).await
}

/// [`start`], with extra environment `env`.
async fn start_in(
    program: &Path,
    args: &[String],
    env: &[(&str, String)],
    port: u16,
    ready_path: &str,
) -> anyhow::Result<(Server, Duration)> {
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(key, value)| (*key, value)))
        .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {} (build it with `cargo build --release`)", program.display()))?;
    let server = Server { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
    let url = format!("http://{}{ready_path}", server.addr);
    let deadline = started + Duration::from_secs(120);
    while Instant::now() < deadline {
        if probe(&url).await {
            return Ok((server, started.elapsed()));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("{} did not become ready", program.display())
}

/// Whether `GET url` answers 2xx.
async fn probe(url: &str) -> bool {
    let Ok(uri) = url.parse::<hyper::Uri>() else { return false };
    let Some(authority) = uri.authority().map(|a| a.to_string()) else { return false };
    let Ok(stream) = tokio::net::TcpStream::connect(authority).await else { return false };
    let Ok((mut sender, driver)) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await
    else {
        return false;
    };
    tokio::spawn(driver);
    let request = hyper::Request::get(uri).body(http_body_util::Empty::<Bytes>::new()).expect("static request");
    matches!(sender.send_request(request).await, Ok(response) if response.status().is_success())
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|word| word.to_string()).collect()
}

/// The sidecar's load configurations: (keep-alive connections, distinct actors).
const HTTP_CONFIGURATIONS: [(usize, usize); 4] = [(1, 1), (1, 64), (16, 1), (16, 64)];

/// One load run against a server process: its throughput and what each request cost it.
#[derive(Debug, Clone)]
struct Measured {
    load: load::LoadReport,
    cost: PerRequest,
}

impl std::fmt::Display for Measured {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}  {}", self.load, self.cost)
    }
}

/// Runs `load` against `server` and reads what the server process spent meanwhile.
async fn measure(
    server: &Server,
    connections: usize,
    duration: Duration,
    call: impl Fn(usize, u64) -> Call + Send + Sync + Clone + 'static,
) -> anyhow::Result<Measured> {
    let before = Usage::of(server.child.id())?;
    let load = load::run(server.addr, connections, duration, call).await?;
    let cost = Usage::of(server.child.id())?.since(before).per_request(load.requests);
    Ok(Measured { load, cost })
}

/// The median run by throughput.
fn median(mut runs: Vec<Measured>) -> Measured {
    runs.sort_by(|a, b| a.load.requests_per_second.total_cmp(&b.load.requests_per_second));
    runs.swap_remove(runs.len() / 2)
}

/// Runs `run(variant, round)` for each of `N` variants once per round, alternating, so that a
/// slow spell of the machine falls on them alike; each variant's median run.
async fn alternating<const N: usize, Run>(
    rounds: usize,
    mut run: impl FnMut(usize, usize) -> Run,
) -> anyhow::Result<[Measured; N]>
where
    Run: Future<Output = anyhow::Result<Measured>>,
{
    let mut runs: [Vec<Measured>; N] = std::array::from_fn(|_| Vec::new());
    for round in 0..rounds.max(1) {
        for (variant, measured) in runs.iter_mut().enumerate() {
            measured.push(run(variant, round).await?);
        }
    }
    Ok(runs.map(median))
}

/// The sidecar against the native user function, alternating run by run in each load
/// configuration; reported as ratios, the only figures that carry across machines.
async fn http(binary: &Path, actors: &Path, seconds: u64, rounds: usize) -> anyhow::Result<()> {
    let duration = Duration::from_secs(seconds);
    let port = free_port()?;
    let sidecar_args = [
        "sidecar",
        "--actors",
        &actors.display().to_string(),
        "--port",
        &port.to_string(),
        "--host",
        "127.0.0.1",
        "--proxy-port",
        "9",
        "--no-cache",
    ];
    let (sidecar, _) = start(binary, &args(&sidecar_args), port, "/health/liveness").await?;
    let native = start_native(binary, false).await?;
    let mut summary = Vec::new();
    for (connections, actors) in HTTP_CONFIGURATIONS {
        let bodies = sidecar_bodies(actors);
        let body = move |c: usize, i: u64| sidecar_call(bodies[(c * 7919 + i as usize) % bodies.len()].clone());
        // Warm-up: every actor's instance, the servers' connections and allocators.
        measure(&sidecar, connections, Duration::from_secs(1), body.clone()).await?;
        measure(&native, connections, Duration::from_secs(1), body.clone()).await?;
        let (mut wasm_runs, mut native_runs) = (Vec::new(), Vec::new());
        for round in 0..rounds {
            let wasm = measure(&sidecar, connections, duration, body.clone()).await?;
            println!("{connections:>2} conn, {actors:>2} actors, round {round}: wasm sidecar  {wasm}");
            wasm_runs.push(wasm);
            let baseline = measure(&native, connections, duration, body.clone()).await?;
            println!("{connections:>2} conn, {actors:>2} actors, round {round}: native axum   {baseline}");
            native_runs.push(baseline);
        }
        summary.push((connections, actors, median(wasm_runs), median(native_runs)));
    }
    println!("HTTP sidecar against the native user function (medians of {rounds} alternating runs):");
    println!("conn actors   req/s wasm/native (≥0.80)   CPU/req wasm/native   ctx sw/req wasm, native");
    for (connections, actors, wasm, native) in summary {
        let cpu_target = if connections > 1 { " (≤1.25)" } else { "" };
        println!(
            "{connections:>4} {actors:>6}   {:>6.0}/{:<6.0} = {:.2}     {:>5.1}/{:<5.1} µs = {:.2}{cpu_target}   {:.2}, {:.2}",
            wasm.load.requests_per_second,
            native.load.requests_per_second,
            wasm.load.requests_per_second / native.load.requests_per_second,
            wasm.cost.cpu_us,
            native.cost.cpu_us,
            wasm.cost.cpu_us / native.cost.cpu_us,
            wasm.cost.context_switches,
            native.cost.context_switches,
        );
    }
    Ok(())
}

/// The native baseline server (the sidecar's route; with `client_api`, the proxy's client
/// API), as a process of its own like the host.
async fn start_native(binary: &Path, client_api: bool) -> anyhow::Result<Server> {
    let port = free_port()?;
    let me = std::env::current_exe()?;
    let mut native_args =
        vec!["--binary".to_owned(), binary.display().to_string(), "native-server".into(), port.to_string()];
    if client_api {
        native_args.push("--client-api".into());
    }
    let native = Command::new(&me).args(native_args).stdin(Stdio::null()).spawn()?;
    let server = Server { child: native, addr: SocketAddr::from(([127, 0, 0, 1], port)) };
    wait_for_port(server.addr).await?;
    Ok(server)
}

/// One `ActorInvocation` for each of `actors` instances of `counters`.
fn sidecar_bodies(actors: usize) -> Vec<Bytes> {
    (0..actors).map(|c| Bytes::from(increment_invocation(&format!("c-{c}"), 41).encode_to_vec())).collect()
}

async fn wait_for_port(addr: SocketAddr) -> anyhow::Result<()> {
    for _ in 0..5000 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    bail!("nothing listens on {addr}")
}

/// Starts a standalone host over `actors` with its state in `data` and its compiled code in
/// `cache`.
async fn start_standalone(
    binary: &Path,
    actors: &Path,
    data: &Path,
    cache: &Path,
) -> anyhow::Result<(Server, Duration)> {
    start_standalone_in(binary, actors, data, cache, None, &[]).await
}

/// [`start_standalone`], its state store encrypted with `key` if one is given, with extra
/// environment `env`.
async fn start_standalone_in(
    binary: &Path,
    actors: &Path,
    data: &Path,
    cache: &Path,
    key: Option<&str>,
    env: &[(&str, String)],
) -> anyhow::Result<(Server, Duration)> {
    let port = free_port()?;
    let mut words = vec![
        "standalone",
        "--actors",
        &actors.display().to_string(),
        "--data",
        &data.display().to_string(),
        "--cache-dir",
        &cache.display().to_string(),
        "--port",
        &port.to_string(),
    ]
    .into_iter()
    .map(str::to_owned)
    .collect::<Vec<_>>();
    words.extend(key.into_iter().flat_map(|key| ["--statestore-key".to_owned(), key.to_owned()]));
    start_in(binary, &words, env, port, "/health/readiness").await
}

async fn standalone(binary: &Path, actors: &Path, load: &CounterLoad) -> anyhow::Result<()> {
    let CounterLoad { actors: count, connections, seconds, rounds } = *load;
    let only_counter = tempfile::tempdir()?;
    std::fs::copy(actors.join("counter.wasm"), only_counter.path().join("counter.wasm"))?;
    let duration = Duration::from_secs(seconds);
    let mut write_behind = None;
    for (action, label) in [("increment", "write-behind"), ("incrementDurably", "checkpoint every call")] {
        // Plain and with the state store encrypted (`--statestore-key`), alternating.
        let keys = [None, Some(BENCH_KEY)];
        let [plain, encrypted] = alternating(rounds, |variant, round| {
            let only_counter = only_counter.path();
            async move {
                let key = keys[variant];
                let data = tempfile::tempdir()?;
                let cache = data.path().join("code-cache");
                let (server, _) = start_standalone_in(binary, only_counter, data.path(), &cache, key, &[]).await?;
                let body = move |c: usize, i: u64| counter_request((c * 7919 + i as usize) % count, action);
                // Warm-up: activate every actor once.
                measure(&server, connections, Duration::from_secs(1), body).await?;
                let run = measure(&server, connections, duration, body).await?;
                let encrypted = if key.is_some() { ", encrypted" } else { "" };
                println!(
                    "standalone counters.{action} across {count} actors, {label}{encrypted}, round {round}: {run}"
                );
                Ok(run)
            }
        })
        .await?;
        println!(
            "standalone {label}: encrypted / plain {:.2} req/s (medians of {rounds}; target ≥ 0.90), {:.2} CPU per request",
            encrypted.load.requests_per_second / plain.load.requests_per_second,
            encrypted.cost.cpu_us / plain.cost.cpu_us
        );
        write_behind.get_or_insert(plain);
    }
    // The native client API doing the same work per request (HTTP, protobuf, a state
    // lookup), in the same run.
    let native = start_native(binary, true).await?;
    let body = move |c: usize, i: u64| counter_request((c * 7919 + i as usize) % count, "increment");
    measure(&native, connections, Duration::from_secs(1), body).await?;
    let baseline = measure(&native, connections, duration, body).await?;
    println!("native client API across {count} actors:                    {baseline}");
    let wasm = write_behind.expect("measured above");
    println!(
        "standalone write-behind (median) / native: {:.2} req/s (target ≥ 0.80), {:.2} CPU per request",
        wasm.load.requests_per_second / baseline.load.requests_per_second,
        wasm.cost.cpu_us / baseline.cost.cpu_us
    );
    Ok(())
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("malformed VmRSS")?.parse()?)
}

/// The host's default number of warm instances.
const WARM_INSTANCES: usize = 1024;

/// Activates `count` counters (`first`, `first + 1`, ...) with one increment each (more
/// if a run overshoots), within five minutes.
async fn activate(addr: SocketAddr, count: usize, first: usize) -> anyhow::Result<()> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    while next.load(std::sync::atomic::Ordering::Relaxed) < count && started.elapsed() < Duration::from_secs(300) {
        let next = next.clone();
        load::run(addr, 16, Duration::from_millis(500), move |_, _| {
            let key = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            counter_request(first + key % count, "increment")
        })
        .await?;
    }
    Ok(())
}

async fn memory(binary: &Path, actors: &Path, count: usize) -> anyhow::Result<()> {
    let only_counter = tempfile::tempdir()?;
    std::fs::copy(actors.join("counter.wasm"), only_counter.path().join("counter.wasm"))?;
    let data = tempfile::tempdir()?;
    let (server, _) =
        start_standalone(binary, only_counter.path(), data.path(), &data.path().join("code-cache")).await?;
    // First, more actors than the host keeps warm instances for (1 024 by default), so
    // that the baseline includes a full instance pool: it is bounded, and the same
    // whatever the number of actors.
    activate(server.addr, 2 * WARM_INSTANCES, 1_000_000).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = rss_kib(server.child.id())?;
    activate(server.addr, count, 0).await?;
    // Idle: past the snapshot period (2 s), so that no write-behind is still in flight.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_kib(server.child.id())?;
    let state_bytes = Counter { value: 1 }.encoded_len() + Counter::type_url().len();
    println!(
        "memory: {count} active idle actors: RSS {before} KiB -> {after} KiB = {:.0} bytes per actor (state {state_bytes} bytes; target ≤ 1 KiB beyond the state)",
        (after.saturating_sub(before) * 1024) as f64 / count as f64
    );
    // Graceful shutdown persists every actor; then measure the database.
    let mut server = server;
    Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status()?;
    server.child.wait()?;
    let bytes: u64 = std::fs::read_dir(data.path())?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("state.db"))
        .map(|entry| entry.metadata().map_or(0, |metadata| metadata.len()))
        .sum();
    println!(
        "disk: {count} actors' state in SQLite: {:.1} MiB = {:.2} MiB per 10 000 actors",
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / (1 << 20) as f64 * 10_000.0 / count as f64
    );
    Ok(())
}

/// The value of gauge `name` in the host's `/metrics`.
async fn gauge(addr: SocketAddr, name: &str) -> anyhow::Result<f64> {
    let text = load::get_text(addr, "/metrics").await?;
    let line = text.lines().find(|line| line.split_whitespace().next() == Some(name)).context("no such gauge")?;
    Ok(line.rsplit_once(' ').context("malformed line")?.1.parse()?)
}

async fn timers(binary: &Path, actors: &Path, count: usize) -> anyhow::Result<()> {
    let only_clock = tempfile::tempdir()?;
    std::fs::copy(actors.join("clock.wasm"), only_clock.path().join("clock.wasm"))?;
    let data = tempfile::tempdir()?;
    let (server, _) = start_standalone(binary, only_clock.path(), data.path(), &data.path().join("code-cache")).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (tasks_before, rss_before) = (gauge(server.addr, "spawn_wasm_tasks").await?, rss_kib(server.child.id())?);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    while next.load(std::sync::atomic::Ordering::Relaxed) < count {
        let next = next.clone();
        load::run(server.addr, 16, Duration::from_millis(500), move |_, _| {
            let key = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % count;
            invocation(&format!("t-{key}"), "get", None, "ticker")
        })
        .await?;
    }
    let report = |when: &str, tasks: f64, rss: u64| {
        println!(
            "timers: {count} ticking instances {when}: {:.0} tasks more ({:.2} per instance), RSS +{} KiB ({:.0} bytes per instance)",
            tasks - tasks_before,
            (tasks - tasks_before) / count as f64,
            rss.saturating_sub(rss_before),
            (rss.saturating_sub(rss_before) * 1024) as f64 / count as f64
        )
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    report("active", gauge(server.addr, "spawn_wasm_tasks").await?, rss_kib(server.child.id())?);
    // Idle past their deactivation timeout (10 s): only their timers are left.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let timer_instances = gauge(server.addr, "spawn_wasm_timer_instances").await?;
    report("deactivated", gauge(server.addr, "spawn_wasm_tasks").await?, rss_kib(server.child.id())?);
    println!(
        "timers: {timer_instances:.0} instances in the clock, {:.0} active actors (target: one task for all timers, none per instance)",
        gauge(server.addr, "spawn_wasm_active_actors").await?
    );
    Ok(())
}

async fn reload(binary: &Path, actors: &Path, rounds: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    let (server, _) = start_standalone(binary, dir.path(), data.path(), &data.path().join("code-cache")).await?;
    let versions = [("router", "router"), ("caller", "caller")];
    let mut latencies = Vec::new();
    for round in 0..rounds {
        let (file, actor) = versions[round % 2];
        let bytes = std::fs::read(actors.join(format!("{file}.wasm")))?;
        let staging = dir.path().join(".x.wasm.tmp");
        std::fs::write(&staging, bytes)?;
        let written = Instant::now();
        std::fs::rename(&staging, dir.path().join("x.wasm"))?;
        let body = get_request(actor);
        loop {
            if post_ok(server.addr, body.clone()).await {
                break;
            }
            if written.elapsed() > Duration::from_secs(10) {
                bail!("round {round}: {actor} never answered");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(written.elapsed());
    }
    latencies.sort();
    println!(
        "reload: file written -> new version answering, {rounds} rounds: median {:.1} ms, max {:.1} ms (target ≤ 100 ms)",
        latencies[rounds / 2].as_secs_f64() * 1e3,
        latencies[rounds - 1].as_secs_f64() * 1e3
    );
    drop(server);
    Ok(())
}

async fn post_ok(addr: SocketAddr, call: Call) -> bool {
    load::post_once(addr, &call.path, call.body).await.is_ok_and(|status| status == 200)
}

/// `count` distinct components: copies of `counter.wasm` whose actor names are rewritten
/// in place (same length), so that no two files claim the same actor.
fn distinct_components(actors: &Path, dir: &Path, count: usize) -> anyhow::Result<()> {
    let original = std::fs::read(actors.join("counter.wasm"))?;
    // The component defines `counter` and `counters`. The compiler keeps the 8-byte
    // `counters` as an `i64.const` immediate in the code, so that one is rewritten in its
    // LEB128 encoding; an 8-byte name ending in `s` encodes to as many bytes.
    let immediate = |name: &[u8; 8]| sleb128(i64::from_le_bytes(*name));
    let plural = immediate(b"counters");
    for index in 0..count {
        let name = format!("ctr{index:04}");
        let mut bytes = original.clone();
        replace_all(&mut bytes, b"counter", name.as_bytes());
        let renamed: [u8; 8] = format!("{name}s").into_bytes().try_into().expect("8 bytes");
        let encoded = immediate(&renamed);
        anyhow::ensure!(encoded.len() == plural.len(), "`{name}s` encodes to another length than `counters`");
        replace_all(&mut bytes, &plural, &encoded);
        std::fs::write(dir.join(format!("{name}.wasm")), bytes)?;
    }
    Ok(())
}

/// Replaces every `from` in `bytes` with `to`, of the same length.
fn replace_all(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    let mut at = 0;
    while let Some(offset) = bytes[at..].windows(from.len()).position(|window| window == from) {
        bytes[at + offset..at + offset + from.len()].copy_from_slice(to);
        at += offset + from.len();
    }
}

/// `value` as WebAssembly encodes an `i64.const` immediate (signed LEB128).
fn sleb128(mut value: i64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        let done = (value == 0 && byte & 0x40 == 0) || (value == -1 && byte & 0x40 != 0);
        out.push(if done { byte } else { byte | 0x80 });
        if done {
            return out;
        }
    }
}

/// Start to ready with `count` components: with an empty code cache, then with the cache
/// warm, each start on a new data directory (the cache is the user's, not the data
/// directory's), then with the same data directory again.
async fn startup(binary: &Path, actors: &Path, count: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    distinct_components(actors, dir.path(), count)?;
    let cache = tempfile::tempdir()?;
    let data = tempfile::tempdir()?;
    let (server, cold) = start_standalone(binary, dir.path(), data.path(), cache.path()).await?;
    // What the start-up times cover: components loaded and rejected (a rejected one was still
    // read and compiled).
    let events = |event: &str| format!("spawn_wasm_module_events_total{{event=\"{event}\"}}");
    let loaded = gauge(server.addr, &events("loaded")).await.unwrap_or(0.0);
    let rejected = gauge(server.addr, &events("rejected")).await.unwrap_or(0.0);
    drop(server);
    let mut new_data = Vec::new();
    let mut same_data = Vec::new();
    for _ in 0..5 {
        let fresh = tempfile::tempdir()?;
        let (server, elapsed) = start_standalone(binary, dir.path(), fresh.path(), cache.path()).await?;
        new_data.push(elapsed);
        drop(server);
        let (server, elapsed) = start_standalone(binary, dir.path(), data.path(), cache.path()).await?;
        same_data.push(elapsed);
        drop(server);
    }
    new_data.sort();
    same_data.sort();
    let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
    println!(
        "startup with {count} components ({loaded} loaded, {rejected} rejected), start to ready: cold cache {:.0} ms; warm cache, new data directory {:.0} ms, same data directory {:.0} ms (medians of 5; target ≤ 100 ms warm)",
        ms(cold),
        ms(new_data[2]),
        ms(same_data[2])
    );
    Ok(())
}

fn open_fds(pid: u32) -> anyhow::Result<usize> {
    Ok(std::fs::read_dir(format!("/proc/{pid}/fd"))?.count())
}

async fn soak(binary: &Path, actors: &Path, seconds: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    for name in ["counter", "hostile"] {
        std::fs::copy(actors.join(format!("{name}.wasm")), dir.path().join(format!("{name}.wasm")))?;
    }
    let data = tempfile::tempdir()?;
    // A short deadline keeps the hostile calls short.
    let port = free_port()?;
    let words = [
        "standalone",
        "--actors",
        &dir.path().display().to_string(),
        "--data",
        &data.path().display().to_string(),
        "--port",
        &port.to_string(),
        "--call-timeout-ms",
        "200",
    ];
    let (server, _) = start(binary, &args(&words), port, "/health/readiness").await?;
    let warm_up = load::run(server.addr, 8, Duration::from_secs(5), |c, i| {
        counter_request((c * 7919 + i as usize) % 1000, "increment")
    })
    .await?;
    let (rss_start, fds_start) = (rss_kib(server.child.id())?, open_fds(server.child.id())?);

    let duration = Duration::from_secs(seconds);
    let reloads = {
        let (dir, actors) = (dir.path().to_owned(), actors.to_owned());
        tokio::spawn(async move {
            let mut count = 0u64;
            let deadline = Instant::now() + duration;
            while Instant::now() < deadline {
                let source = if count.is_multiple_of(2) { "router" } else { "caller" };
                let staging = dir.join(".x.wasm.tmp");
                std::fs::copy(actors.join(format!("{source}.wasm")), &staging)?;
                std::fs::rename(&staging, dir.join("x.wasm"))?;
                count += 1;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            anyhow::Ok(count)
        })
    };
    let hostile = load::run(server.addr, 1, duration, |_, i| {
        let action = ["panic", "hog", "spin", "recurse"][i as usize % 4];
        hostile_request(action)
    });
    let counters =
        load::run(server.addr, 8, duration, |c, i| counter_request((c * 7919 + i as usize) % 1000, "increment"));
    // RSS every tenth of the run, to tell a plateau from growth.
    let pid = server.child.id();
    let samples = tokio::spawn(async move {
        let mut samples = Vec::new();
        for _ in 0..10 {
            tokio::time::sleep(duration / 10).await;
            samples.push(rss_kib(pid).unwrap_or(0) / 1024);
        }
        samples
    });
    let (hostile, counters) = tokio::join!(hostile, counters);
    let (hostile, counters, reloads) = (hostile?, counters?, reloads.await??);
    let samples = samples.await?;
    println!("soak: RSS every {} s, MiB: {samples:?}", seconds / 10);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (rss_end, fds_end) = (rss_kib(server.child.id())?, open_fds(server.child.id())?);
    let hostile_calls = (hostile.requests_per_second * seconds as f64).round() as u64;
    println!(
        "soak {seconds} s: {:.0} increments/s with {} failed (must be 0); {} hostile calls, {} answered with an error (must be all); {reloads} reloads; RSS {rss_start} KiB -> {rss_end} KiB; open fds {fds_start} -> {fds_end} (warm-up {:.0} req/s)",
        counters.requests_per_second,
        counters.errors,
        hostile_calls + hostile.errors,
        hostile.errors,
        warm_up.requests_per_second
    );
    if counters.errors != 0 || hostile_calls != 0 {
        bail!(
            "calls not accounted for: {} failed increments, {hostile_calls} hostile calls that succeeded",
            counters.errors
        );
    }
    Ok(())
}

/// The encoded `InvocationRequest` for `actor.action(payload)`, spawning `actor` from
/// `register_ref` if given.
fn invocation(actor: &str, action: &str, payload: Option<prost_types::Any>, register_ref: &str) -> Call {
    let request = pb::InvocationRequest {
        system: Some(actors::ActorSystem { name: SYSTEM.into(), registry: None }),
        actor: Some(actors::Actor {
            id: Some(actors::ActorId { name: actor.into(), system: SYSTEM.into(), parent: String::new() }),
            ..Default::default()
        }),
        action_name: action.into(),
        payload: payload.map(pb::invocation_request::Payload::Value),
        register_ref: register_ref.into(),
        ..Default::default()
    };
    Call { path: format!("/api/v1/system/{SYSTEM}/actors/{actor}/invoke"), body: Bytes::from(request.encode_to_vec()) }
}

/// A sidecar invocation, posted to the proxy's route of the user function.
fn sidecar_call(body: Bytes) -> Call {
    Call { path: "/api/v1/actors/actions".into(), body }
}

/// `counters.<action>(Increment{1})` on instance `c-<key>`, spawned by register_ref.
fn counter_request(key: usize, action: &str) -> Call {
    let increment = prost_types::Any { type_url: Increment::type_url(), value: Increment { by: 1 }.encode_to_vec() };
    invocation(&format!("c-{key}"), action, Some(increment), "counters")
}

/// `actor.get()`.
fn get_request(actor: &str) -> Call {
    invocation(actor, "get", None, "")
}

/// `hostile.<action>(Request{})`.
fn hostile_request(action: &str) -> Call {
    let request = prost_types::Any { type_url: "type.googleapis.com/domain.Request".into(), value: Vec::new() };
    invocation("hostile", action, Some(request), "")
}
