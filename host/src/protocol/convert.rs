//! Conversions between the Spawn protobuf messages and the WIT records guests see.
//!
//! Both modes use them: the sidecar turns the proxy's `ActorInvocation` into a WIT
//! `invocation` and the guest's `value` back into an `ActorInvocationResponse`; the
//! registration and the guest's `invoke` import build protobuf requests from WIT records.

use std::collections::HashMap;

use crate::protocol::invocation::Invocation;
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;

/// Default deactivation timeout when a definition leaves it at 0 (the Elixir SDK's default).
pub const DEFAULT_DEACTIVATION_TIMEOUT_MS: u64 = 10_000;
/// Default snapshot interval when a definition leaves it at 0 (the Elixir SDK's default).
pub const DEFAULT_SNAPSHOT_TIMEOUT_MS: u64 = 2_000;

/// A protobuf `Any` as the WIT record.
pub fn any_to_wit(any: prost_types::Any) -> wit::Any {
    wit::Any { type_url: any.type_url, value: any.value }
}

/// A WIT `any` as the protobuf `Any`.
pub fn any_from_wit(any: wit::Any) -> prost_types::Any {
    prost_types::Any { type_url: any.type_url, value: any.value }
}

/// A protobuf map as WIT pairs, sorted by key so that guests see a stable order.
pub fn map_to_wit(map: HashMap<String, String>) -> wit::StringMap {
    let mut pairs: Vec<_> = map.into_iter().collect();
    pairs.sort_unstable();
    pairs
}

/// WIT pairs as a protobuf map; a later duplicate key wins.
pub fn map_from_wit(pairs: wit::StringMap) -> HashMap<String, String> {
    pairs.into_iter().collect()
}

/// The part of an `ActorInvocation` that the response echoes back.
#[derive(Debug, Clone)]
pub struct ResponseContext {
    /// The invoked instance (also gives the system the workflow targets).
    pub self_id: actors::ActorId,
    /// The instance's tags before the turn; echoed unless the guest sets new ones.
    pub tags: HashMap<String, String>,
}

/// Which registered actor an invocation is for: the template (`parent`) of an unnamed
/// instance, else the actor's own name.
pub fn definition_name(invocation: &pb::ActorInvocation) -> Option<&str> {
    let id = invocation.actor.as_ref()?;
    Some(if id.parent.is_empty() { &id.name } else { &id.parent })
}

/// Splits the proxy's invocation into the turn's input for `definition` and what the
/// response needs to echo.
pub fn invocation_to_wit(definition: &str, invocation: pb::ActorInvocation) -> (Invocation, ResponseContext) {
    let self_id = invocation.actor.unwrap_or_default();
    let context = invocation.current_context.unwrap_or_default();
    let payload = match invocation.payload {
        Some(pb::actor_invocation::Payload::Value(any)) => pb::non_empty(Some(any)),
        Some(pb::actor_invocation::Payload::Noop(_)) | None => None,
    };
    let caller = invocation.caller.or(context.caller).filter(|id| !id.name.is_empty());
    let wit_invocation = Invocation {
        actor: definition.to_owned(),
        action: invocation.action_name,
        payload: payload.map(any_to_wit),
        state: pb::non_empty(context.state).map(any_to_wit),
        self_id: self_id.clone(),
        caller,
        metadata: map_to_wit(context.metadata),
        tags: map_to_wit(context.tags.clone()),
    };
    (wit_invocation, ResponseContext { self_id, tags: context.tags })
}

/// Builds the response the proxy expects from the guest's `value`: `updated_context`
/// always present, its state unset when the guest keeps it, tags echoed unless changed.
pub fn response_from_wit(context: ResponseContext, value: wit::Value) -> pb::ActorInvocationResponse {
    let system = context.self_id.system.clone();
    let workflow = workflow_from_wit(&context.self_id, value.broadcast, value.effects, value.routing);
    let tags = value.tags.map_or(context.tags, map_from_wit);
    pb::ActorInvocationResponse {
        actor_name: context.self_id.name.clone(),
        actor_system: system,
        updated_context: Some(pb::Context {
            state: value.state.map(any_from_wit),
            caller: None,
            self_: Some(context.self_id),
            metadata: HashMap::new(),
            tags,
        }),
        payload: Some(match value.reply {
            Some(any) => pb::actor_invocation_response::Payload::Value(any_from_wit(any)),
            None => pb::actor_invocation_response::Payload::Noop(pb::Noop {}),
        }),
        workflow,
        checkpoint: value.checkpoint,
    }
}

fn workflow_from_wit(
    self_id: &actors::ActorId,
    broadcast: Option<wit::Broadcast>,
    effects: Vec<wit::SideEffect>,
    routing: Option<wit::Routing>,
) -> Option<pb::Workflow> {
    if broadcast.is_none() && effects.is_empty() && routing.is_none() {
        return None;
    }
    Some(pb::Workflow {
        effects: effects
            .into_iter()
            .map(|effect| pb::SideEffect { request: Some(side_effect_request(self_id, effect)) })
            .collect(),
        broadcast: broadcast.map(|broadcast| pb::Broadcast {
            channel_group: broadcast.channel,
            payload: Some(match broadcast.payload {
                Some(any) => pb::broadcast::Payload::Value(any_from_wit(any)),
                None => pb::broadcast::Payload::Noop(pb::Noop {}),
            }),
        }),
        routing: routing.map(|routing| match routing {
            wit::Routing::Pipe(route) => pb::workflow::Routing::Pipe(pb::Pipe {
                actor: route.actor,
                action_name: route.action,
                register_ref: route.register_ref.unwrap_or_default(),
            }),
            wit::Routing::Forward(route) => pb::workflow::Routing::Forward(pb::Forward {
                actor: route.actor,
                action_name: route.action,
                register_ref: route.register_ref.unwrap_or_default(),
            }),
        }),
    })
}

