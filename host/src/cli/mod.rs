//! The `spawn-wasm` command line: one module per verb, each holding its options and what it
//! runs; [`args`] is the command line's shape, [`config_file`] the optional TOML file under
//! the flags and environment variables.

pub mod args;
pub mod backup;
pub mod build;
pub mod common;
pub mod config;
pub mod config_file;
pub mod inspect;
pub mod invoke;
mod log_lines;
pub mod new;
pub mod remote;
pub mod restore;
pub mod scaffold;
pub mod sidecar;
pub mod standalone;
pub mod state;
pub mod store_keys;
pub mod verify;

use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

pub use args::{Cli, Command, LogFormat};

/// The whole program: parses the command line, sets up logging (`RUST_LOG`, default
/// `info`), and runs the chosen verb until it fails or gets SIGINT/SIGTERM.
pub fn main() -> anyhow::Result<()> {
    let command = config_file::without_empty_env(Cli::command());
    let args = config_file::with_file_settings(std::env::args_os().collect(), &command)?;
    let cli = Cli::from_arg_matches(&command.get_matches_from(args)).unwrap_or_else(|error| error.exit());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    // A server logs to stdout, as containers expect; any other verb's stdout is its result
    // (`inspect --json`, a reply), so its log goes to stderr.
    let stderr = !matches!(cli.command, Command::Sidecar(_) | Command::Standalone(_));
    match cli.log_format {
        LogFormat::Json if stderr => logs.json().with_writer(std::io::stderr).init(),
        LogFormat::Json => logs.json().init(),
        LogFormat::Human => {
            let ansi = if stderr {
                std::io::IsTerminal::is_terminal(&std::io::stderr())
            } else {
                std::io::IsTerminal::is_terminal(&std::io::stdout())
            };
            logs.with_ansi(ansi).with_writer(log_lines::OneLineWriter { ansi, stderr }).init()
        }
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli))
}

/// Runs the chosen verb until it fails or the process is asked to stop.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sidecar(args) => sidecar::run(args).await,
        Command::Standalone(args) => standalone::run(args).await,
        Command::Invoke(args) => invoke::run(args).await,
        Command::Build(args) => build::run(args),
        Command::Config(args) => config::run(args, cli.config, Cli::command()),
        Command::New(args) => new::run(args),
        Command::State(args) => state::run(args).await,
        Command::Restore(args) => restore::run(args).await,
        Command::Inspect(args) => inspect::run(args).await,
        Command::Backup(args) => backup::run(args).await,
        Command::Verify(args) => verify::run(args),
    }
}
