//! `spawn-wasm invoke`: call an actor of a running runtime in JSON.

use anyhow::Context as _;
use clap::Args;

use super::common::{ApiArgs, print_reply};
use super::remote::RemoteCall;

/// Options of `spawn-wasm invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The actor.
    pub actor: String,
    /// The action.
    pub action: String,
    /// The input, a JSON object of the message's fields.
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
    /// The input's protobuf message (e.g. `domain.Increment`): only needed if `--data` has
    /// no `@type` and the action declares no input type.
    #[arg(long = "type", value_name = "MESSAGE")]
    pub message_type: Option<String>,
    /// Fire and forget: returns once the call is queued.
    #[arg(long = "async")]
    pub asynchronous: bool,
    /// Request metadata, `key=value`; repeatable.
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub metadata: Vec<(String, String)>,
    /// Spawn the actor from this unnamed template first, if needed.
    #[arg(long, value_name = "PARENT")]
    pub register_ref: Option<String>,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

fn parse_pair(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("expected KEY=VALUE, got `{text}`"))
}

/// Sends the call and prints the reply.
pub(super) async fn run(args: InvokeArgs) -> anyhow::Result<()> {
    let data = args.data.as_deref().map(serde_json::from_str).transpose().context("--data is not valid JSON")?;
    let call = RemoteCall {
        url: args.api.base_url(),
        token: args.api.token.value(),
        system: args.api.system,
        actor: args.actor,
        action: args.action,
        data,
        message_type: args.message_type,
        asynchronous: args.asynchronous,
        metadata: args.metadata.into_iter().collect(),
        register_ref: args.register_ref,
    };
    print_reply(call.send().await?)
}