/// The target and options of a call to another actor, whichever WIT record it came from.
#[derive(Debug, Clone, Default)]
pub struct CallSpec {
    /// Target actor name.
    pub actor: String,
    /// Target action.
    pub action: String,
    /// Input; `None` sends a no-op payload.
    pub payload: Option<wit::Any>,
    /// Request metadata.
    pub metadata: wit::StringMap,
    /// Fire and forget.
    pub asynchronous: bool,
    /// Absolute Unix ms to run at.
    pub scheduled_to: Option<i64>,
    /// Unnamed template to spawn the target from.
    pub register_ref: Option<String>,
}

/// An `InvocationRequest` from `caller` to another actor of the caller's system.
pub fn invocation_request(caller: &actors::ActorId, call: CallSpec) -> pb::InvocationRequest {
    let system = caller.system.clone();
    pb::InvocationRequest {
        system: Some(actors::ActorSystem { name: system.clone(), registry: None }),
        actor: Some(actors::Actor {
            id: Some(actors::ActorId { name: call.actor, system, parent: String::new() }),
            ..Default::default()
        }),
        action_name: call.action,
        payload: Some(match call.payload {
            Some(any) => pb::invocation_request::Payload::Value(any_from_wit(any)),
            None => pb::invocation_request::Payload::Noop(pb::Noop {}),
        }),
        r#async: call.asynchronous || call.scheduled_to.is_some(),
        caller: Some(caller.clone()),
        metadata: map_from_wit(call.metadata),
        scheduled_to: call.scheduled_to.unwrap_or_default(),
        pooled: false,
        register_ref: call.register_ref.unwrap_or_default(),
    }
}

/// The `InvocationRequest` of a side effect from `caller`: asynchronous, in the caller's system.
pub fn side_effect_request(caller: &actors::ActorId, effect: wit::SideEffect) -> pb::InvocationRequest {
    invocation_request(
        caller,
        CallSpec {
            actor: effect.actor,
            action: effect.action,
            payload: effect.payload,
            metadata: effect.metadata,
            asynchronous: true,
            scheduled_to: effect.scheduled_to,
            register_ref: effect.register_ref,
        },
    )
}

impl From<crate::protocol::wit::runtime::InvokeRequest> for CallSpec {
    fn from(request: crate::protocol::wit::runtime::InvokeRequest) -> Self {
        CallSpec {
            actor: request.actor,
            action: request.action,
            payload: request.payload,
            metadata: request.metadata,
            asynchronous: request.async_,
            scheduled_to: request.scheduled_to,
            register_ref: request.register_ref,
        }
    }
}

/// The registration entry for one actor definition, with everything the proxy silently
/// needs: `ActorState{}`, `Metadata{}`, settings with timeouts greater than zero, and no
/// `state_type`.
pub fn actor_from_definition(system: &str, definition: &wit::ActorDefinition) -> actors::Actor {
    let timeout = |ms: u64, default: u64| actors::TimeoutStrategy {
        timeout: i64::try_from(if ms == 0 { default } else { ms }).unwrap_or(i64::MAX),
    };
    let snapshot_strategy = definition.stateful.then(|| actors::ActorSnapshotStrategy {
        strategy: Some(actors::actor_snapshot_strategy::Strategy::Timeout(timeout(
            definition.snapshot_timeout_ms,
            DEFAULT_SNAPSHOT_TIMEOUT_MS,
        ))),
    });
    let deactivation_strategy = actors::ActorDeactivationStrategy {
        strategy: Some(actors::actor_deactivation_strategy::Strategy::Timeout(timeout(
            definition.deactivation_timeout_ms,
            DEFAULT_DEACTIVATION_TIMEOUT_MS,
        ))),
    };
    actors::Actor {
        id: Some(actors::ActorId { name: definition.name.clone(), system: system.to_owned(), parent: String::new() }),
        state: Some(actors::ActorState { tags: definition.initial_tags.iter().cloned().collect(), state: None }),
        settings: Some(actors::ActorSettings {
            kind: kind_to_proto(definition.kind) as i32,
            stateful: definition.stateful,
            snapshot_strategy,
            deactivation_strategy: Some(deactivation_strategy),
            min_pool_size: saturating_i32(definition.min_pool_size),
            max_pool_size: saturating_i32(definition.max_pool_size),
            projection_settings: None,
            // Always empty: a stateful actor with no stored state makes the proxy build an empty
            // struct of this type, which it only has for Elixir actors; any other name crashes
            // every activation. The guest decodes a missing state as its default instead.
            state_type: String::new(),
        }),
        actions: definition.actions.iter().map(|name| actors::Action { name: name.clone() }).collect(),
        timer_actions: definition
            .timer_actions
            .iter()
            .map(|timer| actors::FixedTimerAction {
                seconds: saturating_i32(timer.period_ms),
                action: Some(actors::Action { name: timer.action.clone() }),
            })
            .collect(),
        metadata: Some(actors::Metadata {
            channel_group: definition
                .channels
                .iter()
                .map(|channel| actors::Channel { topic: channel.topic.clone(), action: channel.action.clone() })
                .collect(),
            tags: HashMap::new(),
        }),
    }
}

/// The protobuf `Kind` of a WIT kind.
pub fn kind_to_proto(kind: wit::Kind) -> actors::Kind {
    match kind {
        wit::Kind::Named => actors::Kind::Named,
        wit::Kind::Unnamed => actors::Kind::Unnamed,
        wit::Kind::Pooled => actors::Kind::Pooled,
        wit::Kind::Task => actors::Kind::Task,
    }
}

fn saturating_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests;
