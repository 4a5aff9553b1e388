//! `spawn-wasm backup`: a consistent copy of a running standalone host's state database,
//! written by the host while it serves (its `POST /v1/backup`, with its token).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use serde_json::json;

use super::common::ApiArgs;
use super::remote::post_admin;

/// Options of `spawn-wasm backup`.
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The directory to write the copy into (must not exist, or be empty; outside the data
    /// directory). A path on the host's machine; a relative one starts from this directory.
    pub dest: PathBuf,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Asks the host for the copy; prints where it went.
pub(super) async fn run(args: BackupArgs) -> anyhow::Result<()> {
    let dest = std::path::absolute(&args.dest).with_context(|| format!("resolving {}", args.dest.display()))?;
    let answer =
        post_admin(&args.api.base_url(), args.api.token.value().as_deref(), "v1/backup", &json!({ "dest": dest }))
            .await?;
    println!(
        "backed up to {} ({} bytes, {} ms): start a host on it with `spawn-wasm standalone --data {}` (and the same key)",
        answer["file"].as_str().unwrap_or_default(),
        answer["bytes"],
        answer["ms"],
        dest.display()
    );
    Ok(())
}
