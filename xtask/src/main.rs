//! `cargo xtask`: the project's tasks.
//!
//! - `cargo xtask build-examples`: build every example actor to `target/actors/<name>.wasm`.
//! - `cargo xtask run [ARGS...]`: build the examples, then run `spawn-wasm` (release) with
//!   them loaded; ARGS default to `standalone --actors target/actors --data target/spawn-data`.

use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let root = xtask::workspace_root();
    match task.as_str() {
        "build-examples" => {
            for component in xtask::build_examples(&root)? {
                let size = std::fs::metadata(&component)?.len();
                println!("{} ({} KiB)", component.display(), size.div_ceil(1024));
            }
            Ok(())
        }
        "run" => {
            xtask::build_examples(&root)?;
            let mut host_args: Vec<String> = args.collect();
            if host_args.is_empty() {
                let actors = xtask::actors_dir(&root);
                let data = root.join("target").join("spawn-data");
                host_args =
                    ["standalone", "--actors", &actors.display().to_string(), "--data", &data.display().to_string()]
                        .map(String::from)
                        .to_vec();
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .current_dir(&root)
                .args(["run", "--release", "--package", "spawn-wasm-host", "--bin", "spawn-wasm", "--"])
                .args(&host_args)
                .status()
                .context("running cargo")?;
            if !status.success() {
                bail!("spawn-wasm exited with {status}");
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: cargo xtask <build-examples | run [spawn-wasm ARGS...]>");
            bail!("unknown task `{task}`")
        }
    }
}
