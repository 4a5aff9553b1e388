//! `spawn-wasm state`: print an actor's state as JSON, one of its kept revisions, or its
//! history.

use clap::Args;

use super::common::{ApiArgs, print_reply};
use super::remote::StateApi;

/// Options of `spawn-wasm state`.
#[derive(Debug, Args)]
pub struct StateArgs {
    /// The actor (for an unnamed actor, the instance's name).
    pub actor: String,
    /// List the kept revisions instead, newest first: revision, time, type and size.
    #[arg(long, conflicts_with = "revision")]
    pub history: bool,
    /// Print this kept revision instead of the current state.
    #[arg(long, value_name = "N")]
    pub revision: Option<i64>,
    /// Where the runtime is.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// Prints the state (`{"revision", "time_ms", "state"}`) or the history.
pub(super) async fn run(args: StateArgs) -> anyhow::Result<()> {
    let api = StateApi { url: args.api.base_url(), system: args.api.system, token: args.api.token.value() };
    if args.history {
        let history = api.history(&args.actor).await?;
        print!("{}", history_table(&history));
        return Ok(());
    }
    print_reply(api.state(&args.actor, args.revision).await?)
}

/// The history as a table for people, newest first.
fn history_table(history: &serde_json::Value) -> String {
    let revisions = history["revisions"].as_array().map(Vec::as_slice).unwrap_or_default();
    if revisions.is_empty() {
        return "(no stored revision)\n".into();
    }
    let mut table = format!("{:>8}  {:<24}  {:>8}  {}\n", "REVISION", "TIME", "BYTES", "TYPE");
    for revision in revisions {
        let time = revision["time_ms"].as_i64().map_or_else(String::new, utc);
        let type_url = revision["type_url"].as_str().unwrap_or_default();
        let type_name = type_url.rsplit('/').next().filter(|name| !name.is_empty()).unwrap_or("(no state)");
        table += &format!("{:>8}  {:<24}  {:>8}  {}\n", revision["revision"], time, revision["size"], type_name);
    }
    table
}

/// Unix milliseconds in RFC 3339, UTC.
fn utc(ms: i64) -> String {
    prost_types::Timestamp { seconds: ms.div_euclid(1000), nanos: (ms.rem_euclid(1000) * 1_000_000) as i32 }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(utc(1_795_000_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn the_history_is_a_table_newest_first() {
        let history = json!({"revisions": [
            {"revision": 3, "time_ms": 0, "type_url": "type.googleapis.com/domain.Counter", "size": 2},
            {"revision": 2, "time_ms": 0, "type_url": "", "size": 0},
        ]});
        let table = history_table(&history);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].trim_start().starts_with("3 ") && lines[1].ends_with("domain.Counter"), "{table}");
        assert!(lines[2].ends_with("(no state)"), "{table}");
        assert_eq!(history_table(&json!({"revisions": []})), "(no stored revision)\n");
    }
}
