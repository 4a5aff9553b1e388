//! Pub/sub channels: which actors receive the broadcasts of each topic.

use std::collections::HashSet;

use super::core::{Inner, Subscriptions, Target};

impl Inner {
    pub(super) fn subscribe(&self, target: &Target) {
        if !target.entry.definition().channels.is_empty() {
            add_subscriptions(&mut self.subscriptions.lock().unwrap(), target);
        }
    }

    /// The subscribers of `topic`.
    pub(super) fn subscribers(&self, topic: &str) -> Vec<(String, String)> {
        self.subscriptions.lock().unwrap().get(topic).cloned().unwrap_or_default()
    }
}

/// Adds `target`'s channel subscriptions to `subscriptions` (topic → (actor, action)).
pub(super) fn add_subscriptions(subscriptions: &mut Subscriptions, target: &Target) {
    for channel in &target.entry.definition().channels {
        let action = if channel.action.is_empty() { "receive".to_owned() } else { channel.action.clone() };
        let subscribers = subscriptions.entry(channel.topic.clone()).or_default();
        let subscriber = (target.id.name.clone(), action);
        if !subscribers.contains(&subscriber) {
            subscribers.push(subscriber);
        }
    }
}

/// Removes every subscription of the actors `names` from `subscriptions`.
pub(super) fn remove_subscriptions(subscriptions: &mut Subscriptions, names: &HashSet<String>) {
    subscriptions.retain(|_, subscribers| {
        subscribers.retain(|(actor, _)| !names.contains(actor));
        !subscribers.is_empty()
    });
}
