//! A snapshot of the loaded components and the actor names they serve. Snapshots are
//! immutable: a reload builds a new one and swaps it in (see [`crate::modules`]), so a call
//! that looked up an actor keeps its module until it finishes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::protocol::wit::types as wit;
use crate::wasm::module::{ActorModule, LoadError};

/// Where an actor's code lives: its module and the index of its definition there.
#[derive(Debug, Clone)]
pub struct ActorEntry {
    /// The module providing the actor.
    pub module: Arc<ActorModule>,
    index: usize,
}

impl ActorEntry {
    /// The actor's definition.
    pub fn definition(&self) -> &wit::ActorDefinition {
        &self.module.definitions[self.index]
    }
}

/// Actor name → module, for every loaded component, ordered by file.
#[derive(Debug, Default, Clone)]
pub struct ActorRegistry {
    modules: BTreeMap<PathBuf, Arc<ActorModule>>,
    by_actor: HashMap<String, ActorEntry>,
}

impl ActorRegistry {
    /// A registry with `module` added, replacing the module previously loaded from the same
    /// file; refused if another file already provides one of its actor names.
    pub fn with_module(&self, module: ActorModule) -> Result<(ActorRegistry, Arc<ActorModule>), LoadError> {
        for name in module.actor_names() {
            if let Some(existing) = self.by_actor.get(name)
                && existing.module.path != module.path
            {
                return Err(LoadError::Invalid(format!(
                    "actor `{name}` is already provided by {}",
                    existing.module.path.display()
                )));
            }
        }
        let module = Arc::new(module);
        let mut next = self.without(&module.path);
        for (index, definition) in module.definitions.iter().enumerate() {
            next.by_actor.insert(definition.name.clone(), ActorEntry { module: module.clone(), index });
        }
        next.modules.insert(module.path.clone(), module.clone());
        Ok((next, module))
    }

    /// A registry without the module loaded from `path` (the same one if there is none).
    pub fn without(&self, path: &Path) -> ActorRegistry {
        let mut next = self.clone();
        if let Some(removed) = next.modules.remove(path) {
            for name in removed.actor_names() {
                next.by_actor.remove(name);
            }
        }
        next
    }

    /// The actor called `name`, if any module provides it.
    pub fn get(&self, name: &str) -> Option<&ActorEntry> {
        self.by_actor.get(name)
    }

    /// Every actor definition, by file.
    pub fn definitions(&self) -> impl Iterator<Item = &wit::ActorDefinition> {
        self.modules.values().flat_map(|module| module.definitions.iter())
    }

    /// The loaded modules, by file.
    pub fn modules(&self) -> impl Iterator<Item = &Arc<ActorModule>> {
        self.modules.values()
    }

    /// The module loaded from `path`.
    pub fn module(&self, path: &Path) -> Option<&Arc<ActorModule>> {
        self.modules.get(path)
    }
}
