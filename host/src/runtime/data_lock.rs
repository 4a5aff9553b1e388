//! One host per data directory. Two standalone hosts on one `--data` would both activate the
//! same actors and overwrite each other's saves, each losing what the other acknowledged; so
//! a host takes an exclusive lock on a file in the directory before it opens the store, and
//! a second one fails at start, naming the first.

use std::fs::{File, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

/// The lock file, in the data directory.
pub const LOCK_FILE: &str = "spawn-wasm.lock";

/// The exclusive lock of a data directory, held while this value lives. The operating system
/// releases it when the process ends, however it ends (`kill -9` included), so a stale file
/// never blocks a restart.
#[derive(Debug)]
pub(super) struct DataLock {
    _file: File,
}

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    /// Another process holds the lock.
    #[error(
        "the data directory {} is in use by another spawn-wasm ({}): two hosts on one data directory would \
         overwrite each other's state. Stop it, or give this one another --data",
        .dir.display(),
        holder(*.pid)
    )]
    InUse {
        /// The data directory.
        dir: PathBuf,
        /// The process holding it, as it wrote in the lock file (unknown if it has not yet).
        pid: Option<u32>,
    },
    /// The directory or its lock file could not be created, read or written.
    #[error("cannot lock the data directory {}: {error}", .path.display())]
    Io {
        /// The directory or the lock file.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
}

fn holder(pid: Option<u32>) -> String {
    pid.map_or_else(|| "its pid not yet written".to_owned(), |pid| format!("pid {pid}"))
}

impl DataLock {
    /// Locks `dir` (created if missing) for this process, and writes its pid in the lock file
    /// so that a second host can name it.
    pub(super) fn acquire(dir: &Path) -> Result<DataLock, DataDirError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| DataDirError::Io { path, error }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(LOCK_FILE);
        // Not truncated before the lock is ours: the file holds the holder's pid.
        let mut file =
            File::options().read(true).write(true).create(true).truncate(false).open(&path).map_err(io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let pid = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
                return Err(DataDirError::InUse { dir: dir.to_owned(), pid });
            }
            Err(TryLockError::Error(error)) => return Err(io(&path)(error)),
        }
        file.set_len(0).map_err(io(&path))?;
        file.rewind().map_err(io(&path))?;
        writeln!(file, "{}", std::process::id()).map_err(io(&path))?;
        Ok(DataLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_locked_once_until_released() {
        let dir = std::env::temp_dir().join(format!("spawn-wasm-lock-test-{}", std::process::id()));
        let first = DataLock::acquire(&dir).unwrap();
        let error = DataLock::acquire(&dir).unwrap_err();
        assert!(matches!(error, DataDirError::InUse { pid: Some(pid), .. } if pid == std::process::id()), "{error}");
        assert!(error.to_string().contains(&format!("pid {}", std::process::id())), "{error}");
        drop(first);
        let again = DataLock::acquire(&dir).unwrap();
        drop(again);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
