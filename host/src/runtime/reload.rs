//! Following the module set: after every swap, timers, subscriptions and eager activations
//! match the new definitions.

use std::collections::HashSet;
use std::sync::Arc;

use super::core::Inner;
use crate::modules::registry::ActorEntry;
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

    /// After every swap of the module set: the timers and subscriptions of every instance
    /// followed are rebuilt from the new registry (stopped while its definition is gone,
    /// back when it returns), and new stateful named actors are activated.
    pub(super) fn modules_changed(self: &Arc<Self>) {
        let followed = self.channels.followed();
        tracing::debug!(actors = followed.len(), "following the reloaded modules");
        let resolved: Vec<(Arc<str>, Option<ActorEntry>)> = followed
            .into_iter()
            .map(|name| (name.clone(), self.resolve(&name).ok().map(|target| target.entry)))
            .collect();
        for (name, entry) in &resolved {
            self.clock
                .set_timers(name, entry.as_ref().map_or(&[], |entry| entry.definition().timer_actions.as_slice()));
        }
        let definitions: Vec<_> =
            resolved.iter().map(|(name, entry)| (name.clone(), entry.as_ref().map(ActorEntry::definition))).collect();
        self.channels.rebuild(&definitions);
        self.count_clock();
        let loaded: HashSet<u64> = self.modules.registry().modules().map(|module| module.id).collect();
        self.executor.forget_modules_except(&loaded);
        self.activate_eager_actors();
    }
}
