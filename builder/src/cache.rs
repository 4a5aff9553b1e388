//! What every language's build shares: the cache root the tools are installed under, unique
//! staging names, running a tool, and the stamp that skips a build whose inputs did not
//! change.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

/// The user's own cache directory for spawn-wasm, `$XDG_CACHE_HOME/spawn-wasm` or
/// `~/.cache/spawn-wasm`, if the environment names one: where the build tools and the hosts'
/// compiled code are kept by default. Never a shared temporary directory: another user could
/// have put tools or compiled code there, and they would be run.
pub fn user_cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|dir| !dir.is_empty()).map(PathBuf::from);
    var("XDG_CACHE_HOME")
        .map(|dir| dir.join("spawn-wasm"))
        .or_else(|| var("HOME").map(|home| home.join(".cache").join("spawn-wasm")))
}

/// The root of the tool caches: `$SPAWN_WASM_CACHE`, else [`user_cache_dir`].
pub fn cache_root() -> anyhow::Result<PathBuf> {
    std::env::var_os("SPAWN_WASM_CACHE")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
        .or_else(user_cache_dir)
        .context("no directory for the build tools: set SPAWN_WASM_CACHE (or HOME or XDG_CACHE_HOME) to a directory only you can write")
}

/// A number no other staging directory of this process uses, and unlikely in another.
pub(crate) fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.subsec_nanos());
    (u64::from(nanos) << 16) | NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fresh staging path `parent/.{what}-PID-N`.
pub(crate) fn staging_path(parent: &Path, what: &str) -> PathBuf {
    parent.join(format!(".{what}-{}-{}", std::process::id(), unique()))
}

/// Fills a fresh staging directory under `parent` with `fill`, then marks it complete with
/// `ready` in its `.ready` file; returns it. On failure nothing is left behind: the tools
/// are installed whole or not at all, whatever the installer does when it fails halfway.
pub(crate) fn stage(
    parent: &Path,
    ready: &str,
    fill: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<PathBuf> {
    let staging = staging_path(parent, "install");
    let result = std::fs::create_dir_all(&staging)
        .map_err(anyhow::Error::from)
        .and_then(|()| fill(&staging))
        .and_then(|()| Ok(std::fs::write(staging.join(".ready"), format!("{ready}\n"))?));
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(error);
    }
    Ok(staging)
}

/// Runs `command`; a failure says `what` failed, with the tool's output.
pub(crate) fn run(command: &mut Command, what: &str) -> anyhow::Result<()> {
    let output = command.output().with_context(|| format!("{what}: cannot run {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Renames a fully installed `staging` directory to `dir`. When another build installed
/// `dir` meanwhile (its `.ready` marker is there), `staging` is dropped and theirs is used.
pub(crate) fn install_dir(staging: &Path, dir: &Path) -> anyhow::Result<()> {
    if std::fs::rename(staging, dir).is_err() {
        let _ = std::fs::remove_dir_all(staging);
        if !dir.join(".ready").is_file() {
            bail!("cannot install the tools into {}", dir.display());
        }
    }
    Ok(())
}

/// The record of the inputs a component was built from, next to it (`.NAME.inputs`).
pub(crate) struct Stamp {
    path: PathBuf,
    hash: String,
}

impl Stamp {
    /// The stamp of `out` for the inputs hashed by `hasher`.
    pub(crate) fn new(out: &Path, hasher: &blake3::Hasher) -> anyhow::Result<Stamp> {
        let name = out.file_name().context("an output file name")?.to_string_lossy().into_owned();
        Ok(Stamp { path: out.with_file_name(format!(".{name}.inputs")), hash: hasher.finalize().to_hex().to_string() })
    }

    /// Whether `out` exists and was built from these inputs.
    pub(crate) fn is_current(&self, out: &Path) -> bool {
        out.is_file() && std::fs::read_to_string(&self.path).is_ok_and(|old| old.trim() == self.hash)
    }

    /// Records that `out` was built from these inputs.
    pub(crate) fn write(&self) -> anyhow::Result<()> {
        std::fs::write(&self.path, &self.hash).with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Hashes each file's path and contents.
pub(crate) fn hash_files<'a>(
    hasher: &mut blake3::Hasher,
    files: impl IntoIterator<Item = &'a PathBuf>,
) -> anyhow::Result<()> {
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(&std::fs::read(file).with_context(|| format!("reading {}", file.display()))?);
    }
    Ok(())
}

/// The `.proto` files among a build's `sources`, then the ones it was given (`extra`).
pub(crate) fn proto_files(sources: &[PathBuf], extra: &[PathBuf]) -> Vec<PathBuf> {
    sources.iter().filter(|file| file.extension().is_some_and(|ext| ext == "proto")).chain(extra).cloned().collect()
}

/// The files under `dir` whose name `wanted` accepts (sorted), skipping hidden entries and
/// the directories named in `skipped`; subdirectories only if `recursive`.
pub(crate) fn source_files(
    dir: &Path,
    recursive: bool,
    skipped: &[&str],
    wanted: &dyn Fn(&str) -> bool,
    found: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.flatten().collect();
    entries.sort_by_key(|entry| entry.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            if recursive && !skipped.contains(&name.as_str()) && !path.join("pyvenv.cfg").exists() {
                source_files(&path, recursive, skipped, wanted, found)?;
            }
        } else if wanted(&name) {
            found.push(path);
        }
    }
    Ok(())
}
