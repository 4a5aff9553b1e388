//! `spawn-wasm build`: one command for every language, the command-line side of the
//! `spawn-wasm-build` crate.

use std::path::PathBuf;

use clap::Args;

/// Options of `spawn-wasm build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// A Python file, a directory with `main.py` (or `--entry`), a JavaScript or TypeScript
    /// file, a directory with `package.json`, or a Rust crate.
    pub path: PathBuf,
    /// The component to write (default: `<name>.wasm` here).
    #[arg(short, long, value_name = "OUT.wasm")]
    pub out: Option<PathBuf>,
    /// The Python entry module (default `main`), or the JavaScript entry file relative to the
    /// project (default: `main` of package.json, else `src/main.ts`).
    #[arg(long, value_name = "MODULE")]
    pub entry: Option<String>,
    /// Another `.proto` file to compile into a Python or JavaScript component; repeatable.
    #[arg(long, value_name = "FILE")]
    pub proto: Vec<PathBuf>,
    /// Build even if nothing changed since the last build of OUT.
    #[arg(long)]
    pub force: bool,
}

/// Builds the component and says where it is; says first if the build runs the project's
/// own code on this machine.
pub(super) fn run(args: BuildArgs) -> anyhow::Result<()> {
    if let Some(code) = spawn_wasm_build::detect(&args.path, args.entry.as_deref())
        .ok()
        .as_ref()
        .and_then(spawn_wasm_build::Sources::code_run_at_build)
    {
        eprintln!("note: building runs this project's code on this machine ({code}): build only code you trust");
    }
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
