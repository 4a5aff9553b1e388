//! The command line's shape: global options and one subcommand per verb.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use super::backup::BackupArgs;
use super::build::BuildArgs;
use super::config::ConfigArgs;
use super::inspect::InspectArgs;
use super::invoke::InvokeArgs;
use super::new::NewArgs;
use super::restore::RestoreArgs;
use super::sidecar::SidecarArgs;
use super::standalone::StandaloneArgs;
use super::state::StateArgs;
use super::verify::VerifyArgs;

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
    /// Example: spawn-wasm invoke counter increment --data '{"by": 2}'
    Invoke(InvokeArgs),
    /// Build a component from sources: a Python file or directory (with `main.py`), a
    /// JavaScript or TypeScript file or directory (with `package.json`), or a Rust crate.
    ///
    /// Example: spawn-wasm build examples/python/joe -o actors/joe.wasm
    Build(BuildArgs),
    /// Create a new actor project: a stateful actor and its protobuf messages, in Rust (a
    /// crate with a unit test, ready for `cargo build --release --target wasm32-wasip2`), in
    /// Python (`--lang python`) or in TypeScript (`--lang js`), both ready for
    /// `spawn-wasm build`.
    ///
    /// Example: spawn-wasm new greeter --lang python
    New(NewArgs),
    /// Show the effective configuration of a mode: each option's value and where it comes
    /// from (file, environment or default).
    ///
    /// Example: spawn-wasm --config spawn-wasm.toml config --print --mode standalone
    Config(ConfigArgs),
    /// Print an actor's state as JSON with its revision, a kept revision (`--revision N`),
    /// or the kept revisions (`--history`).
    ///
    /// Example: spawn-wasm state counter --history
    State(StateArgs),
    /// Make a kept revision of an actor's state its current state, as a new revision.
    ///
    /// Example: spawn-wasm restore counter 3
    Restore(RestoreArgs),
    /// Write a consistent copy of a running standalone host's state database into a new
    /// directory on its machine, while it serves; the copy starts as a data directory.
    ///
    /// Example: spawn-wasm backup /backups/spawn-2025-01-01
    Backup(BackupArgs),
    /// Check a data directory (a backup, or a host's) without starting a host and without
    /// changing it: SQLite's integrity check, and every stored value opened with the keys.
    ///
    /// Example: SPAWN_STATESTORE_KEY=... spawn-wasm verify /backups/spawn-2025-01-01
    Verify(VerifyArgs),
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use clap::{CommandFactory, Parser};

    use std::ffi::OsString;

    use super::*;
    use crate::cli::config_file::{ConfigError, with_file_settings};

    #[test]
    fn the_cli_definition_is_consistent() {
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
            "--allowed-outbound-hosts",
            "https://api.example.com,http://127.0.0.1:*",
            "--max-outbound-response-mb",
            "2",
        ])
        .unwrap();
        let Command::Sidecar(args) = cli.command else { panic!("expected sidecar") };
        let config = args.config();
        assert_eq!(config.proxy_url, "http://proxy:9");
        assert_eq!(config.listen.port(), 0);
        assert_eq!(config.system, "sys");
        assert_eq!(config.limits.memory_bytes, 32 << 20);
        assert_eq!(config.limits.call_timeout, Duration::from_millis(250));
        let narrowed =
            crate::wasm::capabilities::AllowedOutboundHosts::parse(&["https://api.example.com", "http://127.0.0.1:*"]);
        assert_eq!(config.limits.policy.outbound_hosts, Some(narrowed.unwrap()));
        assert_eq!(config.limits.max_outbound_response_bytes, 2 << 20);
        let bad = Cli::try_parse_from([
            "spawn-wasm",
            "standalone",
            "--actors",
            "d",
            "--allowed-outbound-hosts",
            "example.com",
        ]);
        assert!(bad.unwrap_err().to_string().contains("`example.com` is not an outbound host pattern"));
    }

    #[test]
    fn allowed_hosts_come_from_repeated_flags_or_the_configuration_file() {
        let argv =
            ["spawn-wasm", "standalone", "--actors", "d", "--allowed-host", "a.test", "--allowed-host", "b.test:9001"];
        let Command::Standalone(args) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("expected standalone")
        };
        assert_eq!(args.config().unwrap().allowed_hosts, ["a.test", "b.test:9001"]);
        let argv = with_file(
            "[sidecar]\nallowed-host = [\"c.test\", \"d.test\"]\n",
            &["spawn-wasm", "sidecar", "--actors", "d"],
        );
        let Command::Sidecar(args) = Cli::try_parse_from(argv.unwrap()).unwrap().command else {
            panic!("expected sidecar")
        };
        assert_eq!(args.config().allowed_hosts, ["c.test", "d.test"]);
        let Command::Sidecar(args) = Cli::try_parse_from(["spawn-wasm", "sidecar", "--actors", "d"]).unwrap().command
        else {
            panic!("expected sidecar")
        };
        assert!(args.config().allowed_hosts.is_empty(), "none by default: loopback names only");
        let bad = Cli::try_parse_from(["spawn-wasm", "standalone", "--actors", "d", "--allowed-host", "http://a.test"]);
        assert!(bad.unwrap_err().to_string().contains("`http://a.test` is not a host name"));
    }

    #[test]
    fn standalone_defaults_are_local_and_safe() {
        let cli = Cli::try_parse_from(["spawn-wasm", "standalone", "--actors", "dir"]).unwrap();
        let Command::Standalone(args) = cli.command else { panic!("expected standalone") };
        let config = args.config().unwrap();
        assert_eq!(config.listen, "127.0.0.1:9001".parse().unwrap());
        assert_eq!(config.data_dir, PathBuf::from("spawn-data"));
        assert!(!config.fsync);
        assert_eq!(config.limits.policy.outbound_hosts, None, "unset: no address that is not public");
        assert!(config.limits.policy.dir_roots.is_empty(), "no directory is grantable by default");
    }

    // The configuration file, against the real command line.

    fn with_file(contents: &str, args: &[&str]) -> Result<Vec<String>, ConfigError> {
        let file = tempfile_path(contents);
        let mut argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        argv.extend([OsString::from("--config"), file.clone().into()]);
        let result = with_file_settings(argv, &Cli::command());
        std::fs::remove_file(file).unwrap();
        result.map(|args| args.into_iter().map(|arg| arg.to_string_lossy().into_owned()).collect())
    }

    fn tempfile_path(contents: &str) -> PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("spawn-wasm-config-test-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn file_settings_come_after_the_subcommand_and_before_the_flags() {
        let args = with_file(
            "log-format = \"json\"\n[standalone]\nactors = \"/a\"\nport = 9100\nno-watch = true\nfsync = false\n[sidecar]\nproxy-port = 1\n",
            &["spawn-wasm", "standalone", "--port", "9200"],
        )
        .unwrap();
        assert_eq!(&args[..2], ["spawn-wasm", "standalone"]);
        assert!(args.contains(&"--log-format=json".to_owned()));
        assert!(args.contains(&"--actors=/a".to_owned()));
        assert!(args.contains(&"--no-watch".to_owned()));
        assert!(!args.iter().any(|arg| arg.contains("proxy-port")), "another mode's table is not applied");
        let file_port = args.iter().position(|arg| arg == "--port=9100").unwrap();
        let flag_port = args.iter().position(|arg| arg == "--port").unwrap();
        assert!(file_port < flag_port, "the command line comes last, so it wins");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_place() {
        let error = with_file("[standalone]\nactor = \"/a\"\n", &["spawn-wasm", "standalone"]).unwrap_err().to_string();
        assert!(error.contains("unknown key `actor` in [standalone]"), "{error}");
        let error = with_file("[cluster]\nsize = 3\n", &["spawn-wasm", "standalone"]).unwrap_err().to_string();
        assert!(error.contains("unknown key `cluster` in the top level"), "{error}");
        let error = with_file("[sidecar]\nactors = { a = 1 }\n", &["spawn-wasm", "sidecar"]).unwrap_err().to_string();
        assert!(error.contains("must be a string"), "{error}");
    }
}
