//! The embedded state store: SQLite in WAL mode, owned by one thread.
//!
//! Every operation goes through a single writer thread, in order: a load issued after a
//! save sees that save, and concurrent saves are batched into one transaction. A save is
//! acknowledged only after its transaction commits, so an acknowledged checkpoint survives
//! the process being killed (WAL with `synchronous = NORMAL`: a committed transaction is in
//! the OS's hands; surviving power loss as well needs `--fsync`, i.e. `synchronous = FULL`).
//!
//! Each actor keeps its last revisions (`--state-history`), pruned in the transaction that
//! writes a new one ([`records`]); [`schema`] migrates a database of an older version.
//!
//! With a key ([`StoreKeys`]), every state and scheduled call is sealed ([`sealing`]); the
//! keys are checked against the database before anything is changed ([`keys`]), and a pass
//! reseals what an older key (or none) wrote while the host serves ([`reseal`]). [`copy`]
//! backs the database up while it serves; [`verify`] checks a data directory.

mod copy;
mod keys;
mod records;
mod reseal;
mod schema;
mod sealing;
mod types;
mod verify;
mod worker;

use std::path::{Path, PathBuf};
use std::sync::{Arc, mpsc};

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use copy::{BackupReport, DB_FILE};
pub use keys::{KeyCheckError, StoreKeys};
pub use sealing::{KeyError, KeyId, SealError, StoreKey};
pub use types::{Revision, RevisionSummary, StateKey, StoreError, StoredState};
pub use verify::{VerifyReport, verify};

use crate::protocol::spawn::actors;
use worker::{Db, Job, Op, write_op};

/// A handle to the store's thread. Cheap to clone.
#[derive(Clone)]
pub struct StateStore {
    ops: mpsc::Sender<Job>,
    /// Revisions kept per actor, the current one included (0 and 1 keep only the current).
    keep: u32,
    /// The data directory, which backups copy.
    dir: Arc<PathBuf>,
}

impl StateStore {
    /// Opens (creating or migrating if needed) the database `state.db` in `dir`, keeping
    /// `history` revisions of each actor's state (0 keeps only the current one), plain
    /// (refusing an encrypted one).
    pub fn open(dir: &Path, fsync: bool, history: u32) -> Result<Self, StoreError> {
        Self::open_with_keys(dir, fsync, history, &StoreKeys::default())
    }

    /// Like [`StateStore::open`], sealing every value with `keys.current` if set. The keys
    /// are checked first, on a read-only connection: a missing or wrong key is refused
    /// before anything is written. A plain database, or one sealed with `keys.previous`, is
    /// resealed by a pass that runs while the store serves.
    pub fn open_with_keys(dir: &Path, fsync: bool, history: u32, keys: &StoreKeys) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        let path = dir.join(DB_FILE);
        let plan = match copy::open_read_only(&path)? {
            Some(existing) => keys::plan_for(&existing, keys)?,
            None => keys::plan(None, false, keys)?,
        };
        let mut connection = Connection::open(&path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::prepare(&mut connection)?;
        schema::size_rings(&mut connection, history)?;
        if let Some(check) = &plan.check {
            keys::write(&connection, check)?;
        }
        let (ops, queue) = mpsc::channel();
        let sealing = plan.sealing;
        std::thread::Builder::new()
            .name("state-store".into())
            .spawn(move || worker::run(connection, sealing, queue))
            .map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        if let Some(current) = plan.reseal {
            reseal::start(ops.clone(), current)
                .map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        }
        Ok(StateStore { ops, keep: history, dir: Arc::new(dir.to_owned()) })
    }

