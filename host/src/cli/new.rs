//! `spawn-wasm new`: scaffold an actor crate.

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
    /// The `spawn-wasm-sdk` crate to depend on (default: this checkout's `guest-sdk/rust`).
    #[arg(long, env = "SPAWN_WASM_SDK", value_name = "PATH")]
    pub sdk: Option<PathBuf>,
}

/// Creates the crate and says how to build it.
pub(super) fn run(args: NewArgs) -> anyhow::Result<()> {
    let Some(sdk) = args.sdk.or_else(scaffold::default_sdk_path) else {
        anyhow::bail!("cannot find spawn-wasm-sdk: give its directory with --sdk");
    };
    let dir = scaffold::create(&args.dir, &args.name, &sdk)?;
    println!("created {}: cd there, then `cargo build --release --target wasm32-wasip2`", dir.display());
    Ok(())
}
