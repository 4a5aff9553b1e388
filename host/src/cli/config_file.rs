//! The optional configuration file (`--config FILE` or `SPAWN_WASM_CONFIG`): TOML whose keys
//! are the long flags, top-level for global ones and in a table per mode:
//!
//! ```toml
//! log-format = "json"
//!
//! [standalone]
//! actors = "/srv/actors"
//! data = "/srv/data"
//! memory-limit-mb = 32
//!
//! [sidecar]
//! actors = "/srv/actors"
//! proxy-port = 9001
//! ```
//!
//! Precedence, highest first: command-line flags, environment variables, the file, the
//! defaults. An unknown key is an error naming the file, the table and the key.
//!
//! The client verbs (`invoke`, `state`, `restore`, `backup`) also read the `[standalone]` table's
//! keys they share (`host`, `port`, `system`, `token`): they reach the server the file configures;
//! `verify` reads its `statestore-key` and `statestore-key-previous`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Command;

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SPAWN_WASM_CONFIG";

/// The verbs that share settings of the server's table: those that call a running server
/// (its address, system and token), and `verify` (its keys).
const CLIENT_VERBS: [&str; 5] = ["invoke", "state", "restore", "backup", "verify"];
const SERVER_TABLE: &str = "standalone";

/// Why the configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path} is not valid TOML: {error}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The cause.
        error: toml::de::Error,
    },
    /// A key is not an option of its table.
    #[error("{path}: unknown key `{key}` in {table}; the keys are the long flags of `spawn-wasm {command} --help`")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// Where: `[sidecar]`, `[standalone]` or the top level.
        table: String,
        /// The key.
        key: String,
        /// The subcommand whose flags apply.
        command: String,
    },
    /// A value has a type no flag takes.
    #[error("{path}: `{key}` must be a string, number, boolean or list of them")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
}

/// The configuration file named by `args` (`--config FILE`) or the environment.
pub fn config_path(args: &[OsString]) -> Option<PathBuf> {
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let text = arg.to_string_lossy();
        if text == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV).filter(|path| !path.is_empty()).map(PathBuf::from)
}

/// `command` (and its subcommands) with every option whose environment variable is set but
/// empty reading it as unset, the Spawn proxy's convention (`PROXY_ACTOR_SYSTEM_NAME=""`
/// means the default system, not a system named ""). clap alone would use the empty value.
pub fn without_empty_env(command: Command) -> Command {
    command
        .mut_args(|arg| {
            let empty = arg.get_env().and_then(std::env::var_os).is_some_and(|value| value.is_empty());
            if empty { arg.env(None) } else { arg }
        })
        .mut_subcommands(without_empty_env)
}

/// `args` with the file's settings for the chosen subcommand inserted right after it, where
/// neither the command line (later flags win) nor an environment variable gives them.
pub fn with_file_settings(args: Vec<OsString>, cli: &Command) -> Result<Vec<OsString>, ConfigError> {
    let Some(path) = config_path(&args) else { return Ok(args) };
    let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read { path: path.clone(), error })?;
    let table: toml::Table = text.parse().map_err(|error| ConfigError::Parse { path: path.clone(), error })?;
    let position = args.iter().position(|arg| cli.find_subcommand(arg.to_string_lossy().as_ref()).is_some());
    let chosen_name = position.map(|at| args[at].to_string_lossy().into_owned());
    let client =
        chosen_name.as_deref().filter(|name| CLIENT_VERBS.contains(name)).and_then(|name| cli.find_subcommand(name));
    // The server's settings a client verb shares, first: the verb's own table wins over them.
    let mut inserted = Vec::new();
    let mut shared = Vec::new();
    for (key, value) in &table {
        if let toml::Value::Table(section) = value {
            let Some(subcommand) = cli.find_subcommand(key) else {
                return Err(unknown(&path, "the top level", key, "--help"));
            };
            let chosen = chosen_name.as_deref() == Some(key.as_str());
            let table_name = format!("[{}]", subcommand.get_name());
            for (key_in_table, value) in section {
                let flags = flag_args(&path, subcommand, &table_name, key_in_table, value)?;
                if chosen {
                    inserted.extend(flags);
                } else if let Some(client) =
                    client.filter(|client| key == SERVER_TABLE && has_flag(client, key_in_table))
                {
                    shared.extend(flag_args(&path, client, &table_name, key_in_table, value)?);
                }
            }
        } else {
            inserted.extend(flag_args(&path, cli, "the top level", key, value)?);
        }
    }
    let Some(at) = position else { return Ok(args) };
    let mut args = args;
    shared.extend(inserted);
    args.splice(at + 1..at + 1, shared);
    Ok(args)
}

fn has_flag(command: &Command, long: &str) -> bool {
    command.get_arguments().any(|arg| arg.get_long() == Some(long))
}

fn unknown(path: &Path, table: &str, key: &str, command: &str) -> ConfigError {
    ConfigError::UnknownKey { path: path.to_owned(), table: table.into(), key: key.into(), command: command.into() }
}

/// The flags for `key = value`, or none if the option's environment variable is set.
fn flag_args(
    path: &Path,
    command: &Command,
    table: &str,
    key: &str,
    value: &toml::Value,
) -> Result<Vec<OsString>, ConfigError> {
    let arg = command
        .get_arguments()
        .find(|arg| arg.get_long() == Some(key) && key != "config")
        .ok_or_else(|| unknown(path, table, key, command.get_name()))?;
    if arg.get_env().and_then(std::env::var_os).is_some_and(|value| !value.is_empty()) {
        return Ok(Vec::new());
    }
    let scalar = |value: &toml::Value| match value {
        toml::Value::String(text) => Some(text.clone()),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        _ => None,
    };
    let bad = || ConfigError::BadValue { path: path.to_owned(), key: key.into() };
    Ok(match value {
        toml::Value::Boolean(true) => vec![format!("--{key}").into()],
        toml::Value::Boolean(false) => Vec::new(),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| scalar(item).map(|item| format!("--{key}={item}").into()).ok_or_else(bad))
            .collect::<Result<_, _>>()?,
        other => vec![format!("--{key}={}", scalar(other).ok_or_else(bad)?).into()],
    })
}
