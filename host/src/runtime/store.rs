//! The embedded state store: SQLite in WAL mode, owned by one thread.
//!
//! Every operation goes through a single writer thread, in order: a load issued after a
//! save sees that save, and concurrent saves are batched into one transaction. A save is
//! acknowledged only after its transaction commits, so an acknowledged checkpoint survives
//! the process being killed (WAL with `synchronous = NORMAL`: a committed transaction is in
//! the OS's hands; surviving power loss as well needs `--fsync`, i.e. `synchronous = FULL`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::protocol::spawn::actors;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored record could not be decoded.
    #[error("state store: corrupt record for `{actor}`: {error}")]
    Corrupt {
        /// The actor whose record is corrupt.
        actor: String,
        /// The decoding error.
        error: prost::DecodeError,
    },
    /// The data directory could not be created.
    #[error("state store: cannot create {path}: {error}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// SQLite rolled back the transaction of a batch (as it does on an I/O error, say):
    /// none of its writes is on disk.
    #[error("state store: the transaction was rolled back; nothing of it was stored")]
    RolledBack,
    /// The store's thread has stopped.
    #[error("state store: closed")]
    Closed,
}

/// Where an actor's state is stored: its system, name and (for unnamed instances) parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey {
    /// Actor system.
    pub system: String,
    /// Instance name.
    pub name: String,
    /// Template name of an unnamed instance; empty otherwise.
    pub parent: String,
}

impl StateKey {
    /// The key of the actor `id`.
    pub fn of(id: &actors::ActorId) -> Self {
        StateKey { system: id.system.clone(), name: id.name.clone(), parent: id.parent.clone() }
    }
}

/// A stored actor state: tags, the state `Any` and its revision (one per change).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredState {
    /// The state, if the actor has one.
    pub state: Option<prost_types::Any>,
    /// The tags.
    pub tags: HashMap<String, String>,
    /// Incremented on every stored change.
    pub revision: i64,
}

enum Op {
    Load(StateKey, oneshot::Sender<Result<Option<StoredState>, StoreError>>),
    Save(StateKey, StoredState, oneshot::Sender<Result<(), StoreError>>),
    Spawn(actors::ActorId, oneshot::Sender<Result<(), StoreError>>),
    Spawned(String, oneshot::Sender<Result<Vec<actors::ActorId>, StoreError>>),
}

/// A handle to the store's thread. Cheap to clone.
#[derive(Clone)]
pub struct StateStore {
    ops: mpsc::Sender<Op>,
}

/// Most operations one transaction takes from the queue.
const MAX_BATCH: usize = 1024;

