//! The registry of spawned unnamed instances: instance name → the template it was spawned
//! from. Only durable instances are in it (a spawn is recorded in the store first).
//!
//! It owns its lock: every method takes it, does its work and releases it before returning,
//! calling nothing else meanwhile (see the lock rules in `docs/architecture.md`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Spawned instances by name, and the lock that makes spawns one at a time.
#[derive(Default)]
pub(super) struct SpawnedInstances {
    templates: Mutex<HashMap<String, Arc<str>>>,
    /// Held (across the store's write) while a new instance is recorded, so that two spawns
    /// of one name never race. An async lock: it is held across an await, and never while
    /// any other lock is.
    spawning: tokio::sync::Mutex<()>,
}

impl SpawnedInstances {
    /// The registry of the instances stored before this start.
    pub(super) fn new(instances: impl IntoIterator<Item = (String, String)>) -> Self {
        let templates = instances.into_iter().map(|(name, template)| (name, Arc::from(template))).collect();
        SpawnedInstances { templates: Mutex::new(templates), spawning: tokio::sync::Mutex::default() }
    }

    /// The template instance `name` was spawned from, if it is a spawned instance.
    pub(super) fn template_of(&self, name: &str) -> Option<Arc<str>> {
        self.templates.lock().unwrap().get(name).cloned()
    }

    /// Records instance `name` of `template` (once it is stored).
    pub(super) fn insert(&self, name: &str, template: &str) {
        self.templates.lock().unwrap().insert(name.to_owned(), Arc::from(template));
    }

    /// Waits for the right to record a new instance; the guard ends it.
    pub(super) async fn one_at_a_time(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.spawning.lock().await
    }
}
