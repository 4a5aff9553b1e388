//! The set of loaded components and the actor names they serve.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::bindings::types as wit;
use crate::engine::ActorEngine;
use crate::module::{ActorModule, LoadError};

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

/// A file that could not be loaded, and why.
#[derive(Debug)]
pub struct Rejection {
    /// The file.
    pub path: PathBuf,
    /// The reason.
    pub error: LoadError,
}

/// Actor name → module, for every loaded component.
#[derive(Debug, Default)]
pub struct ActorRegistry {
    modules: Vec<Arc<ActorModule>>,
    by_actor: HashMap<String, ActorEntry>,
}

impl ActorRegistry {
    /// Loads every `*.wasm` file of `dir` (hidden files skipped), in name order. A file
    /// that fails to load, or claims an actor name an earlier file already claimed, is
    /// logged and returned as a rejection; the others are served.
    pub async fn load_dir(engine: &ActorEngine, dir: &Path) -> std::io::Result<(Self, Vec<Rejection>)> {
        let mut registry = ActorRegistry::default();
        let mut rejections = Vec::new();
        for path in component_files(dir)? {
            let started = Instant::now();
            let loaded = ActorModule::load(engine, &path).await.and_then(|module| registry.add(module));
            match loaded {
                Ok(module) => tracing::info!(
                    file = %path.display(),
                    hash = %module.hash,
                    actors = ?module.actor_names().collect::<Vec<_>>(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "loaded component"
                ),
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "rejected component");
                    rejections.push(Rejection { path, error });
                }
            }
        }
        Ok((registry, rejections))
    }

    /// Adds a module unless one of its actor names is already served by another file.
    pub fn add(&mut self, module: ActorModule) -> Result<Arc<ActorModule>, LoadError> {
        for name in module.actor_names() {
            if let Some(existing) = self.by_actor.get(name) {
                return Err(LoadError::Invalid(format!(
                    "actor `{name}` is already provided by {}",
                    existing.module.path.display()
                )));
            }
        }
        let module = Arc::new(module);
        for (index, definition) in module.definitions.iter().enumerate() {
            let entry = ActorEntry { module: module.clone(), index };
            self.by_actor.insert(definition.name.clone(), entry);
        }
        self.modules.push(module.clone());
        Ok(module)
    }

    /// The actor called `name`, if any module provides it.
    pub fn get(&self, name: &str) -> Option<&ActorEntry> {
        self.by_actor.get(name)
    }

    /// Every actor definition, in load order.
    pub fn definitions(&self) -> impl Iterator<Item = &wit::ActorDefinition> {
        self.modules.iter().flat_map(|module| module.definitions.iter())
    }

    /// The loaded modules, in load order.
    pub fn modules(&self) -> &[Arc<ActorModule>] {
        &self.modules
    }
}

/// The component files of `dir`, sorted: `*.wasm`, not hidden.
fn component_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path.file_name().and_then(|name| name.to_str()).is_none_or(|name| name.starts_with('.'));
        if !hidden && path.extension().is_some_and(|ext| ext == "wasm") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
