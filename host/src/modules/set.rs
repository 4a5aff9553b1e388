//! The live set of components of the actors directory: loaded at start, then kept in step
//! with the directory by [`crate::modules::watch`]. Each change compiles and validates the file off
//! the request path, then swaps a new [`ActorRegistry`] snapshot in atomically: calls
//! already running finish on the old version, new calls get the new one. A file that fails
//! to load is reported and its previous version (if any) keeps serving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::modules::registry::ActorRegistry;
pub use crate::modules::status::FileStatus;
use crate::protocol::json::JsonCodec;
use crate::wasm::cache::CodeCache;
use crate::wasm::engine::ActorEngine;
use crate::wasm::module::{ActorModule, LoadError, content_digest, short_hash};
use crate::wasm::sandbox::Sandbox;

/// What a refresh of one file did.
#[derive(Debug)]
pub enum Refresh {
    /// The file's new version serves (`previous`: the hash it replaced).
    Loaded {
        /// Short hash of the new version.
        hash: String,
        /// Short hash of the version it replaced, if any.
        previous: Option<String>,
    },
    /// The file's content is the version already serving.
    Unchanged,
    /// The file is gone, and so are its actors.
    Removed,
    /// The file was rejected; its previous version, if any, keeps serving.
    Rejected(LoadError),
    /// Not a component file (hidden, temporary, or not `*.wasm`).
    Ignored,
}

/// One file's change, read and compiled, not applied yet.
enum Change {
    /// Its content is the version serving.
    Unchanged,
    /// The file is gone.
    Remove,
    /// A new version, or why it could not be loaded.
    Load {
        /// Short hash of the version serving, if one is.
        previous: Option<String>,
        loaded: Box<Result<ActorModule, LoadError>>,
        elapsed: Duration,
    },
}

/// The live set of loaded components.
pub struct ModuleSet {
    engine: Arc<ActorEngine>,
    cache: Option<CodeCache>,
    dir: PathBuf,
    current: ArcSwap<ActorRegistry>,
    files: Mutex<BTreeMap<PathBuf, FileStatus>>,
    changes: watch::Sender<u64>,
    /// Serializes refreshes, so that two changes never race to swap.
    updating: tokio::sync::Mutex<()>,
}

