//! `spawn-wasm build` and `spawn-wasm new --lang python`: the command-line side of the
//! `spawn-wasm-build` crate.

use std::path::{Path, PathBuf};

use clap::Args;

/// Languages `spawn-wasm new` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate using `spawn-wasm-sdk`.
    Rust,
    /// A Python project using the Spawn Python SDK's API.
    Python,
}

/// Options of `spawn-wasm build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A Python file, a directory with `main.py` (or `--entry`), or a Rust crate.
    pub path: PathBuf,
    /// The component to write (default: `<name>.wasm` here).
    #[arg(short, long, value_name = "OUT.wasm")]
    pub out: Option<PathBuf>,
    /// The Python entry module (default `main`).
    #[arg(long, value_name = "MODULE")]
    pub entry: Option<String>,
    /// Another `.proto` file to compile into the Python component; repeatable.
    #[arg(long, value_name = "FILE")]
    pub proto: Vec<PathBuf>,
    /// Build even if nothing changed since the last build of OUT.
    #[arg(long)]
    pub force: bool,
}

/// Runs `spawn-wasm build`.
pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let request = spawn_wasm_build::BuildRequest {
        path: args.path,
        out: args.out,
        entry: args.entry,
        protos: args.proto,
        force: args.force,
    };
    let built = spawn_wasm_build::build(&request)?;
    let size = std::fs::metadata(&built.path).map_or(0, |meta| meta.len());
    let note = if built.rebuilt { "" } else { ", unchanged" };
    println!("built {} ({} KiB{note})", built.path.display(), size.div_ceil(1024));
    Ok(())
}

/// Runs `spawn-wasm new --lang python NAME`.
pub fn new_python(parent: &Path, name: &str) -> anyhow::Result<()> {
    let dir = spawn_wasm_build::create_python_project(parent, name)?;
    println!(
        "created {dir}: `spawn-wasm build {dir} -o actors/{name}.wasm`, then `spawn-wasm standalone --actors actors`",
        dir = dir.display()
    );
    Ok(())
}