    /// Writes a consistent copy of the database, with every write committed before the
    /// call, into `dest` (an absolute path to a new or empty directory outside the data
    /// directory), while the store goes on serving: the copy starts as a data directory
    /// (with the same key, if it has one).
    pub async fn backup(&self, dest: PathBuf) -> Result<BackupReport, StoreError> {
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || copy::backup(&dir, &dest)).await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `read` in the store's order; answers as soon as it ran.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let op: Op = Box::new(move |db| {
            let _ = reply.send(db.and_then(read));
            None
        });
        self.ops.send(Job::Op(op)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `write` in the store's order; answers once its transaction committed.
    async fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let op = write_op(write, move |result| {
            let _ = reply.send(result);
        });
        self.ops.send(Job::Op(op)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The stored (current) state of `key`, if any.
    pub async fn load(&self, key: StateKey) -> Result<Option<StoredState>, StoreError> {
        self.read(move |db| records::load(db, &key)).await
    }

    /// Stores `state` under `key` as its newest revision, pruning the oldest beyond the
    /// history kept; returns once it is committed.
    pub async fn save(&self, key: StateKey, state: StoredState) -> Result<(), StoreError> {
        let keep = self.keep;
        self.write(move |db| Ok(records::save(db, &key, &state, keep)?)).await
    }

    /// Revision `revision` of `key` (`None`: the current one), if it is kept.
    pub async fn revision(&self, key: StateKey, revision: Option<i64>) -> Result<Option<Revision>, StoreError> {
        self.read(move |db| records::revision(db, &key, revision)).await
    }

    /// The kept revisions of `key`, newest first.
    pub async fn history(&self, key: StateKey) -> Result<Vec<RevisionSummary>, StoreError> {
        self.read(move |db| records::history(db, &key)).await
    }

    /// Makes revision `revision` of `key` current again as a new revision (so that a
    /// restore can itself be undone); returns that new state once committed, or `None`
    /// if the revision is not kept.
    pub async fn restore(&self, key: StateKey, revision: i64) -> Result<Option<StoredState>, StoreError> {
        let keep = self.keep;
        self.write(move |db| records::restore(db, &key, revision, keep)).await
    }

    /// Records a spawned unnamed instance; returns once it is committed.
    pub async fn record_spawn(&self, id: actors::ActorId) -> Result<(), StoreError> {
        self.write(move |db| Ok(records::record_spawn(db.sql, &id)?)).await
    }

    /// Keeps a call to `actor` scheduled for `due_ms` (Unix ms), `request` its encoded
    /// `InvocationRequest`; returns its id once it is committed.
    pub async fn schedule_call(
        &self,
        system: &str,
        actor: &str,
        due_ms: i64,
        request: Vec<u8>,
    ) -> Result<i64, StoreError> {
        let (system, actor) = (system.to_owned(), actor.to_owned());
        self.write(move |db| Ok(records::schedule_call(db, &system, &actor, due_ms, &request)?)).await
    }

    /// The encoded request of scheduled call `id`, if it is still kept.
    pub async fn scheduled_call(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |db| records::scheduled_call(db, id)).await
    }

    /// Every scheduled call of `system` kept: id, actor and due time (Unix ms).
    pub async fn scheduled_calls(&self, system: &str) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let system = system.to_owned();
        self.read(move |db| Ok(records::scheduled_calls(db.sql, &system)?)).await
    }

    /// Forgets scheduled call `id` (it ran, or cannot run), without waiting: a call that is
    /// not forgotten (the process killed first) runs again after the next start.
    pub fn forget_scheduled(&self, id: i64) {
        let op: Op = Box::new(move |db| {
            if let Err(error) = db.and_then(|db| Ok(records::forget_scheduled(db.sql, id)?)) {
                tracing::warn!(id, %error, "cannot forget a scheduled call that ran; it will run again after a restart");
            }
            None
        });
        let _ = self.ops.send(Job::Op(op));
    }

    /// Every spawned unnamed instance of `system`.
    pub async fn spawned(&self, system: &str) -> Result<Vec<actors::ActorId>, StoreError> {
        let system = system.to_owned();
        self.read(move |db| records::spawned(db.sql, &system)).await
    }
}
