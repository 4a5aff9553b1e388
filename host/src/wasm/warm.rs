//! The warm pool: instances kept between their actor's turns, so that a turn costs a call
//! instead of an instantiation.
//!
//! It is bounded twice: in count (`--warm-instances`, least recently used evicted) and in
//! the linear memory its instances hold (`--warm-memory-mb`), since one warm Python
//! instance holds hundreds of times what a Rust one does and a count alone would let a
//! pool of them outgrow the machine.

use std::collections::HashSet;
use std::num::NonZeroUsize;

use lru::LruCache;
use wasmtime::Store;

use super::host::HostState;
use crate::protocol::wit as bindings;

/// An instance waiting for its actor's next turn.
pub(super) struct WarmInstance {
    pub(super) store: Store<HostState>,
    pub(super) actor: bindings::Actor,
}

/// Which warm instance a turn may use: the module version and the actor instance.
pub(super) type WarmKey = (u64, String);

/// Warm instances by key, with the linear memory each holds.
pub(super) struct WarmPool {
    instances: LruCache<WarmKey, (WarmInstance, usize)>,
    memory: usize,
    memory_budget: usize,
}

impl WarmPool {
    /// A pool of at most `capacity` instances holding at most `memory_budget` bytes.
    pub(super) fn new(capacity: NonZeroUsize, memory_budget: usize) -> Self {
        WarmPool { instances: LruCache::new(capacity), memory: 0, memory_budget }
    }

    /// How many instances are warm.
    pub(super) fn len(&self) -> usize {
        self.instances.len()
    }

    /// The linear memory the warm instances hold, in bytes.
    pub(super) fn memory(&self) -> usize {
        self.memory
    }

    /// Takes the warm instance of `key`, if there is one.
    pub(super) fn take(&mut self, key: &WarmKey) -> Option<WarmInstance> {
        let (instance, memory) = self.instances.pop(key)?;
        self.memory -= memory;
        Some(instance)
    }

    /// Keeps `instance` for `key`'s next turn, evicting the least recently used ones while
    /// the pool is over its count or memory; an instance alone over the budget is dropped.
    pub(super) fn keep(&mut self, key: WarmKey, instance: WarmInstance) {
        let memory = instance.store.data().memory_bytes();
        if memory > self.memory_budget {
            return;
        }
        if let Some((_, (_, evicted))) = self.instances.push(key, (instance, memory)) {
            self.memory -= evicted;
        }
        self.memory += memory;
        while self.memory > self.memory_budget {
            let Some((_, (_, evicted))) = self.instances.pop_lru() else { break };
            self.memory -= evicted;
        }
    }

    /// Drops the instances of modules not in `loaded`.
    pub(super) fn retain_modules(&mut self, loaded: &HashSet<u64>) {
        let stale: Vec<WarmKey> =
            self.instances.iter().map(|(key, _)| key).filter(|key| !loaded.contains(&key.0)).cloned().collect();
        for key in stale {
            self.take(&key);
        }
    }
}
