//! `spawn-wasm config --print`: the effective configuration and where each value comes from.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::config_file;

/// Options whose values are secrets.
const SECRETS: [&str; 3] = ["token", "statestore-key", "statestore-key-previous"];

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

/// Prints the effective configuration of `args.mode` for the command line `cli`.
pub(super) fn run(args: ConfigArgs, file: Option<PathBuf>, cli: clap::Command) -> anyhow::Result<()> {
    if !args.print {
        anyhow::bail!("nothing to do: use `spawn-wasm config --print`");
    }
    print!("{}", effective_config(&args.mode, file, cli)?);
    Ok(())
}

/// The effective configuration of `mode` (file, environment, defaults), as TOML with each
/// value's source.
fn effective_config(mode: &str, file: Option<PathBuf>, cli: clap::Command) -> anyhow::Result<String> {
    let mut args: Vec<std::ffi::OsString> = vec!["spawn-wasm".into(), mode.into()];
    if let Some(file) = &file {
        args.extend(["--config".into(), file.into()]);
    }
    let parser = config_file::without_empty_env(cli.clone());
    let args = config_file::with_file_settings(args, &parser)?;
    let matches = parser.try_get_matches_from(args)?;
    let (_, mode_matches) = matches.subcommand().context("a mode")?;
    let mode_command = cli.find_subcommand(mode).context("a known mode")?;
    let mut text = format!("# effective configuration of `spawn-wasm {mode}`\n[{mode}]\n");
    for arg in mode_command.get_arguments() {
        let (Some(long), id) = (arg.get_long(), arg.get_id().as_str()) else { continue };
        if matches!(long, "config" | "help" | "log-format") {
            continue;
        }
        let Some(values) = mode_matches.get_raw(id) else { continue };
        let value = values.map(|value| value.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
        // A secret is shown as set, never printed.
        let value = if SECRETS.contains(&long) { "(set)".to_owned() } else { value };
        let source = match mode_matches.value_source(id) {
            Some(clap::parser::ValueSource::CommandLine) => "file",
            Some(clap::parser::ValueSource::EnvVariable) => "environment",
            _ => "default",
        };
        text.push_str(&format!("{long} = {value:?}  # {source}\n"));
    }
    Ok(text)
}
