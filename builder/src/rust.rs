//! Rust components: `cargo build --release --target wasm32-wasip2` of a crate.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

/// The target actors are compiled for.
pub const GUEST_TARGET: &str = "wasm32-wasip2";

/// `program` (a cargo) for a nested build, with the outer build's flags removed.
pub fn nested_cargo(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        command.env_remove(var);
    }
    command
}

/// Builds the crate in `dir` for [`GUEST_TARGET`] (release) and copies its component to
/// `out`. Returns `out`.
pub fn build_rust(dir: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    let mut child = nested_cargo(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            GUEST_TARGET,
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(&manifest)
        .stdout(Stdio::piped())
        .spawn()
        .context("running cargo")?;
    let mut component = None;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped")).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line?) else { continue };
        let is_cdylib =
            message["target"]["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|kind| kind == "cdylib"));
        if let (true, Some(files)) =
            (message["reason"] == "compiler-artifact" && is_cdylib, message["filenames"].as_array())
        {
            component = files
                .iter()
                .filter_map(|file| file.as_str())
                .find(|file| file.ends_with(".wasm"))
                .map(PathBuf::from)
                .or(component);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo could not build {}", manifest.display());
    }
    let Some(component) = component else {
        bail!("{} builds no cdylib: add `[lib] crate-type = [\"cdylib\"]`", manifest.display());
    };
    let bytes = std::fs::read(&component).with_context(|| format!("reading {}", component.display()))?;
    crate::write_atomically(out, &bytes)?;
    Ok(out.to_owned())
}
