//! The `spawn-wasm` command line.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, CommandFactory, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::engine::Limits;
use crate::http::HttpLimits;
use crate::remote::RemoteCall;
use crate::runtime::{RuntimeConfig, Standalone};
use crate::sidecar::{Sidecar, SidecarConfig};

/// The whole program: parses the command line, sets up logging (`RUST_LOG`, default
/// `info`), and runs the chosen mode until it fails or gets SIGINT/SIGTERM.
pub fn main() -> anyhow::Result<()> {
    let args = crate::config_file::with_file_settings(std::env::args_os().collect(), &Cli::command())?;
    let cli = Cli::parse_from(args);
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Human => logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())).init(),
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli))
}

/// Runs the chosen mode until it fails or the process is asked to stop.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sidecar(args) => Sidecar::start(args.config()).await?.run_until(shutdown_signal()).await,
        Command::Standalone(args) => Standalone::start(args.config()).await?.run_until(shutdown_signal()).await,
        Command::Invoke(args) => {
            let data =
                args.data.as_deref().map(serde_json::from_str).transpose().context("--data is not valid JSON")?;
            let call = RemoteCall {
                url: args.api.url,
                system: args.api.system,
                actor: args.actor,
                action: args.action,
                data,
                message_type: args.message_type,
                asynchronous: args.asynchronous,
                metadata: args.metadata.into_iter().collect(),
                register_ref: args.register_ref,
            };
            print_reply(call.send().await?)
        }
        Command::Config(args) => {
            if !args.print {
                anyhow::bail!("nothing to do: use `spawn-wasm config --print`");
            }
            print!("{}", effective_config(&args.mode, cli.config)?);
            Ok(())
        }
        Command::Build(args) => crate::build_cli::run(args),
        Command::New(args) => {
            if args.lang == crate::build_cli::Lang::Python {
                return crate::build_cli::new_python(&args.dir, &args.name);
            }
            let Some(sdk) = args.sdk.or_else(crate::scaffold::default_sdk_path) else {
                anyhow::bail!("cannot find spawn-wasm-sdk: give its directory with --sdk");
            };
            let dir = crate::scaffold::create(&args.dir, &args.name, &sdk)?;
            println!("created {}: cd there, then `cargo build --release --target wasm32-wasip2`", dir.display());
            Ok(())
        }
        Command::State(args) => {
            let call = RemoteCall {
                url: args.api.url,
                system: args.api.system,
                actor: args.actor,
                action: "get".into(),
                data: None,
                message_type: None,
                asynchronous: false,
                metadata: Default::default(),
                register_ref: None,
            };
            print_reply(call.send().await?)
        }
        Command::Inspect(args) => {
            let report = crate::inspect::inspect(&args.file)
                .await
                .with_context(|| format!("inspecting {}", args.file.display()))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{report}");
            }
            Ok(())
        }
    }
}

/// The effective configuration of `mode` (file, environment, defaults), as TOML with each
/// value's source.
fn effective_config(mode: &str, file: Option<PathBuf>) -> anyhow::Result<String> {
    let mut args: Vec<std::ffi::OsString> = vec!["spawn-wasm".into(), mode.into()];
    if let Some(file) = &file {
        args.extend(["--config".into(), file.into()]);
    }
    let args = crate::config_file::with_file_settings(args, &Cli::command())?;
    let matches = Cli::command().try_get_matches_from(args)?;
    let (_, mode_matches) = matches.subcommand().context("a mode")?;
    let command = Cli::command();
    let mode_command = command.find_subcommand(mode).context("a known mode")?;
    let mut text = format!("# effective configuration of `spawn-wasm {mode}`\n[{mode}]\n");
    for arg in mode_command.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else { continue };
        if matches!(long, "config" | "help" | "log-format") {
            continue;
        }
        let Some(values) = mode_matches.get_raw(id) else { continue };
        let value = values.map(|value| value.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
        let source = match mode_matches.value_source(id) {
            Some(clap::parser::ValueSource::CommandLine) => "file",
            Some(clap::parser::ValueSource::EnvVariable) => "environment",
            _ => "default",
        };
        text.push_str(&format!("{long} = {value:?}  # {source}\n"));
    }
    Ok(text)
}

