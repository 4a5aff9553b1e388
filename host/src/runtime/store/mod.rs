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

mod records;
mod schema;
mod types;

use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;
use tokio::sync::oneshot;

pub use types::{Revision, RevisionSummary, StateKey, StoreError, StoredState};

use crate::protocol::spawn::actors;

/// What a write answers once its transaction's fate is known: committed, or why not.
type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// One operation, run by the store's thread inside a transaction (or, if the transaction
/// cannot begin, given the cause instead). A read answers at once; a write returns what
/// answers it after the commit.
type Op = Box<dyn FnOnce(Result<&Connection, StoreError>) -> Option<Answer> + Send>;

/// A handle to the store's thread. Cheap to clone.
#[derive(Clone)]
pub struct StateStore {
    ops: mpsc::Sender<Op>,
    /// Revisions kept per actor, the current one included (0 and 1 keep only the current).
    keep: u32,
}

/// Most operations one transaction takes from the queue.
const MAX_BATCH: usize = 1024;

impl StateStore {
    /// Opens (creating or migrating if needed) the database `state.db` in `dir`, keeping
    /// `history` revisions of each actor's state (0 keeps only the current one).
    pub fn open(dir: &Path, fsync: bool, history: u32) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        let mut connection = Connection::open(dir.join("state.db"))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        schema::prepare(&mut connection)?;
        schema::size_rings(&mut connection, history)?;
        let (ops, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("state-store".into())
            .spawn(move || run(connection, queue))
            .map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        Ok(StateStore { ops, keep: history })
    }

    /// Runs `read` in the store's order; answers as soon as it ran.
    async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let op: Op = Box::new(move |connection| {
            let _ = reply.send(connection.and_then(read));
            None
        });
        self.ops.send(op).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// Runs `write` in the store's order; answers once its transaction committed.
    async fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let op: Op = Box::new(move |connection| match connection.and_then(write) {
            Ok(value) => Some(Box::new(move |committed: Result<(), StoreError>| {
                let _ = reply.send(committed.map(|()| value));
            })),
            Err(error) => {
                let _ = reply.send(Err(error));
                None
            }
        });
        self.ops.send(op).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The stored (current) state of `key`, if any.
    pub async fn load(&self, key: StateKey) -> Result<Option<StoredState>, StoreError> {
        self.read(move |connection| records::load(connection, &key)).await
    }

    /// Stores `state` under `key` as its newest revision, pruning the oldest beyond the
    /// history kept; returns once it is committed.
    pub async fn save(&self, key: StateKey, state: StoredState) -> Result<(), StoreError> {
        let keep = self.keep;
        self.write(move |connection| Ok(records::save(connection, &key, &state, keep)?)).await
    }

    /// Revision `revision` of `key` (`None`: the current one), if it is kept.
    pub async fn revision(&self, key: StateKey, revision: Option<i64>) -> Result<Option<Revision>, StoreError> {
        self.read(move |connection| records::revision(connection, &key, revision)).await
    }

    /// The kept revisions of `key`, newest first.
    pub async fn history(&self, key: StateKey) -> Result<Vec<RevisionSummary>, StoreError> {
        self.read(move |connection| records::history(connection, &key)).await
    }

    /// Makes revision `revision` of `key` current again as a new revision (so that a
    /// restore can itself be undone); returns that new state once committed, or `None`
    /// if the revision is not kept.
    pub async fn restore(&self, key: StateKey, revision: i64) -> Result<Option<StoredState>, StoreError> {
        let keep = self.keep;
        self.write(move |connection| records::restore(connection, &key, revision, keep)).await
    }

    /// Records a spawned unnamed instance; returns once it is committed.
    pub async fn record_spawn(&self, id: actors::ActorId) -> Result<(), StoreError> {
        self.write(move |connection| Ok(records::record_spawn(connection, &id)?)).await
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
        self.write(move |connection| Ok(records::schedule_call(connection, &system, &actor, due_ms, &request)?)).await
    }

    /// The encoded request of scheduled call `id`, if it is still kept.
    pub async fn scheduled_call(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(move |connection| Ok(records::scheduled_call(connection, id)?)).await
    }

    /// Every scheduled call of `system` kept: id, actor and due time (Unix ms).
    pub async fn scheduled_calls(&self, system: &str) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let system = system.to_owned();
        self.read(move |connection| Ok(records::scheduled_calls(connection, &system)?)).await
    }

    /// Forgets scheduled call `id` (it ran, or cannot run), without waiting: a call that is
    /// not forgotten (the process killed first) runs again after the next start.
    pub fn forget_scheduled(&self, id: i64) {
        let op: Op = Box::new(move |connection| {
            if let Err(error) = connection.and_then(|connection| Ok(records::forget_scheduled(connection, id)?)) {
                tracing::warn!(id, %error, "cannot forget a scheduled call that ran; it will run again after a restart");
            }
            None
        });
        let _ = self.ops.send(op);
    }

    /// Every spawned unnamed instance of `system`.
    pub async fn spawned(&self, system: &str) -> Result<Vec<actors::ActorId>, StoreError> {
        let system = system.to_owned();
        self.read(move |connection| records::spawned(connection, &system)).await
    }
}

/// The store thread: takes operations in order, runs each batch in one transaction, and
/// answers them after it commits.
fn run(mut connection: Connection, queue: mpsc::Receiver<Op>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let mut ops = batch.into_iter().peekable();
        while ops.peek().is_some() {
            execute(&mut connection, &mut ops);
        }
    }
}

/// Runs operations of `ops` in one transaction, until none is left or SQLite rolls the
/// transaction back (on an I/O error, say): the writes done in it are then answered as
/// failed, since none of them is on disk, and the next operations wait for the next
/// transaction instead of running, and committing, outside of one. Reads are answered at
/// once; writes once the transaction's fate is known, so that what a save reports is what
/// is on disk.
fn execute(connection: &mut Connection, ops: &mut impl Iterator<Item = Op>) {
    let transaction = match connection.transaction() {
        Ok(transaction) => transaction,
        Err(error) => {
            for op in ops {
                op(Err(StoreError::Sqlite(clone_error(&error))));
            }
            return;
        }
    };
    let mut answers: Vec<Answer> = Vec::new();
    for op in ops.by_ref() {
        answers.extend(op(Ok(&transaction)));
        // Back in autocommit mode: SQLite rolled the transaction back.
        if transaction.is_autocommit() {
            for answer in answers {
                answer(Err(StoreError::RolledBack));
            }
            return;
        }
    }
    let committed = transaction.commit();
    for answer in answers {
        answer(committed.as_ref().map(|_| ()).map_err(|error| StoreError::Sqlite(clone_error(error))));
    }
}

/// `rusqlite::Error` is not `Clone`; a batch's commit error is reported to every waiter.
fn clone_error(error: &rusqlite::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(error.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_whose_transaction_cannot_begin_is_answered_with_the_cause() {
        let mut connection = Connection::open_in_memory().unwrap();
        // A transaction already open: `BEGIN` fails.
        connection.execute_batch("BEGIN").unwrap();
        let (reply, mut answer) = oneshot::channel::<Result<(), StoreError>>();
        let op: Op = Box::new(move |connection| {
            let _ = reply.send(connection.map(drop));
            None
        });
        execute(&mut connection, &mut [op].into_iter());
        let error = answer.try_recv().expect("answered").unwrap_err();
        assert!(matches!(error, StoreError::Sqlite(_)), "{error}");
    }
}
