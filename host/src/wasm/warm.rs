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

/// Warm instances by key, each with the linear memory it holds; the most recently used
/// key last.
///
/// An actor may have several: overlapping turns of one actor (which the proxy sends for
/// pooled and stateless actors) each take one, instead of all but the first instantiating
/// afresh and being dropped after.
pub(super) struct WarmPool {
    instances: LruCache<WarmKey, Vec<(WarmInstance, usize)>>,
    count: usize,
    capacity: usize,
    per_actor: usize,
    memory: usize,
    memory_budget: usize,
}

impl WarmPool {
    /// A pool of at most `capacity` instances, `per_actor` of them for any one actor,
    /// holding at most `memory_budget` bytes.
    pub(super) fn new(capacity: NonZeroUsize, per_actor: NonZeroUsize, memory_budget: usize) -> Self {
        WarmPool {
            instances: LruCache::unbounded(),
            count: 0,
            capacity: capacity.get(),
            per_actor: per_actor.get(),
            memory: 0,
            memory_budget,
        }
    }

    /// How many instances are warm.
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// The memory the warm instances hold (linear memory and resources), in bytes.
    pub(super) fn memory(&self) -> usize {
        self.memory
    }

    /// Takes a warm instance of `key`, if there is one. The actor's entry stays, even when
    /// empty, for the instance to come back to without a new entry (and the entries are
    /// bounded like the instances, in [`WarmPool::keep`]).
    pub(super) fn take(&mut self, key: &WarmKey) -> Option<WarmInstance> {
        let (instance, memory) = self.instances.get_mut(key)?.pop()?;
        self.count -= 1;
        self.memory -= memory;
        Some(instance)
    }

    /// Keeps `instance` for `key`'s next turn, evicting the least recently used actors'
    /// instances while the pool is over its count or memory; an instance alone over the
    /// budget, or beyond the actor's own bound, is dropped.
    pub(super) fn keep(&mut self, key: WarmKey, mut instance: WarmInstance) {
        let memory = instance.store.data_mut().held_bytes();
        if memory > self.memory_budget {
            return;
        }
        match self.instances.get_mut(&key) {
            Some(parked) if parked.len() >= self.per_actor => return,
            Some(parked) => parked.push((instance, memory)),
            None => {
                self.instances.push(key, vec![(instance, memory)]);
            }
        }
        self.count += 1;
        self.memory += memory;
        while self.count > self.capacity || self.memory > self.memory_budget || self.instances.len() > self.capacity {
            let Some((_, evicted)) = self.instances.pop_lru() else { break };
            self.uncount(&evicted);
        }
    }

    /// Drops every warm instance of `key`.
    pub(super) fn forget(&mut self, key: &WarmKey) {
        if let Some(evicted) = self.instances.pop(key) {
            self.uncount(&evicted);
        }
    }

    /// Drops the instances of modules not in `loaded`.
    pub(super) fn retain_modules(&mut self, loaded: &HashSet<u64>) {
        let stale: Vec<WarmKey> =
            self.instances.iter().map(|(key, _)| key).filter(|key| !loaded.contains(&key.0)).cloned().collect();
        for key in stale {
            self.forget(&key);
        }
    }

    /// Takes one actor's evicted instances out of the pool's count and memory.
    fn uncount(&mut self, evicted: &[(WarmInstance, usize)]) {
        self.count -= evicted.len();
        self.memory -= evicted.iter().map(|(_, memory)| memory).sum::<usize>();
    }
}