fn print_reply(reply: serde_json::Value) -> anyhow::Result<()> {
    if reply.is_null() {
        println!("(no reply)");
    } else {
        println!("{}", serde_json::to_string_pretty(&reply)?);
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// Runs Spawn actors compiled to WebAssembly components.
#[derive(Debug, Parser)]
#[command(name = "spawn-wasm", version, about, long_about = None, args_override_self = true)]
pub struct Cli {
    /// A TOML configuration file (keys: the long flags; a table per mode). Flags and
    /// environment variables override it.
    #[arg(long, global = true, env = "SPAWN_WASM_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How logs are written: `human` (default) or `json` (one object per line).
    #[arg(long, global = true, env = "SPAWN_WASM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Human,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the components of a directory to a Spawn proxy, as its user function.
    ///
    /// Example: spawn-wasm sidecar --actors ./actors --proxy-port 9001
    Sidecar(SidecarArgs),
    /// Run the components of a directory on an embedded single-node Spawn runtime: no proxy,
    /// no external database. Serves the proxy's client API.
    ///
    /// Example: spawn-wasm standalone --actors ./actors --data ./spawn-data
    Standalone(StandaloneArgs),
    /// Show what a component provides (actors, actions, timers, channels, WIT version)
    /// without serving it.
    ///
    /// Example: spawn-wasm inspect target/actors/joe.wasm --json
    Inspect(InspectArgs),
    /// Invoke an actor of a running standalone runtime, in JSON, and print its reply.
    ///
    /// Example: spawn-wasm invoke counter increment --type domain.Increment --data '{"by": 2}'
    Invoke(InvokeArgs),
    /// Build a component from sources: a Python file or directory (with `main.py`), or a
    /// Rust crate.
    ///
    /// Example: spawn-wasm build examples/python/joe -o actors/joe.wasm
    Build(crate::build_cli::BuildArgs),
    /// Create a new actor crate: a stateful actor, its protobuf messages and a unit test,
    /// ready for `cargo build --release --target wasm32-wasip2`.
    ///
    /// Example: spawn-wasm new greeter
    New(NewArgs),
    /// Show the effective configuration of a mode: each option's value and where it comes
    /// from (file, environment or default).
    ///
    /// Example: spawn-wasm --config spawn-wasm.toml config --print --mode standalone
    Config(ConfigArgs),
    /// Print an actor's state (its built-in `get` action) as JSON.
    ///
    /// Example: spawn-wasm state counter
    State(StateArgs),
}

/// Options of `spawn-wasm config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the effective configuration.
    #[arg(long)]
    pub print: bool,
    /// The mode whose configuration to show.
    #[arg(long, default_value = "standalone", value_parser = ["standalone", "sidecar"])]
    pub mode: String,
}

/// Options of `spawn-wasm new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate's (and actor's) name.
    pub name: String,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The actor's language.
    #[arg(long, value_enum, default_value_t = crate::build_cli::Lang::Rust)]
    pub lang: crate::build_cli::Lang,
    /// The `spawn-wasm-sdk` crate to depend on (default: this checkout's `guest-sdk`).
    #[arg(long, env = "SPAWN_WASM_SDK", value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// Where a running standalone runtime's client API is.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Base URL of the client API.
    #[arg(long, env = "SPAWN_WASM_URL", default_value = "http://127.0.0.1:9001")]
    pub url: String,
    /// Actor system.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
}

