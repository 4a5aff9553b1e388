//! `spawn-wasm state`: print an actor's state as JSON.

use clap::Args;

use super::common::{ApiArgs, print_reply};
use super::remote::RemoteCall;

/// Options of `spawn-wasm state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The actor.
    pub actor: String,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Asks for the state (the built-in `get` action) and prints it.
pub(super) async fn run(args: StateArgs) -> anyhow::Result<()> {
    let call = RemoteCall {
        url: args.api.base_url(),
        token: args.api.token.token,
        system: args.api.system,
        actor: args.actor,
        action: "get".into(),
        data: None,
        message_type: None,
        asynchronous: false,
        metadata: Default::default(),
        register_ref: None,
    };
    print_reply(call.send().await?)
}
