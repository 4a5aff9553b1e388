//! `spawn-wasm new`: scaffold an actor project: a Rust crate, a Python or a TypeScript project.

use std::path::PathBuf;

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
    /// A TypeScript project using the Spawn Node SDK's API.
    Js,
}

/// Creates the project and says how to build it.
pub(super) fn run(args: NewArgs) -> anyhow::Result<()> {
    match args.lang {
        Lang::Python => {
            return new_project(spawn_wasm_build::create_python_project(&args.dir, &args.name)?, &args.name);
        }
        Lang::Js => return new_project(spawn_wasm_build::create_js_project(&args.dir, &args.name)?, &args.name),
        Lang::Rust => {}
    }
    let Some(sdk) = args.sdk.or_else(scaffold::default_sdk_path) else {
        anyhow::bail!("cannot find spawn-wasm-sdk: give its directory with --sdk");
    };
    let dir = scaffold::create(&args.dir, &args.name, &sdk)?;
    println!("created {}: cd there, then `cargo build --release --target wasm32-wasip2`", dir.display());
    Ok(())
}

/// Says how to build and serve the Python or JavaScript project created in `dir`.
fn new_project(dir: PathBuf, name: &str) -> anyhow::Result<()> {
    println!(
        "created {dir}: `spawn-wasm build {dir} -o actors/{name}.wasm`, then `spawn-wasm standalone --actors actors`",
        dir = dir.display()
    );
    Ok(())
}
