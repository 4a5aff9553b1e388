//! The database as files: opening it read-only without changing it, and copying it while
//! the host serves (`VACUUM INTO`, from a read connection of its own, so the store's thread
//! keeps serving and the copy is one consistent snapshot holding every committed write).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use super::types::StoreError;

/// The database's file in a data directory.
pub const DB_FILE: &str = "state.db";

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The database file written, in the destination directory.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// How long the copy took.
    pub elapsed: Duration,
}

/// A read-only connection to the database `path`, or `None` if there is none. It writes
/// nothing: without a WAL file (a stopped host's, or a copy) the file is opened immutable,
/// so that SQLite creates no `-wal` or `-shm` beside it; with one (a running host's, or a
/// killed one's), it reads the WAL too, as a reader beside the host.
pub(super) fn open_read_only(path: &Path) -> Result<Option<Connection>, StoreError> {
    if !path.exists() {
        return Ok(None);
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let immutable = if Path::new(&wal).exists() { "" } else { "&immutable=1" };
    let uri = format!("file:{}?mode=ro{immutable}", uri_path(path));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(uri, flags)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    Ok(Some(connection))
}

/// `path` as the path of a `file:` URI: the characters a URI gives a meaning escaped.
fn uri_path(path: &Path) -> String {
    let mut text = String::new();
    for character in path.to_string_lossy().chars() {
        match character {
            '%' | '?' | '#' => text.push_str(&format!("%{:02X}", character as u32)),
            _ => text.push(character),
        }
    }
    text
}

/// Copies the database of `data_dir` into `dest` (a directory that does not exist, or an
/// empty one, outside `data_dir`), which then starts as a data directory of its own.
pub(super) fn backup(data_dir: &Path, dest: &Path) -> Result<BackupReport, StoreError> {
    let refuse = |reason: &str| StoreError::Destination { path: dest.to_owned(), reason: reason.into() };
    if !dest.is_absolute() {
        return Err(refuse("give an absolute path (it is a path on the host's machine)"));
    }
    let data = data_dir.canonicalize().map_err(|error| StoreError::Directory { path: data_dir.to_owned(), error })?;
    if resolved(dest).starts_with(&data) {
        return Err(refuse("it is inside the data directory"));
    }
    match std::fs::read_dir(dest).map(|mut entries| entries.next().is_some()) {
        Ok(true) => return Err(refuse("it exists and is not an empty directory")),
        Ok(false) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dest).map_err(|error| StoreError::Directory { path: dest.to_owned(), error })?;
        }
        Err(error) => return Err(refuse(&format!("it is not a directory that can be read: {error}"))),
    }
    let started = Instant::now();
    let source = open_read_only(&data_dir.join(DB_FILE))?.ok_or_else(|| refuse("the host has no database yet"))?;
    let file = dest.join(DB_FILE);
    source.execute("VACUUM INTO ?1", [file.to_string_lossy()])?;
    let io = |error| StoreError::Directory { path: dest.to_owned(), error };
    std::fs::File::open(&file).and_then(|copy| copy.sync_all()).map_err(io)?;
    std::fs::File::open(dest).and_then(|dir| dir.sync_all()).map_err(io)?;
    let bytes = std::fs::metadata(&file).map_err(io)?.len();
    Ok(BackupReport { file, bytes, elapsed: started.elapsed() })
}

/// `path` with its symbolic links resolved as far as it exists (the rest appended as is).
fn resolved(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    while !existing.exists() {
        let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else { break };
        rest.push(name);
        existing = parent;
    }
    let mut resolved = existing.canonicalize().unwrap_or_else(|_| existing.to_owned());
    resolved.extend(rest.iter().rev());
    resolved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_refuses_a_destination_inside_the_data_directory_or_not_empty() {
        let data = tempfile::tempdir().unwrap();
        Connection::open(data.path().join(DB_FILE)).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        let inside = backup(data.path(), &data.path().join("copy")).unwrap_err().to_string();
        assert!(inside.contains("inside the data directory"), "{inside}");
        let full = tempfile::tempdir().unwrap();
        std::fs::write(full.path().join("x"), "").unwrap();
        let error = backup(data.path(), full.path()).unwrap_err().to_string();
        assert!(error.contains("not an empty directory"), "{error}");
        assert!(backup(data.path(), Path::new("relative")).unwrap_err().to_string().contains("absolute"));
        let dest = tempfile::tempdir().unwrap();
        let report = backup(data.path(), &dest.path().join("new")).unwrap();
        assert!(report.bytes > 0 && report.file.ends_with(DB_FILE));
    }

    #[test]
    fn uri_paths_escape_what_a_uri_reads() {
        assert_eq!(uri_path(Path::new("/a?b#c%d")), "/a%3Fb%23c%25d");
    }
}
