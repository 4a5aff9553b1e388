//! `spawn-wasm inspect`: what a component provides, without serving it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::modules::inspect::inspect;

/// Options of `spawn-wasm inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The component file.
    pub file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Loads the component and prints its report.
pub(super) async fn run(args: InspectArgs) -> anyhow::Result<()> {
    let report = inspect(&args.file).await.with_context(|| format!("inspecting {}", args.file.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}
