//! `spawn-wasm inspect`: what a component provides, without serving it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::common::PolicyArgs;
use crate::modules::inspect::inspect;
use crate::wasm::capabilities::GrantPolicy;

/// Options of `spawn-wasm inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// The policy to judge the module's grants by (as the host would be started with).
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// Loads the component and prints its report.
pub(super) async fn run(args: InspectArgs) -> anyhow::Result<()> {
    let report = inspect(&args.file, GrantPolicy::from(&args.policy))
        .await
        .with_context(|| format!("inspecting {}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
