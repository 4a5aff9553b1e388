//! Pub/sub channels, and the instances the runtime follows: every instance activated since
//! the start keeps its channel subscriptions (and, through the [`super::clock`], its timers)
//! while it is inactive, as the proxy's do, and they are rebuilt from the registry after
//! every module swap, so that a module that is briefly gone (deleted, then written again)
//! takes none of them away for good.
//!
//! It owns its lock: every method takes it, does its work and releases it before returning,
//! calling nothing else meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::protocol::wit::types as wit;

/// Channel subscriptions of the instances followed.
#[derive(Default)]
pub(super) struct Channels {
    state: Mutex<Followed>,
}

#[derive(Default)]
struct Followed {
    /// Every instance activated since the start.
    instances: HashSet<Arc<str>>,
    /// Channel topic → subscribed (instance, action).
    subscriptions: HashMap<String, Vec<(Arc<str>, String)>>,
}

impl Followed {
    fn subscribe(&mut self, name: &Arc<str>, definition: &wit::ActorDefinition) {
        for channel in &definition.channels {
            let action = if channel.action.is_empty() { "receive".to_owned() } else { channel.action.clone() };
            let subscribers = self.subscriptions.entry(channel.topic.clone()).or_default();
            if !subscribers.iter().any(|(instance, known)| instance == name && *known == action) {
                subscribers.push((name.clone(), action));
            }
        }
    }
}

impl Channels {
    /// Follows instance `name`, served by `definition`, from its activation on: subscribes
    /// it to its definition's channels.
    pub(super) fn follow(&self, name: &str, definition: &wit::ActorDefinition) {
        let mut state = self.state.lock().unwrap();
        let name = match state.instances.get(name) {
            Some(known) => known.clone(),
            None => {
                let name: Arc<str> = Arc::from(name);
                state.instances.insert(name.clone());
                name
            }
        };
        state.subscribe(&name, definition);
    }

    /// Every instance followed.
    pub(super) fn followed(&self) -> Vec<Arc<str>> {
        self.state.lock().unwrap().instances.iter().cloned().collect()
    }

    /// The subscribers of `topic`: (instance, action).
    pub(super) fn subscribers(&self, topic: &str) -> Vec<(String, String)> {
        let state = self.state.lock().unwrap();
        let subscribers = state.subscriptions.get(topic).map(Vec::as_slice).unwrap_or_default();
        subscribers.iter().map(|(instance, action)| (instance.to_string(), action.clone())).collect()
    }

    /// After a module swap: every followed instance's subscriptions become those of its
    /// definition in `resolved` (none while it has none), in one step, so that no broadcast
    /// finds a channel empty meanwhile. Instances followed since `resolved` was made keep
    /// theirs.
    pub(super) fn rebuild(&self, resolved: &[(Arc<str>, Option<&wit::ActorDefinition>)]) {
        let mut state = self.state.lock().unwrap();
        let rebuilt: HashSet<&str> = resolved.iter().map(|(name, _)| &**name).collect();
        state.subscriptions.retain(|_, subscribers| {
            subscribers.retain(|(instance, _)| !rebuilt.contains(&**instance));
            !subscribers.is_empty()
        });
        for (name, definition) in resolved {
            if let Some(definition) = definition {
                state.subscribe(name, definition);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listening(topic: &str, action: &str) -> wit::ActorDefinition {
        let channel = wit::Channel { topic: topic.into(), action: action.into() };
        wit::ActorDefinition { channels: vec![channel], ..crate::protocol::wit::test_definition("a") }
    }

    #[test]
    fn an_instance_without_a_definition_for_a_while_gets_its_subscriptions_back() {
        let channels = Channels::default();
        channels.follow("a", &listening("news", ""));
        assert_eq!(channels.subscribers("news"), [("a".to_owned(), "receive".to_owned())]);
        let a: Arc<str> = Arc::from("a");
        channels.rebuild(&[(a.clone(), None)]);
        assert!(channels.subscribers("news").is_empty(), "its module is gone");
        let back = listening("news", "hear");
        channels.rebuild(&[(a, Some(&back))]);
        assert_eq!(channels.subscribers("news"), [("a".to_owned(), "hear".to_owned())], "followed still");
    }
}
