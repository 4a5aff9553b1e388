//! `spawn-wasm new`: scaffold an actor project, a Rust crate or a Python project.

use std::path::{Path, PathBuf};

use clap::Args;

use super::scaffold;

/// Options of `spawn-wasm new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The crate's (and actor's) name.
    pub name: String,
    /// Where to create it.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// The actor's language.
    #[arg(long, value_enum, default_value_t = Lang::Rust)]
    pub lang: Lang,
    /// The `spawn-wasm-sdk` crate to depend on (default: this checkout's `guest-sdk/rust`).
    #[arg(long, env = "SPAWN_WASM_SDK", value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// Languages `spawn-wasm new` scaffolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate using `spawn-wasm-sdk`.
    Rust,
    /// A Python project using the Spawn Python SDK's API.
    Python,
}

/// Creates the project and says how to build it.
pub(super) fn run(args: NewArgs) -> anyhow::Result<()> {
    if args.lang == Lang::Python {
        return new_python(&args.dir, &args.name);
    }
    let Some(sdk) = args.sdk.or_else(scaffold::default_sdk_path) else {
        anyhow::bail!("cannot find spawn-wasm-sdk: give its directory with --sdk");
    };
    let dir = scaffold::create(&args.dir, &args.name, &sdk)?;
    println!("created {}: cd there, then `cargo build --release --target wasm32-wasip2`", dir.display());
    Ok(())
}

/// `spawn-wasm new --lang python NAME`.
fn new_python(parent: &Path, name: &str) -> anyhow::Result<()> {
    let dir = spawn_wasm_build::create_python_project(parent, name)?;
    println!(
        "created {dir}: `spawn-wasm build {dir} -o actors/{name}.wasm`, then `spawn-wasm standalone --actors actors`",
        dir = dir.display()
    );
    Ok(())
}
