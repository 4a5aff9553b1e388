//! `spawn-wasm new`: scaffold an actor project: a Rust crate, a Python or a TypeScript project.

use std::path::PathBuf;

use clap::Args;

use super::scaffold;

/// Options of `spawn-wasm new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The project's directory, created (as `cargo new` takes it): its last component names
    /// the project and its actor, `-` read as `_` where a name cannot hold one.
    pub path: PathBuf,
    /// The directory `PATH` is relative to.
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
    let dir = args.dir.join(&args.path);
    let Some(name) = dir.file_name().and_then(|name| name.to_str()).map(str::to_owned) else {
        anyhow::bail!(
            "`{}` names no directory to create: give a path ending in the project's name",
            args.path.display()
        );
    };
    match args.lang {
        Lang::Python => {
            let name = name.replace('-', "_");
            return new_project(spawn_wasm_build::create_python_project(&dir, &name)?, &name);
        }
        Lang::Js => {
            let name = name.replace('-', "_");
            return new_project(spawn_wasm_build::create_js_project(&dir, &name)?, &name);
        }
        Lang::Rust => {}
    }
    let Some(sdk) = args.sdk.or_else(scaffold::default_sdk_path) else {
        anyhow::bail!("cannot find spawn-wasm-sdk: give its directory with --sdk");
    };
    let dir = scaffold::create(&dir, &name, &sdk)?;
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
