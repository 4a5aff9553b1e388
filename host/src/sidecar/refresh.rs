//! When the registration is sent: at start, when the actors change (a reload), and when the
//! proxy was seen gone and came back. Never on a timer while the proxy is healthy: every
//! `POST /api/v1/system` makes the stock proxy start every stateful named actor that is not
//! running (a store read and an `init` turn: `lib/actors/actor/caller_consumer.ex:179, 910-965`),
//! so a periodic registration would undo every deactivation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::proxy::ProxyClient;
use super::registration::registration_request;
use super::server::AppState;
use crate::protocol::spawn::RegistrationRequest;
use crate::protocol::spawn::actors::{self, Actor};

/// Registers with the proxy, then again whenever the registration would differ (actors or
/// actions added, changed or removed by a reload), or after the proxy was seen gone: its
/// health route (`GET /health`) failed a poll every `health_every` (unless zero), or a call to
/// it failed to connect. While it is gone readiness is down, and it gets the registration back
/// as soon as it answers. The proxy has no way to unregister: an actor removed here stays
/// registered there, and its calls fail with 404.
pub(super) async fn keep_registered(
    state: Arc<AppState>,
    proxy: Arc<ProxyClient>,
    system: String,
    health_every: Duration,
) {
    let mut changes = state.modules.subscribe();
    let mut registered: Option<BTreeMap<String, Actor>> = None;
    let mut warned_tasks = BTreeSet::new();
    loop {
        let definitions: Vec<_> = state.modules.registry().definitions().cloned().collect();
        warn_task_actors(&definitions, &mut warned_tasks);
        let request = registration_request(&system, &definitions);
        let actors = registered_actors(&request);
        if registered.as_ref() != Some(&actors) {
            if let Some(before) = &registered {
                log_held_definitions(before, &actors);
            }
            proxy.register_until_accepted(&request).await;
            state.set_ready(true);
            registered = Some(actors);
        }
        let gone = tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                let loaded = state.modules.registry().modules().map(|module| module.id).collect();
                state.executor().forget_modules_except(&loaded);
                false
            }
            () = tokio::time::sleep(health_every), if !health_every.is_zero() => !proxy.healthy().await,
            () = proxy.unreachable() => !proxy.healthy().await,
        };
        if gone {
            tracing::warn!("the proxy is gone; registering again as soon as it answers");
            state.set_ready(false);
            registered = None;
        }
    }
}

/// The registered actors in a canonical order, to compare registrations.
fn registered_actors(request: &RegistrationRequest) -> BTreeMap<String, Actor> {
    let registry = request.actor_system.as_ref().and_then(|system| system.registry.as_ref());
    registry.map(|registry| registry.actors.clone().into_iter().collect()).unwrap_or_default()
}

/// Says once per reload which actors the proxy keeps serving with their old definition: an
/// active actor keeps the copy it was activated with until it deactivates
/// (`lib/actors/actor/entity/supervisor.ex:56-61`; deactivation at `entity/lifecycle.ex:81,
/// 244-271`), and a spawned instance the copy of its template made at spawn
/// (`caller_consumer.ex:468-494, 665-682`) until it is spawned again.
fn log_held_definitions(before: &BTreeMap<String, Actor>, after: &BTreeMap<String, Actor>) {
    let held = changed_actors(before, after);
    if !held.is_empty() {
        tracing::warn!(
            actors = %held.join(", "),
            "these actors changed; the proxy keeps their old actions and timers until each active actor \
             deactivates (its deactivation timeout), and for instances spawned from them until they are \
             spawned again: a new action fails there with \"Action not found\" until then"
        );
    }
}

/// The actors registered both times with a different definition.
pub(super) fn changed_actors(before: &BTreeMap<String, Actor>, after: &BTreeMap<String, Actor>) -> Vec<String> {
    after
        .iter()
        .filter(|(name, actor)| before.get(*name).is_some_and(|old| old != *actor))
        .map(|(name, _)| name.clone())
        .collect()
}

/// Warns once per actor that a `task` actor is registered as `named`: the released proxy runs
/// a task through a FLAME pool that exists only when `SPAWN_PROXY_TASK_CONFIG` names the actor
/// (`lib/spawn/cluster/provisioner_pool_supervisor.ex:12-44, 156-163`; `lib/actors/actor/entity/entity.ex:183-226`),
/// and crashes the actor's turn otherwise.
fn warn_task_actors(definitions: &[crate::protocol::wit::types::ActorDefinition], warned: &mut BTreeSet<String>) {
    for definition in definitions {
        if definition.kind == crate::protocol::wit::types::Kind::Task && warned.insert(definition.name.clone()) {
            tracing::warn!(
                actor = %definition.name,
                "a task actor is registered with the proxy as named (its turns run in this pod): the released \
                 proxy runs task actors only through FLAME pools configured by SPAWN_PROXY_TASK_CONFIG"
            );
        }
    }
}

/// The kind registered for `kind`: `task` goes as `named` (see [`warn_task_actors`]).
pub(super) fn registered_kind(kind: actors::Kind) -> actors::Kind {
    if kind == actors::Kind::Task { actors::Kind::Named } else { kind }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_actors_registered_both_times_and_changed_are_held() {
        let actor = |action: &str| Actor { actions: vec![actors::Action { name: action.into() }], ..Actor::default() };
        let before = BTreeMap::from([("a".to_owned(), actor("x")), ("b".to_owned(), actor("x"))]);
        let after =
            BTreeMap::from([("a".to_owned(), actor("y")), ("b".to_owned(), actor("x")), ("c".to_owned(), actor("z"))]);
        assert_eq!(changed_actors(&before, &after), ["a"]);
    }
}
