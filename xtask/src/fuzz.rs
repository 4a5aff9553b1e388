//! `cargo xtask fuzz`: builds the fuzz targets (`fuzz/`, cargo-fuzz on the nightly
//! toolchain) and runs each for a bounded time, then prints how many inputs each ran.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// Every fuzz target, with where its seeds are (besides its own corpus).
const TARGETS: &[(&str, &str)] = &[
    ("invocation", "fuzz/seeds/invocation"),
    ("standalone_request", "fuzz/seeds/standalone_request"),
    ("sdk_handle", ""),
    // The example components, mutated.
    ("component_load", "target/actors"),
];

/// Runs every target (or `only`) for `seconds` each. Fails if any target found a crash.
pub fn run(root: &Path, seconds: u64, only: Option<&str>) -> anyhow::Result<()> {
    let targets: Vec<_> = TARGETS.iter().filter(|(name, _)| only.is_none_or(|only| only == *name)).collect();
    if targets.is_empty() {
        let names: Vec<_> = TARGETS.iter().map(|(name, _)| *name).collect();
        bail!("no fuzz target `{}`; the targets are {}", only.unwrap_or_default(), names.join(", "));
    }
    xtask::build_examples(root)?;
    ensure_cargo_fuzz()?;
    nightly_cargo(root, &["fuzz", "build", "--sanitizer", "none", "--debug-assertions"])?;
    let mut summary = Vec::new();
    for (target, seeds) in targets {
        let corpus = root.join("fuzz/target/corpus").join(target);
        std::fs::create_dir_all(&corpus)?;
        let mut command = nightly_command(root);
        command.args(["fuzz", "run", target, "--sanitizer", "none", "--debug-assertions"]).arg(&corpus);
        if !seeds.is_empty() {
            command.arg(root.join(seeds));
        }
        command.args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-timeout=30",
            "-rss_limit_mb=4096",
            "-print_final_stats=1",
        ]);
        let (passed, executions) = run_target(command)?;
        summary.push((target, passed, executions));
    }
    println!("\nfuzzing, {seconds} s per target:");
    for (target, passed, executions) in &summary {
        let outcome = if *passed { "no crash" } else { "CRASHED (see fuzz/artifacts)" };
        println!("  {target:<20} {executions:>10} inputs  {outcome}");
    }
    if summary.iter().any(|(_, passed, _)| !passed) {
        bail!("a fuzz target crashed; the input is in fuzz/artifacts/<target>/");
    }
    Ok(())
}

/// Runs one target, echoing its output; returns whether it ended without a crash and how
/// many inputs it ran.
fn run_target(mut command: Command) -> anyhow::Result<(bool, u64)> {
    let mut child = command.stderr(Stdio::piped()).spawn().context("running cargo fuzz")?;
    let mut executions = 0;
    for line in BufReader::new(child.stderr.take().expect("piped stderr")).lines() {
        let line = line?;
        eprintln!("{line}");
        if let Some(count) = line.strip_prefix("stat::number_of_executed_units:") {
            executions = count.trim().parse().unwrap_or(0);
        }
    }
    Ok((child.wait()?.success(), executions))
}

/// Installs cargo-fuzz from crates.io unless it is there.
fn ensure_cargo_fuzz() -> anyhow::Result<()> {
    let installed =
        Command::new("cargo").args(["fuzz", "--version"]).stdout(Stdio::null()).stderr(Stdio::null()).status();
    if installed.is_ok_and(|status| status.success()) {
        return Ok(());
    }
    let status = Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]).status()?;
    if !status.success() {
        bail!("`cargo install cargo-fuzz` failed");
    }
    Ok(())
}

/// `cargo` on the nightly toolchain (cargo-fuzz needs it), via rustup's proxy rather than
/// the outer cargo, and without the outer toolchain's `cargo` and `rustc`.
fn nightly_command(root: &Path) -> Command {
    let mut command = xtask::nested_cargo("cargo");
    for var in ["CARGO", "RUSTC", "RUSTDOC"] {
        command.env_remove(var);
    }
    command.env("RUSTUP_TOOLCHAIN", "nightly").current_dir(root);
    command
}

fn nightly_cargo(root: &Path, args: &[&str]) -> anyhow::Result<()> {
    let status = nightly_command(root).args(args).status().context("running cargo (nightly)")?;
    if !status.success() {
        bail!(
            "`cargo +nightly {}` failed; is the nightly toolchain installed (`rustup toolchain install nightly`)?",
            args.join(" ")
        );
    }
    Ok(())
}
