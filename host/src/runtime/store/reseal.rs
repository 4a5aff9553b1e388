//! The pass that reseals, with the current key, every value that is not sealed with it: a
//! plain database opened with a key, or a rotation from the previous key.
//!
//! It runs while the host serves: batches of at most [`BATCH`] rows, each an operation of
//! the store's thread like any other (so reads and writes queue behind one batch at most),
//! committed in the transaction of its batch. A row's header tells which key sealed it, so
//! a pass killed half-way (`kill -9`) resumes on the next start by skipping the rows already
//! done; until it ends, the key check keeps saying what is still to reseal, and reads accept
//! the old key (or plain values). At its end the key check says "all sealed", the old key is
//! no longer read, and `VACUUM` rewrites the file and the WAL is truncated, so that no old
//! plain value or old ciphertext is left in free pages, free space of pages, or the WAL.

use std::sync::mpsc;

use rusqlite::params;

use super::keys;
use super::sealing::{Row, StoreKey};
use super::types::StoreError;
use super::worker::{Db, Job, write_op};

/// Rows read per batch: bounds how long one batch holds the store's thread.
const BATCH: i64 = 256;

/// Where the pass is: after this primary key of `actor_state`, or of `scheduled_call`.
#[derive(Debug, Clone)]
enum Cursor {
    States { system: String, name: String, parent: String, slot: i64 },
    Calls { id: i64 },
}

/// Starts the pass on its own thread, sending its batches to the store's queue `jobs`.
pub(super) fn start(jobs: mpsc::Sender<Job>, current: StoreKey) -> std::io::Result<()> {
    std::thread::Builder::new().name("state-reseal".into()).spawn(move || drive(&jobs, &current)).map(drop)
}

fn drive(jobs: &mpsc::Sender<Job>, current: &StoreKey) {
    tracing::info!(key_id = %current.id(), "re-encrypting the state store with the current key, while serving");
    let mut cursor =
        Some(Cursor::States { system: String::new(), name: String::new(), parent: String::new(), slot: i64::MIN });
    let mut resealed = 0;
    while let Some(at) = cursor {
        match run(jobs, move |db| step(db, at)) {
            Some(Ok((next, count))) => (cursor, resealed) = (next, resealed + count),
            Some(Err(error)) => {
                tracing::error!(%error, "the state store's re-encryption stopped; it resumes at the next start");
                return;
            }
            None => return,
        }
    }
    let check = keys::finished(current);
    match run(jobs, move |db| Ok(keys::write(db.sql, &check)?)) {
        Some(Ok(())) => {}
        Some(Err(error)) => {
            tracing::error!(%error, "the state store's re-encryption could not be recorded; it resumes at the next start");
            return;
        }
        None => return,
    }
    let id = current.id();
    let _ = jobs.send(Job::Alone(Box::new(move |connection, sealing| {
        sealing.previous = None;
        sealing.plain_readable = false;
        let cleaned = connection
            .execute_batch("VACUUM")
            .and_then(|()| connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())));
        if let Err(error) = cleaned {
            tracing::warn!(%error, "VACUUM after re-encryption failed: old values may remain in free pages until the next VACUUM");
        }
        tracing::info!(key_id = %id, resealed, "the state store is encrypted with the current key");
    })));
}

/// Runs `work` as a write of the store's thread; its result once committed (`None`: the
/// store has stopped).
fn run<T: Send + 'static>(
    jobs: &mpsc::Sender<Job>,
    work: impl FnOnce(Db) -> Result<T, StoreError> + Send + 'static,
) -> Option<Result<T, StoreError>> {
    let (reply, answer) = mpsc::channel();
    let op = write_op(work, move |result| {
        let _ = reply.send(result);
    });
    jobs.send(Job::Op(op)).ok()?;
    answer.recv().ok()
}

/// Reseals the rows of one batch after `cursor`; returns where the next starts (`None`:
/// every row is done) and how many were resealed.
fn step(db: Db, cursor: Cursor) -> Result<(Option<Cursor>, usize), StoreError> {
    match cursor {
        Cursor::States { system, name, parent, slot } => states(db, [&system, &name, &parent], slot),
        Cursor::Calls { id } => calls(db, id),
    }
}

type StateRow = (String, String, String, i64, i64, i64, Vec<u8>);

fn states(db: Db, [system, name, parent]: [&str; 3], slot: i64) -> Result<(Option<Cursor>, usize), StoreError> {
    let rows: Vec<StateRow> = db
        .sql
        .prepare_cached(
            "SELECT system, name, parent, slot, seq, revision, state FROM actor_state
             WHERE (system, name, parent, slot) > (?1, ?2, ?3, ?4) ORDER BY system, name, parent, slot LIMIT ?5",
        )?
        .query_map(params![system, name, parent, slot, BATCH], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut resealed = 0;
    for (system, name, parent, slot, seq, revision, stored) in &rows {
        if db.sealing.is_current(stored) {
            continue;
        }
        let row = Row::State { system, name, parent, seq: *seq, revision: *revision };
        let sealed = db.sealing.seal(db.sealing.open_row(stored, &row)?.into_owned(), &row);
        db.sql
            .prepare_cached(
                "UPDATE actor_state SET state = ?5 WHERE system = ?1 AND name = ?2 AND parent = ?3 AND slot = ?4",
            )?
            .execute(params![system, name, parent, slot, sealed])?;
        resealed += 1;
    }
    let next = match rows.into_iter().last() {
        Some((system, name, parent, slot, ..)) => Cursor::States { system, name, parent, slot },
        None => Cursor::Calls { id: i64::MIN },
    };
    Ok((Some(next), resealed))
}

fn calls(db: Db, after: i64) -> Result<(Option<Cursor>, usize), StoreError> {
    let rows: Vec<(i64, String, String, i64, Vec<u8>)> = db
        .sql
        .prepare_cached(
            "SELECT id, system, actor, due_ms, request FROM scheduled_call WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?
        .query_map(params![after, BATCH], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut resealed = 0;
    for (id, system, actor, due_ms, stored) in &rows {
        if db.sealing.is_current(stored) {
            continue;
        }
        let row = Row::Call { id: *id, system, actor, due_ms: *due_ms };
        let sealed = db.sealing.seal(db.sealing.open_row(stored, &row)?.into_owned(), &row);
        db.sql.prepare_cached("UPDATE scheduled_call SET request = ?2 WHERE id = ?1")?.execute(params![id, sealed])?;
        resealed += 1;
    }
    Ok((rows.last().map(|row| Cursor::Calls { id: row.0 }), resealed))
}
