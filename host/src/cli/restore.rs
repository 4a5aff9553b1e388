//! `spawn-wasm restore`: make a kept revision of an actor's state its current state.

use clap::Args;

use super::common::ApiArgs;
use super::remote::StateApi;

/// Options of `spawn-wasm restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The actor (for an unnamed actor, the instance's name).
    pub actor: String,
    /// The revision to restore (see `spawn-wasm state ACTOR --history`).
    pub revision: i64,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Restores, then prints the state now current (a new revision: the restore can itself be
/// undone by restoring the revision before it).
pub(super) async fn run(args: RestoreArgs) -> anyhow::Result<()> {
    let api = StateApi { url: args.api.base_url(), system: args.api.system, token: args.api.token.value() };
    api.restore(&args.actor, args.revision).await?;
    let current = api.state(&args.actor, None).await?;
    println!("restored revision {} of {} as revision {}", args.revision, args.actor, current["revision"]);
    println!("{}", serde_json::to_string_pretty(&current["state"])?);
    Ok(())
}
