//! `spawn-wasm inspect FILE.wasm`: what a component provides (actors, actions with their
//! message types, timers, channels, WIT version), found by loading it and calling its `describe`, without serving it.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::protocol::convert::{DEFAULT_DEACTIVATION_TIMEOUT_MS, DEFAULT_SNAPSHOT_TIMEOUT_MS};
use crate::protocol::wit::types as wit;
use crate::wasm::capabilities::{GrantPolicy, GrantsReport};
use crate::wasm::engine::ActorEngine;
use crate::wasm::limits::Limits;
use crate::wasm::module::ActorModule;

/// What a component provides.
#[derive(Debug, Serialize)]
pub struct ComponentReport {
    /// The file inspected.
    pub file: String,
    /// Short content hash.
    pub hash: String,
    /// The WIT package version it was built for.
    pub wit: String,
    /// Its actors.
    pub actors: Vec<ActorReport>,
    /// What its TOML grants it, under the policy it was inspected with.
    pub grants: GrantsReport,
}

/// One actor of a component.
#[derive(Debug, Serialize)]
pub struct ActorReport {
    /// Name.
    pub name: String,
    /// `named`, `unnamed`, `pooled` or `task`.
    pub kind: &'static str,
    /// Whether its state is kept.
    pub stateful: bool,
    /// Its state's protobuf type, if declared.
    pub state_type: Option<String>,
    /// Invocable actions, with the message types they declare.
    pub actions: Vec<ActionReport>,
    /// Timer actions with their period.
    pub timers: Vec<TimerReport>,
    /// Channel subscriptions.
    pub channels: Vec<ChannelReport>,
    /// Snapshot interval, defaults applied.
    pub snapshot_timeout_ms: u64,
    /// Deactivation timeout, defaults applied.
    pub deactivation_timeout_ms: u64,
}

/// An invocable action and the message types it declares (none for a component built for
/// the `actor` world, or an action that does not say).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ActionReport {
    /// The action.
    pub name: String,
    /// Its input message (full protobuf name), if declared.
    pub input: Option<String>,
    /// Its reply message, if declared.
    pub output: Option<String>,
}

impl fmt::Display for ActionReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(input) = &self.input {
            write!(f, "({input})")?;
        }
        if let Some(output) = &self.output {
            write!(f, " -> {output}")?;
        }
        Ok(())
    }
}

/// The actions of `definition` (one of `module`'s) with their declared types.
pub fn action_reports(module: &ActorModule, definition: &wit::ActorDefinition) -> Vec<ActionReport> {
    definition
        .actions
        .iter()
        .map(|action| {
            let signature = module.signature(&definition.name, action);
            ActionReport {
                name: action.clone(),
                input: signature.and_then(|signature| signature.input.clone()),
                output: signature.and_then(|signature| signature.output.clone()),
            }
        })
        .collect()
}

/// A timer action.
#[derive(Debug, Serialize)]
pub struct TimerReport {
    /// The action.
    pub action: String,
    /// Its period.
    pub period_ms: u32,
}

/// A channel subscription.
#[derive(Debug, Serialize)]
pub struct ChannelReport {
    /// The topic.
    pub topic: String,
    /// The action a broadcast invokes.
    pub action: String,
}

/// Loads the component at `path` (no cache, nothing served) and reports what it provides,
/// and what its TOML grants under `policy` (a grant beyond it fails, as at a host's load).
pub async fn inspect(path: &Path, policy: GrantPolicy) -> anyhow::Result<ComponentReport> {
    let limits = Limits { pooling: false, warm_instances: 0, policy, ..Limits::default() };
    let engine = Arc::new(ActorEngine::new(limits)?);
    let module = ActorModule::load(&engine, None, path).await?;
    Ok(ComponentReport {
        file: path.display().to_string(),
        hash: module.hash.clone(),
        wit: format!("{}@{}", crate::protocol::wit::WIT_PACKAGE, module.wit_version),
        actors: module.definitions.iter().map(|definition| actor_report(&module, definition)).collect(),
        grants: module.sandbox.grants.report(&engine.limits().policy),
    })
}

/// What one actor definition (one of `module`'s) provides, defaults applied (also the
/// console's actor list).
pub fn actor_report(module: &ActorModule, definition: &wit::ActorDefinition) -> ActorReport {
    let or_default = |ms: u64, default: u64| if ms == 0 { default } else { ms };
    ActorReport {
        name: definition.name.clone(),
        kind: match definition.kind {
            wit::Kind::Named => "named",
            wit::Kind::Unnamed => "unnamed",
            wit::Kind::Pooled => "pooled",
            wit::Kind::Task => "task",
        },
        stateful: definition.stateful,
        state_type: definition.state_type.clone(),
        actions: action_reports(module, definition),
        timers: definition
            .timer_actions
            .iter()
            .map(|timer| TimerReport { action: timer.action.clone(), period_ms: timer.period_ms })
            .collect(),
        channels: definition
            .channels
            .iter()
            .map(|channel| ChannelReport { topic: channel.topic.clone(), action: channel.action.clone() })
            .collect(),
        snapshot_timeout_ms: or_default(definition.snapshot_timeout_ms, DEFAULT_SNAPSHOT_TIMEOUT_MS),
        deactivation_timeout_ms: or_default(definition.deactivation_timeout_ms, DEFAULT_DEACTIVATION_TIMEOUT_MS),
    }
}

impl fmt::Display for ComponentReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}  {}  hash {}", self.file, self.wit, self.hash)?;
        for actor in &self.actors {
            let state = if actor.stateful { "stateful" } else { "stateless" };
            write!(f, "  {}  {}, {state}", actor.name, actor.kind)?;
            if let Some(state_type) = &actor.state_type {
                write!(f, ", state {state_type}")?;
            }
            writeln!(f, ", deactivation {} ms", actor.deactivation_timeout_ms)?;
            writeln!(
                f,
                "    actions: {}",
                if actor.actions.is_empty() {
                    "-".into()
                } else {
                    actor.actions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                }
            )?;
            for timer in &actor.timers {
                writeln!(f, "    timer: {} every {} ms", timer.action, timer.period_ms)?;
            }
            for channel in &actor.channels {
                let action = if channel.action.is_empty() { "receive" } else { &channel.action };
                writeln!(f, "    channel: {} -> {action}", channel.topic)?;
            }
        }
        write!(f, "{}", self.grants)
    }
}
