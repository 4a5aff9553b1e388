//! Watches the actors directory and refreshes the [`ModuleSet`] when a component file (or
//! its settings file, `<name>.toml`) is added, replaced (in place or by the usual
//! rename-into-place) or deleted.
//!
//! A file is refreshed once it is settled: [`SETTLE`] after an event that says the writer
//! is done (renamed into place, closed after writing, deleted), or [`DEBOUNCE`] after any
//! other change (a write still in progress). The latest event of a file decides.
//!
//! A Kubernetes ConfigMap or Secret volume changes no file in place: the kubelet writes a
//! new hidden directory and re-points the `..data` symlink that the visible files link
//! through. A change of `..data` therefore rescans the whole directory, as does an overflow
//! of the event queue (which loses events).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind, RenameMode};
use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::modules::set::{ModuleSet, is_component_file};

/// How long a file must be quiet after a change that may be partial.
pub const DEBOUNCE: Duration = Duration::from_millis(100);
/// How long to coalesce events after a change that is complete.
pub const SETTLE: Duration = Duration::from_millis(5);
/// The symlink a Kubernetes volume re-points to swap all its files at once.
const ATOMIC_WRITER_LINK: &str = "..data";

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

/// How long to wait after `kind` before reading the file.
fn quiet_period(kind: &EventKind) -> Option<Duration> {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write))
        | EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both | RenameMode::From))
        | EventKind::Remove(_) => Some(SETTLE),
        EventKind::Access(_) => None,
        _ => Some(DEBOUNCE),
    }
}

/// What `event` asks to refresh, and after how long: its component files, or `dir` itself
/// (for a rescan of the whole directory).
fn refreshes(event: notify::Event, dir: &Path) -> Vec<(PathBuf, Duration)> {
    // The event queue overflowed: changes were lost, and only a rescan finds them.
    if event.need_rescan() {
        return vec![(dir.to_owned(), DEBOUNCE)];
    }
    let Some(quiet) = quiet_period(&event.kind) else { return Vec::new() };
    let mut refreshes = Vec::new();
    for path in event.paths {
        if path.file_name().is_some_and(|name| name == ATOMIC_WRITER_LINK) {
            refreshes.push((dir.to_owned(), quiet));
            continue;
        }
        // A module's settings file changes its module.
        let path = if path.extension().is_some_and(|ext| ext == "toml") { path.with_extension("wasm") } else { path };
        if is_component_file(&path) {
            refreshes.push((path, quiet));
        }
    }
    refreshes
}

/// Starts watching `modules`' directory.
pub fn watch(modules: Arc<ModuleSet>) -> notify::Result<DirectoryWatch> {
    // Pending refreshes by path; the directory's own path stands for a rescan.
    let (events, mut receiver) = mpsc::unbounded_channel::<(PathBuf, Duration)>();
    let dir = modules.dir().to_owned();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
        Ok(event) => {
            for refresh in refreshes(event, &dir) {
                let _ = events.send(refresh);
            }
        }
        Err(error) => tracing::warn!(%error, "watching the actors directory"),
    })?;
    watcher.watch(modules.dir(), RecursiveMode::NonRecursive)?;
    tracing::info!(dir = %modules.dir().display(), "watching for component changes");
    let task = tokio::spawn(async move {
        let mut pending: HashMap<PathBuf, Instant> = HashMap::new();
        loop {
            let next_due = pending.values().min().copied();
            tokio::select! {
                event = receiver.recv() => match event {
                    Some((path, quiet)) => {
                        pending.insert(path, Instant::now() + quiet);
                    }
                    None => return,
                },
                () = sleep_until(next_due) => {
                    let now = Instant::now();
                    let mut due: Vec<PathBuf> = pending.iter().filter(|(_, at)| **at <= now).map(|(path, _)| path.clone()).collect();
                    pending.retain(|_, at| *at > now);
                    if due.iter().any(|path| path == modules.dir()) {
                        due = modules.every_file();
                    }
                    modules.refresh_all(due).await;
                }
            }
        }
    });
    Ok(DirectoryWatch { _watcher: watcher, task })
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use notify::event::{CreateKind, Flag};

    use super::*;

    #[test]
    fn an_overflow_of_the_event_queue_rescans_the_directory() {
        let dir = Path::new("/actors");
        // What notify sends when the kernel's queue overflowed: no paths, a rescan flag.
        let overflow = notify::Event::new(EventKind::Other).set_flag(Flag::Rescan);
        assert_eq!(refreshes(overflow, dir), [(dir.to_owned(), DEBOUNCE)]);
        let created = notify::Event::new(EventKind::Create(CreateKind::File)).add_path(dir.join("a.wasm"));
        assert_eq!(refreshes(created, dir), [(dir.join("a.wasm"), DEBOUNCE)]);
    }
}