impl ModuleSet {
    /// Loads every component file of `dir`, in name order: the first file to claim an
    /// actor name keeps it. Files that fail are logged and listed in [`ModuleSet::status`].
    pub async fn load(
        engine: Arc<ActorEngine>,
        cache: Option<CodeCache>,
        dir: &Path,
    ) -> std::io::Result<Arc<ModuleSet>> {
        // One spelling of the directory, whichever way it was given (relative, through a
        // symlink): the watcher reports absolute paths, and a file is known by one key.
        let dir = &std::fs::canonicalize(dir)?;
        let files = component_files(dir)?;
        let modules = Arc::new(ModuleSet {
            engine,
            cache,
            dir: dir.to_owned(),
            current: ArcSwap::default(),
            files: Mutex::default(),
            changes: watch::channel(0).0,
            updating: tokio::sync::Mutex::new(()),
        });
        let started = Instant::now();
        // Compile (or take from the cache) every file in parallel, then add them in name
        // order, so that the first file to claim an actor name keeps it.
        let mut loads = tokio::task::JoinSet::new();
        for (index, path) in files.iter().enumerate() {
            let (engine, cache, path) = (modules.engine.clone(), modules.cache.clone(), path.clone());
            loads.spawn(async move {
                let started = Instant::now();
                (index, ActorModule::load(&engine, cache.as_ref(), &path).await, started.elapsed())
            });
        }
        let mut loaded: Vec<_> = loads.join_all().await;
        loaded.sort_by_key(|(index, _, _)| *index);
        let changes = loaded
            .into_iter()
            .zip(files)
            .map(|((_, loaded, elapsed), path)| {
                (path, Change::Load { previous: None, loaded: Box::new(loaded), elapsed })
            })
            .collect();
        modules.commit(changes);
        let registry = modules.registry();
        tracing::info!(
            dir = %dir.display(),
            modules = registry.modules().count(),
            actors = registry.definitions().count(),
            rejected = modules.status().iter().filter(|file| file.last_error.is_some()).count(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "actors directory loaded"
        );
        Ok(modules)
    }

    /// The directory watched, canonical.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine components are compiled for.
    pub fn engine(&self) -> &Arc<ActorEngine> {
        &self.engine
    }

    /// The current snapshot.
    pub fn registry(&self) -> Arc<ActorRegistry> {
        self.current.load_full()
    }

    /// JSON conversions for calls to the actor definition `actor`: its module's messages,
    /// the protocol's only if no module serves it.
    pub fn json_of(&self, actor: &str) -> Arc<JsonCodec> {
        self.registry().get(actor).map_or_else(JsonCodec::protocol, |entry| entry.module.json.clone())
    }

    /// A receiver that changes whenever the set of loaded modules does.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Every file known, with its serving version and last error.
    pub fn status(&self) -> Vec<FileStatus> {
        self.files.lock().unwrap().values().cloned().collect()
    }

    /// Reads and compiles the change of the file at `path` (nothing is applied yet).
    async fn prepare(&self, path: &Path) -> Option<(PathBuf, Change)> {
        if !is_component_file(path) {
            return None;
        }
        // Known by its name in the canonical directory, however `path` spells it (the
        // directory is not watched recursively: every file is in it).
        let path = self.dir.join(path.file_name()?);
        let started = Instant::now();
        if !path.exists() {
            return Some((path, Change::Remove));
        }
        let current = self.registry().module(&path).cloned();
        let unchanged = |bytes: &[u8]| {
            current.as_ref().is_some_and(|module| {
                module.hash == short_hash(&content_digest(bytes))
                    && Sandbox::for_module(&path, self.engine.limits()).as_ref() == Ok(&module.sandbox)
            })
        };
        let loaded = match tokio::fs::read(&path).await {
            Ok(bytes) if unchanged(&bytes) => return Some((path, Change::Unchanged)),
            Ok(bytes) => ActorModule::from_bytes(&self.engine, self.cache.as_ref(), &path, bytes).await,
            Err(error) => Err(LoadError::Io(error)),
        };
        let previous = current.map(|module| module.hash.clone());
        Some((path, Change::Load { previous, loaded: Box::new(loaded), elapsed: started.elapsed() }))
    }

    /// Applies `changes` to the registry in one swap, removals first (so that actors moving
    /// to another file are not refused as claimed twice), then loads in order (the first
    /// file to claim an actor name keeps it): no call and no follower of the set ever sees
    /// the registry half-way through a change of the directory. Logs what happened with
    /// each file, hash, actors and time taken.
    fn commit(&self, mut changes: Vec<(PathBuf, Change)>) -> Vec<Refresh> {
        changes.sort_by_key(|(_, change)| !matches!(change, Change::Remove));
        // Each change makes a new snapshot from the one before; the serving one is not copied.
        let mut registry = self.registry();
        let mut refreshes = Vec::with_capacity(changes.len());
        for (path, change) in changes {
            let refresh = match change {
                Change::Unchanged => {
                    // The serving version is back (e.g. after a bad write): nothing is wrong now.
                    if let Some(status) = self.files.lock().unwrap().get_mut(&path) {
                        status.last_error = None;
                    }
                    Refresh::Unchanged
                }
                Change::Remove => self.remove(&mut registry, &path),
                Change::Load { previous, loaded, elapsed } => {
                    self.apply(&mut registry, &path, previous, *loaded, elapsed)
                }
            };
            refreshes.push(refresh);
        }
        if refreshes.iter().any(|refresh| matches!(refresh, Refresh::Loaded { .. } | Refresh::Removed)) {
            self.swap(registry);
        }
        refreshes
    }

    /// Takes the file at `path` out of `registry`, with its actors.
    fn remove(&self, registry: &mut Arc<ActorRegistry>, path: &Path) -> Refresh {
        self.files.lock().unwrap().remove(path);
        let Some(removed) = registry.module(path).cloned() else { return Refresh::Ignored };
        *registry = Arc::new(registry.without(path));
        self.engine.metrics().module_event("removed");
        let file = path.display().to_string();
        tracing::info!(file, hash = %removed.hash, actors = ?removed.actor_names().collect::<Vec<_>>(), "component removed");
        Refresh::Removed
    }

    /// Adds a loaded module to `registry` (or records why it was rejected), and logs it.
    fn apply(
        &self,
        registry: &mut Arc<ActorRegistry>,
        path: &Path,
        previous: Option<String>,
        loaded: Result<ActorModule, LoadError>,
        elapsed: Duration,
    ) -> Refresh {
        let file = path.display().to_string();
        let elapsed_ms = elapsed.as_millis() as u64;
        let swapped = loaded.and_then(|module| registry.with_module(module));
        match swapped {
            Ok((next, module)) => {
                *registry = Arc::new(next);
                warn_of_conflicts(registry, &module);
                let status = FileStatus::serving(path, &module, &self.engine.limits().policy, elapsed_ms);
                let actors = status.actors.clone();
                self.files.lock().unwrap().insert(path.to_owned(), status);
                self.engine.metrics().module_event(if previous.is_some() { "swapped" } else { "loaded" });
                match &previous {
                    None => {
                        tracing::info!(file, hash = %module.hash, ?actors, cached = module.cached, elapsed_ms, "component loaded")
                    }
                    Some(old) => {
                        tracing::info!(file, hash = %module.hash, replaced = %old, ?actors, cached = module.cached, elapsed_ms, "component swapped")
                    }
                }
                Refresh::Loaded { hash: module.hash.clone(), previous }
            }
            Err(error) => {
                let mut files = self.files.lock().unwrap();
                let status = files
                    .entry(path.to_owned())
                    .or_insert_with(|| FileStatus { file: path.to_owned(), ..FileStatus::default() });
                status.last_error = Some(error.to_string());
                self.engine.metrics().module_event("rejected");
                match &previous {
                    Some(old) => {
                        tracing::error!(file, %error, serving = %old, elapsed_ms, "component rejected; its previous version keeps serving")
                    }
                    None => tracing::error!(file, %error, elapsed_ms, "component rejected"),
                }
                Refresh::Rejected(error)
            }
        }
    }

    /// Refreshes each of `paths` in one swap (see [`ModuleSet::commit`]); if that freed
    /// actor names (a removal or a new version), retries the rejected files, which may
    /// have claimed them.
    pub async fn refresh_all(&self, mut paths: Vec<PathBuf>) {
        paths.sort();
        paths.dedup();
        let _updating = self.updating.lock().await;
        let refreshes = self.commit(self.prepare_all(paths).await);
        if refreshes
            .iter()
            .any(|refresh| matches!(refresh, Refresh::Removed | Refresh::Loaded { previous: Some(_), .. }))
        {
            self.retry_rejected().await;
        }
    }

    /// Every component file of the directory and every file known (one gone is removed by
    /// its refresh): what to refresh after a change that names no component file, as when
    /// a Kubernetes ConfigMap or Secret volume re-points its `..data` symlink.
    pub fn every_file(&self) -> Vec<PathBuf> {
        let mut paths = component_files(&self.dir).unwrap_or_else(|error| {
            tracing::warn!(dir = %self.dir.display(), %error, "cannot list the actors directory");
            Vec::new()
        });
        paths.extend(self.files.lock().unwrap().keys().cloned());
        paths
    }

    /// Tries again, in one swap, every file whose last version was rejected (e.g. for an
    /// actor name another file held, which a removal may have freed). Called with
    /// `updating` held.
    async fn retry_rejected(&self) {
        let rejected: Vec<PathBuf> = self
            .files
            .lock()
            .unwrap()
            .values()
            .filter(|status| status.last_error.is_some())
            .map(|status| status.file.clone())
            .collect();
        self.commit(self.prepare_all(rejected).await);
    }

    /// The changes of `paths`, read and compiled in order.
    async fn prepare_all(&self, paths: Vec<PathBuf>) -> Vec<(PathBuf, Change)> {
        let mut changes = Vec::with_capacity(paths.len());
        for path in paths {
            changes.extend(self.prepare(&path).await);
        }
        changes
    }

    fn swap(&self, registry: Arc<ActorRegistry>) {
        self.current.store(registry);
        self.changes.send_modify(|generation| *generation += 1);
    }
}

/// Whether `path` names a component file: `*.wasm`, not hidden.
pub fn is_component_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else { return false };
    !name.starts_with('.') && path.extension().is_some_and(|ext| ext == "wasm")
}

/// The component files of `dir`, sorted.
fn component_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if is_component_file(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Warns, once per pair, of each message that `module` and another loaded module define
/// differently: each module's JSON keeps its own definition, but a client sending one
/// module's JSON to the other's actors would be misread (swapped field numbers, say).
fn warn_of_conflicts(registry: &ActorRegistry, module: &ActorModule) {
    for other in registry.modules().filter(|other| other.path != module.path) {
        let conflicts = module.json.conflicts_with(&other.json);
        if !conflicts.is_empty() {
            tracing::warn!(
                file = %module.path.display(),
                other = %other.path.display(),
                messages = ?conflicts,
                "two modules define these messages differently; each module's JSON uses its own definition"
            );
        }
    }
}
