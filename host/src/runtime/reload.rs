//! Following the module set: after a reload, timers, subscriptions and eager activations
//! match the new definitions.

use std::collections::HashSet;
use std::sync::Arc;

use super::channels::{add_subscriptions, remove_subscriptions};
use super::core::Inner;
use crate::protocol::wit::types as wit;

/// Kinds the proxy activates at start-up when stateful.
fn activated_at_start(kind: wit::Kind) -> bool {
    matches!(kind, wit::Kind::Named | wit::Kind::Task)
}

impl Inner {
    /// Activates every stateful named actor not active yet, as the proxy does at start-up.
    pub(super) fn activate_eager_actors(self: &Arc<Self>) {
        let registry = self.modules.registry();
        let eager =
            registry.definitions().filter(|definition| definition.stateful && activated_at_start(definition.kind));
        for definition in eager {
            if let Err(error) = self.activate(&definition.name) {
                tracing::warn!(actor = %definition.name, %error, "could not activate at start-up");
            }
        }
    }

    /// After a reload: timers and subscriptions follow the new definitions, actors that
    /// are gone stop receiving them, new stateful named actors are activated.
    pub(super) fn modules_changed(self: &Arc<Self>) {
        // Every actor that ever had timers or subscriptions, and every active one.
        let mut names: HashSet<String> = self.active.names().into_iter().collect();
        names.extend(self.timers.lock().unwrap().keys().cloned());
        names.extend(self.subscriptions.lock().unwrap().values().flatten().map(|(actor, _)| actor.clone()));
        tracing::debug!(actors = names.len(), "following the reloaded modules");
        let mut targets = Vec::with_capacity(names.len());
        for name in &names {
            match self.resolve(name) {
                Ok(target) => {
                    self.start_timers(&target);
                    targets.push(target);
                }
                Err(_) => {
                    if let Some(timers) = self.timers.lock().unwrap().remove(name) {
                        timers.stop.cancel();
                    }
                }
            }
        }
        // Updated in one step, so that no broadcast finds the channels empty meanwhile, and
        // only for the actors above: one first activated since then subscribed under the
        // new definitions, and keeps its subscriptions.
        let mut subscriptions = self.subscriptions.lock().unwrap();
        remove_subscriptions(&mut subscriptions, &names);
        for target in &targets {
            add_subscriptions(&mut subscriptions, target);
        }
        drop(subscriptions);
        let loaded: HashSet<u64> = self.modules.registry().modules().map(|module| module.id).collect();
        self.executor.forget_modules_except(&loaded);
        self.activate_eager_actors();
    }
}
