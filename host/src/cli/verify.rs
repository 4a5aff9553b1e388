//! `spawn-wasm verify`: checks a data directory (a backup, or a host's) without starting a
//! host and without changing it: SQLite's integrity check, the keys, every value opened.

use std::path::PathBuf;

use clap::Args;

use super::store_keys::StoreKeyArgs;
use crate::runtime::store::{self, VerifyReport};

/// Options of `spawn-wasm verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The data directory (holding `state.db`).
    pub dir: PathBuf,
    /// The keys its values are sealed with, if it is encrypted.
    #[command(flatten)]
    pub keys: StoreKeyArgs,
}

/// Checks; prints the counts; fails naming what is wrong.
pub(super) fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let report = store::verify(&args.dir, &args.keys.keys()?)?;
    print!("{}", summary(&report));
    if report.failed > 0 {
        anyhow::bail!("{}: {} value(s) failed the check", args.dir.display(), report.failed);
    }
    Ok(())
}

/// The report for people.
fn summary(report: &VerifyReport) -> String {
    let mut text = format!(
        "integrity: {}\nencrypted: {}\nstates: {} revisions\nscheduled calls: {}\nspawned instances: {}\n",
        if report.integrity_ok { "ok" } else { "FAILED" },
        if report.encrypted { "yes" } else { "no" },
        report.states,
        report.scheduled_calls,
        report.spawned,
    );
    if report.plain > 0 && report.encrypted {
        text += &format!("not yet encrypted: {} (a pass is under way)\n", report.plain);
    }
    if report.sealed_by_previous > 0 {
        text += &format!("still under the previous key: {}\n", report.sealed_by_previous);
    }
    for problem in &report.problems {
        text += &format!("problem: {problem}\n");
    }
    if report.failed > report.problems.len() {
        text += &format!("... and {} more\n", report.failed - report.problems.len());
    }
    text
}
