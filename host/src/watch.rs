//! Watches the actors directory and refreshes the [`ModuleSet`] when a component file is
//! added, replaced (in place or by the usual rename-into-place) or deleted. Events are
//! debounced: a file is refreshed once it has been quiet for [`DEBOUNCE`].

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::modules::{ModuleSet, is_component_file};

/// How long a file must be quiet before it is reloaded.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

/// Keeps the directory watched; dropping it stops watching.
pub struct DirectoryWatch {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DirectoryWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts watching `modules`' directory.
pub fn watch(modules: Arc<ModuleSet>) -> notify::Result<DirectoryWatch> {
    let (events, mut receiver) = mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        Ok(event) if !event.kind.is_access() => {
            for path in event.paths {
                if is_component_file(&path) {
                    let _ = events.send(path);
                }
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "watching the actors directory"),
    })?;
    watcher.watch(modules.dir(), RecursiveMode::NonRecursive)?;
    tracing::info!(dir = %modules.dir().display(), "watching for component changes");
    let task = tokio::spawn(async move {
        while let Some(first) = receiver.recv().await {
            let mut changed = BTreeSet::from([first]);
            while let Ok(Some(path)) = tokio::time::timeout(DEBOUNCE, receiver.recv()).await {
                changed.insert(path);
            }
            for path in changed {
                modules.refresh(&path).await;
            }
        }
    });
    Ok(DirectoryWatch { _watcher: watcher, task })
}