/// Options of `spawn-wasm invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The actor.
    pub actor: String,
    /// The action.
    pub action: String,
    /// The input, a JSON object of the message's fields.
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
    /// The input's protobuf message (e.g. `domain.Increment`), unless `--data` has `@type`.
    #[arg(long = "type", value_name = "MESSAGE")]
    pub message_type: Option<String>,
    /// Fire and forget: returns once the call is queued.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// Request metadata, `key=value`; repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub metadata: Vec<(String, String)>,
    /// Spawn the actor from this unnamed template first, if needed.
    #[arg(long, value_name = "PARENT")]
    pub register_ref: Option<String>,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Options of `spawn-wasm state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The actor.
    pub actor: String,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))
}

/// Options of `spawn-wasm inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Options of `spawn-wasm standalone`.
#[derive(Debug, Args)]
pub struct StandaloneArgs {
    /// Directory of actor components (`*.wasm`).
    #[arg(long, env = "SPAWN_WASM_ACTORS", value_name = "DIR")]
    pub actors: PathBuf,
    /// Directory of the state database (created if missing).
    #[arg(long, env = "SPAWN_WASM_DATA", value_name = "DIR", default_value = "spawn-data")]
    pub data: PathBuf,
    /// Address to serve the client API on.
    #[arg(long, env = "SPAWN_WASM_HOST", default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Port to serve the client API on (the proxy's port, so that clients work unchanged).
    #[arg(long, env = "PROXY_HTTP_PORT", default_value_t = 9001)]
    pub port: u16,
    /// Actor system served; requests for another system are rejected.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
    /// Sync every commit to disk: state survives power loss, not only a crash of the process.
    #[arg(long, env = "SPAWN_WASM_FSYNC")]
    pub fsync: bool,
    /// Load the actors directory once; do not follow its changes.
    #[arg(long, env = "SPAWN_WASM_NO_WATCH")]
    pub no_watch: bool,
    /// Limits of every guest call.
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl StandaloneArgs {
    /// The runtime configuration these options describe.
    pub fn config(&self) -> RuntimeConfig {
        RuntimeConfig {
            actors_dir: self.actors.clone(),
            data_dir: self.data.clone(),
            listen: SocketAddr::new(self.host, self.port),
            system: self.system.clone(),
            limits: Limits::from(&self.limits),
            fsync: self.fsync,
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
        }
    }
}

/// Options of `spawn-wasm sidecar`. Each can also come from the environment variable the
/// Spawn proxy and SDKs use; a flag overrides it.
#[derive(Debug, Args)]
pub struct SidecarArgs {
    /// Directory of actor components (`*.wasm`).
    #[arg(long, env = "SPAWN_WASM_ACTORS", value_name = "DIR")]
    pub actors: PathBuf,
    /// Host of the Spawn proxy's HTTP API.
    #[arg(long, env = "PROXY_HTTP_HOST", default_value = "127.0.0.1")]
    pub proxy_host: String,
    /// Port of the Spawn proxy's HTTP API.
    #[arg(long, env = "PROXY_HTTP_PORT", default_value_t = 9001)]
    pub proxy_port: u16,
    /// Address to serve actor invocations on.
    #[arg(long = "host", env = "USER_FUNCTION_HOST", default_value = "0.0.0.0")]
    pub user_function_host: IpAddr,
    /// Port to serve actor invocations on (0 picks a free one).
    #[arg(long = "port", env = "USER_FUNCTION_PORT", default_value_t = 8090)]
    pub user_function_port: u16,
    /// Actor system to register in; must equal the proxy's.
    #[arg(long, env = "PROXY_ACTOR_SYSTEM_NAME", default_value = "spawn-system")]
    pub system: String,
    /// Send the registration again every this many seconds, so that a proxy that restarted
    /// gets it back (0: only at start and when the actors change).
    #[arg(long, env = "SPAWN_WASM_REGISTER_REFRESH_SECS", default_value_t = 30)]
    pub register_refresh_secs: u64,
    /// Where compiled components are cached, so that restarts skip compilation.
    /// Default: `$XDG_CACHE_HOME/spawn-wasm` or `~/.cache/spawn-wasm`.
    #[arg(long, env = "SPAWN_WASM_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Compile every component at every start (no on-disk cache).
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// Load the actors directory once; do not follow its changes.
    #[arg(long, env = "SPAWN_WASM_NO_WATCH")]
    pub no_watch: bool,
    /// Limits of every guest call.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Sandbox limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Memory cap of one actor instance, in MiB.
    #[arg(long, env = "SPAWN_WASM_MEMORY_LIMIT_MB", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub memory_limit_mb: u32,
    /// Deadline of one call, in milliseconds.
    #[arg(long, env = "SPAWN_WASM_CALL_TIMEOUT_MS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub call_timeout_ms: u64,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, env = "SPAWN_WASM_MAX_BODY_BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,
    /// Requests handled at once; more get 503 at once instead of queueing.
    #[arg(long, env = "SPAWN_WASM_MAX_IN_FLIGHT", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests, before it is closed, in milliseconds.
    #[arg(long, env = "SPAWN_WASM_HEADER_TIMEOUT_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_ms: u64,
    /// Instances kept warm between their actor's turns, least recently used evicted (0: a
    /// fresh instance every call). Each costs its guest's resident memory.
    #[arg(long, env = "SPAWN_WASM_WARM_INSTANCES", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=8192))]
    pub warm_instances: u32,
}

impl From<&LimitArgs> for HttpLimits {
    fn from(args: &LimitArgs) -> Self {
        HttpLimits {
            max_body_bytes: args.max_body_bytes,
            max_in_flight: args.max_in_flight as usize,
            header_timeout: Duration::from_millis(args.header_timeout_ms),
        }
    }
}

impl From<&LimitArgs> for Limits {
    fn from(args: &LimitArgs) -> Self {
        Limits {
            memory_bytes: (args.memory_limit_mb as usize) << 20,
            call_timeout: Duration::from_millis(args.call_timeout_ms),
            warm_instances: args.warm_instances as usize,
            max_instances: args.warm_instances + crate::engine::CONCURRENT_FRESH_INSTANCES,
            ..Limits::default()
        }
    }
}

impl SidecarArgs {
    /// The sidecar configuration these options describe.
    pub fn config(&self) -> SidecarConfig {
        SidecarConfig {
            actors_dir: self.actors.clone(),
            proxy_url: format!("http://{}:{}", self.proxy_host, self.proxy_port),
            listen: SocketAddr::new(self.user_function_host, self.user_function_port),
            system: self.system.clone(),
            limits: Limits::from(&self.limits),
            cache_dir: if self.no_cache { None } else { self.cache_dir.clone().or_else(default_cache_dir) },
            watch: !self.no_watch,
            http: HttpLimits::from(&self.limits),
            register_refresh: Duration::from_secs(self.register_refresh_secs),
        }
    }
}

/// The user's cache directory for compiled components, when the environment names one.
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME").filter(|dir| !dir.is_empty()).map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").filter(|dir| !dir.is_empty()).map(|home| PathBuf::from(home).join(".cache"))
    })?;
    Some(base.join("spawn-wasm"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_build_the_config() {
        let cli = Cli::try_parse_from([
            "spawn-wasm",
            "sidecar",
            "--actors",
            "dir",
            "--proxy-host",
            "proxy",
            "--proxy-port",
            "9",
            "--port",
            "0",
            "--system",
            "sys",
            "--memory-limit-mb",
            "32",
            "--call-timeout-ms",
            "250",
        ])
        .unwrap();
        let Command::Sidecar(args) = cli.command else { panic!("expected sidecar") };
        let config = args.config();
        assert_eq!(config.proxy_url, "http://proxy:9");
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.system, "sys");
        assert_eq!(config.limits.memory_bytes, 32 << 20);
        assert_eq!(config.limits.call_timeout, Duration::from_millis(250));
    }

    #[test]
    fn standalone_defaults_are_local_and_safe() {
        let cli = Cli::try_parse_from(["spawn-wasm", "standalone", "--actors", "dir"]).unwrap();
        let Command::Standalone(args) = cli.command else { panic!("expected standalone") };
        let config = args.config();
        assert_eq!(config.listen, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("spawn-data"));
        assert!(!config.fsync);
    }
}
