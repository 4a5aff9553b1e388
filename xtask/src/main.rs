//! `cargo xtask`: the project's tasks.
//!
//! - `cargo xtask build-examples`: build every example actor to `target/actors/<name>.wasm`.
//! - `cargo xtask run [ARGS...]`: build the examples, then run `spawn-wasm` (release) with
//!   them loaded; ARGS default to `standalone --actors target/actors --data target/spawn-data`.
//! - `cargo xtask bench`: build the examples and release binaries, then run every benchmark:
//!   the executor against native Rust (criterion), HTTP sidecar against a native server,
//!   standalone throughput, memory per idle actor, reload latency, start-up time, Python
//!   actors, outbound HTTP from a guest against the same call made natively.
//! - `cargo xtask fuzz [SECONDS] [TARGET]`: run the fuzz targets (`fuzz/`, nightly), each
//!   for SECONDS (default 60), and report the inputs each ran.
//! - `cargo xtask install-browser`: install Chromium and chromedriver (Debian packages) for
//!   the console's browser tests.
//! - `cargo xtask test [ARGS...]`: every test: installs the browser if missing, then runs
//!   `cargo test --workspace ARGS` (what `.ci/run` runs).

use std::process::Command;

use anyhow::{Context, bail};

mod browser;
mod fuzz;

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
            let mut command = vec!["run", "--release", "--package", "spawn-wasm-host", "--bin", "spawn-wasm", "--"];
            command.extend(host_args.iter().map(String::as_str));
            cargo(&root, &command)
        }
        "bench" => {
            xtask::build_examples(&root)?;
            cargo(&root, &["build", "--release", "--package", "spawn-wasm-host", "--package", "spawn-wasm-bench"])?;
            cargo(
                &root,
                &[
                    "bench",
                    "--package",
                    "spawn-wasm-bench",
                    "--bench",
                    "executor",
                    "--",
                    "--warm-up-time",
                    "1",
                    "--measurement-time",
                    "3",
                ],
            )?;
            let bench = root.join("target/release/spawn-wasm-bench");
            for scenario in [
                &["http"][..],
                &["standalone"],
                &["standalone", "--connections", "1"],
                &["memory"],
                &["timers"],
                &["reload"],
                &["startup"],
                &["tracing"],
                &["backup"],
            ] {
                let status =
                    Command::new(&bench).current_dir(&root).args(scenario).env("RUST_LOG", "error").status()?;
                if !status.success() {
                    bail!("benchmark {scenario:?} failed");
                }
            }
            let python = root.join("target/release/spawn-wasm-bench-python");
            if !Command::new(python).current_dir(&root).env("RUST_LOG", "error").status()?.success() {
                bail!("the Python benchmark failed");
            }
            let outbound = root.join("target/release/spawn-wasm-bench-outbound");
            if !Command::new(outbound).current_dir(&root).env("RUST_LOG", "error").status()?.success() {
                bail!("the outbound HTTP benchmark failed");
            }
            Ok(())
        }
        "fuzz" => {
            let seconds = match args.next() {
                Some(seconds) => seconds.parse().with_context(|| format!("`{seconds}` is not a number of seconds"))?,
                None => 60,
            };
            fuzz::run(&root, seconds, args.next().as_deref())
        }
        "install-browser" => browser::install(),
        "test" => {
            browser::install()?;
            let mut command = vec!["test", "--workspace"];
            let extra: Vec<String> = args.collect();
            command.extend(extra.iter().map(String::as_str));
            cargo(&root, &command)
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build-examples | run [spawn-wasm ARGS...] | bench | fuzz [SECONDS] [TARGET] | install-browser | test [ARGS...]>"
            );
            bail!("unknown task `{task}`")
        }
    }
}

/// Runs `cargo ARGS` in the workspace, failing if it does.
fn cargo(root: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo).current_dir(root).args(args).status().context("running cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}