impl StateStore {
    /// Opens (creating if needed) the database `state.db` in `dir`.
    pub fn open(dir: &Path, fsync: bool) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        let connection = Connection::open(dir.join("state.db"))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", if fsync { "FULL" } else { "NORMAL" })?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS actor_state (
                 system TEXT NOT NULL,
                 name TEXT NOT NULL,
                 parent TEXT NOT NULL,
                 state BLOB NOT NULL,
                 revision INTEGER NOT NULL,
                 updated_at_ms INTEGER NOT NULL,
                 PRIMARY KEY (system, name, parent)
             ) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS spawned_actor (
                 system TEXT NOT NULL,
                 name TEXT NOT NULL,
                 parent TEXT NOT NULL,
                 PRIMARY KEY (system, name)
             ) WITHOUT ROWID;",
        )?;
        let (ops, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("state-store".into())
            .spawn(move || run(connection, queue))
            .map_err(|error| StoreError::Directory { path: dir.to_owned(), error })?;
        Ok(StateStore { ops })
    }

    async fn call<T>(&self, op: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Op) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.ops.send(op(reply)).map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    /// The stored state of `key`, if any.
    pub async fn load(&self, key: StateKey) -> Result<Option<StoredState>, StoreError> {
        self.call(|reply| Op::Load(key, reply)).await
    }

    /// Stores `state` under `key`; returns once it is committed.
    pub async fn save(&self, key: StateKey, state: StoredState) -> Result<(), StoreError> {
        self.call(|reply| Op::Save(key, state, reply)).await
    }

    /// Records a spawned unnamed instance; returns once it is committed.
    pub async fn record_spawn(&self, id: actors::ActorId) -> Result<(), StoreError> {
        self.call(|reply| Op::Spawn(id, reply)).await
    }

    /// Every spawned unnamed instance of `system`.
    pub async fn spawned(&self, system: &str) -> Result<Vec<actors::ActorId>, StoreError> {
        let system = system.to_owned();
        self.call(|reply| Op::Spawned(system, reply)).await
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

type Answer = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

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
                op.fail(&error);
            }
            return;
        }
    };
    let mut answers: Vec<Answer> = Vec::new();
    for op in ops.by_ref() {
        match op {
            Op::Load(key, reply) => {
                let _ = reply.send(load(&transaction, &key));
            }
            Op::Spawned(system, reply) => {
                let _ = reply.send(spawned(&transaction, &system));
            }
            Op::Save(key, state, reply) => {
                let result = save(&transaction, &key, &state);
                answers.push(Box::new(move |committed| {
                    let _ = reply.send(result.map_err(StoreError::from).and(committed));
                }));
            }
            Op::Spawn(id, reply) => {
                let result = transaction
                    .execute(
                        "INSERT OR REPLACE INTO spawned_actor (system, name, parent) VALUES (?1, ?2, ?3)",
                        params![id.system, id.name, id.parent],
                    )
                    .map(drop);
                answers.push(Box::new(move |committed| {
                    let _ = reply.send(result.map_err(StoreError::from).and(committed));
                }));
            }
        }
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

impl Op {
    /// Answers the operation with `error`, without running it.
    fn fail(self, error: &rusqlite::Error) {
        let error = || StoreError::Sqlite(clone_error(error));
        match self {
            Op::Load(_, reply) => {
                let _ = reply.send(Err(error()));
            }
            Op::Save(_, _, reply) | Op::Spawn(_, reply) => {
                let _ = reply.send(Err(error()));
            }
            Op::Spawned(_, reply) => {
                let _ = reply.send(Err(error()));
            }
        }
    }
}

fn load(connection: &Connection, key: &StateKey) -> Result<Option<StoredState>, StoreError> {
    let row = connection
        .prepare_cached("SELECT state, revision FROM actor_state WHERE system = ?1 AND name = ?2 AND parent = ?3")?
        .query_row(params![key.system, key.name, key.parent], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, i64>(1)?))
        })
        .optional()?;
    let Some((bytes, revision)) = row else { return Ok(None) };
    let stored = actors::ActorState::decode(bytes.as_slice())
        .map_err(|error| StoreError::Corrupt { actor: key.name.clone(), error })?;
    Ok(Some(StoredState { state: stored.state, tags: stored.tags, revision }))
}

fn save(connection: &Connection, key: &StateKey, state: &StoredState) -> rusqlite::Result<()> {
    let record = actors::ActorState { tags: state.tags.clone(), state: state.state.clone() };
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64);
    connection
        .prepare_cached(
            "INSERT INTO actor_state (system, name, parent, state, revision, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (system, name, parent) DO UPDATE SET
                 state = excluded.state, revision = excluded.revision, updated_at_ms = excluded.updated_at_ms",
        )?
        .execute(params![key.system, key.name, key.parent, record.encode_to_vec(), state.revision, now_ms])?;
    Ok(())
}

fn spawned(connection: &Connection, system: &str) -> Result<Vec<actors::ActorId>, StoreError> {
    let mut statement = connection.prepare_cached("SELECT name, parent FROM spawned_actor WHERE system = ?1")?;
    let rows = statement.query_map(params![system], |row| {
        Ok(actors::ActorId { name: row.get(0)?, system: system.to_owned(), parent: row.get(1)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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
        let (reply, mut answer) = oneshot::channel();
        let key = StateKey { system: "s".into(), name: "a".into(), parent: String::new() };
        execute(&mut connection, &mut [Op::Save(key, StoredState::default(), reply)].into_iter());
        let error = answer.try_recv().expect("answered").unwrap_err();
        assert!(matches!(error, StoreError::Sqlite(_)), "{error}");
    }
}
