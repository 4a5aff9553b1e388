//! The SQL of each operation, on a connection (inside the store thread's transaction).
//!
//! Each actor has a ring of up to `keep` rows, one per stored revision (see [`super::schema`]);
//! the one of highest `seq` is its current state. A save overwrites the oldest slot in the
//! same statement that writes the new revision, so history never outgrows its bound.
//!
//! States (with their tags, which are part of the stored `ActorState`) and scheduled calls'
//! requests are sealed with the store's key, if it has one, bound to their row
//! ([`super::sealing`]); names, parents, revisions, sizes and times stay in the clear, as the
//! keys of rows.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;
use rusqlite::{Connection, OptionalExtension, params};

use super::sealing::Row;
use super::types::{Revision, RevisionSummary, StateKey, StoreError, StoredState};
use super::worker::Db;
use crate::protocol::spawn::actors;

/// The `ActorState` stored as save `seq` (revision `revision`) of `key`.
fn decode(db: Db, key: &StateKey, bytes: &[u8], seq: i64, revision: i64) -> Result<actors::ActorState, StoreError> {
    let plain = db.sealing.open_row(bytes, &Row::state(key, seq, revision))?;
    actors::ActorState::decode(plain.as_ref()).map_err(|error| StoreError::Corrupt { actor: key.name.clone(), error })
}

fn stored(record: actors::ActorState, revision: i64, seq: i64) -> StoredState {
    StoredState { state: record.state, tags: record.tags, revision, seq }
}

/// The current (newest) state of `key`.
pub(super) fn load(db: Db, key: &StateKey) -> Result<Option<StoredState>, StoreError> {
    Ok(current(db, key)?.map(|revision| revision.stored))
}

fn current(db: Db, key: &StateKey) -> Result<Option<Revision>, StoreError> {
    let row = db
        .sql
        .prepare_cached(
            "SELECT state, revision, updated_at_ms, seq FROM actor_state WHERE system = ?1 AND name = ?2 AND parent = ?3
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row(params![key.system, key.name, key.parent], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    row.map(|(bytes, revision, time_ms, seq)| {
        Ok(Revision { stored: stored(decode(db, key, &bytes, seq, revision)?, revision, seq), time_ms })
    })
    .transpose()
}

/// Revision `revision` of `key` (`None`: the current one), if it is kept.
pub(super) fn revision(db: Db, key: &StateKey, revision: Option<i64>) -> Result<Option<Revision>, StoreError> {
    let Some(revision) = revision else { return current(db, key) };
    let row = db
        .sql
        .prepare_cached(
            "SELECT state, updated_at_ms, seq FROM actor_state
             WHERE system = ?1 AND name = ?2 AND parent = ?3 AND revision = ?4",
        )?
        .query_row(params![key.system, key.name, key.parent, revision], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    row.map(|(bytes, time_ms, seq)| {
        Ok(Revision { stored: stored(decode(db, key, &bytes, seq, revision)?, revision, seq), time_ms })
    })
    .transpose()
}

/// The kept revisions of `key`, newest first.
pub(super) fn history(db: Db, key: &StateKey) -> Result<Vec<RevisionSummary>, StoreError> {
    let mut statement = db.sql.prepare_cached(
        "SELECT revision, updated_at_ms, state, seq FROM actor_state WHERE system = ?1 AND name = ?2 AND parent = ?3
         ORDER BY seq DESC",
    )?;
    let rows = statement.query_map(params![key.system, key.name, key.parent], |row| {
        Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, Vec<u8>>(2)?, row.get::<_, i64>(3)?))
    })?;
    rows.map(|row| {
        let (revision, time_ms, bytes, seq) = row?;
        let state = decode(db, key, &bytes, seq, revision)?.state.unwrap_or_default();
        Ok(RevisionSummary { revision, time_ms, type_url: state.type_url, size: state.value.len() })
    })
    .collect()
}

/// Stores `state` as save `state.seq` of `key`, in slot `seq % keep` of its ring
/// (overwriting the oldest kept revision once the ring is full; a change of tags alone keeps
/// the revision and the seq, so it overwrites its own slot). One statement, as cheap as the
/// single-row upsert of a store without history.
pub(super) fn save(db: Db, key: &StateKey, state: &StoredState, keep: u32) -> rusqlite::Result<()> {
    let record = actors::ActorState { tags: state.tags.clone(), state: state.state.clone() };
    let sealed = db.sealing.seal(record.encode_to_vec(), &Row::state(key, state.seq, state.revision));
    db.sql
        .prepare_cached(
            "INSERT INTO actor_state (system, name, parent, slot, seq, revision, state, updated_at_ms)
             VALUES (?1, ?2, ?3, ?4 % ?8, ?4, ?5, ?6, ?7)
             ON CONFLICT (system, name, parent, slot) DO UPDATE SET
                 seq = excluded.seq, revision = excluded.revision, state = excluded.state,
                 updated_at_ms = excluded.updated_at_ms",
        )?
        .execute(params![
            key.system,
            key.name,
            key.parent,
            state.seq,
            state.revision,
            sealed,
            now_ms(),
            i64::from(keep.max(1))
        ])?;
    Ok(())
}

/// Makes revision `revision` of `key` its current state again, as a new revision after
/// the newest; `None` if that revision is not kept.
pub(super) fn restore(db: Db, key: &StateKey, revision: i64, keep: u32) -> Result<Option<StoredState>, StoreError> {
    let Some(old) = self::revision(db, key, Some(revision))? else { return Ok(None) };
    let newest = current(db, key)?.map_or(old.stored.clone(), |current| current.stored);
    let restored = StoredState { revision: newest.revision + 1, seq: newest.seq + 1, ..old.stored };
    save(db, key, &restored, keep)?;
    Ok(Some(restored))
}

/// Records a spawned unnamed instance.
pub(super) fn record_spawn(connection: &Connection, id: &actors::ActorId) -> rusqlite::Result<()> {
    connection
        .prepare_cached("INSERT OR REPLACE INTO spawned_actor (system, name, parent) VALUES (?1, ?2, ?3)")?
        .execute(params![id.system, id.name, id.parent])
        .map(drop)
}

/// Every spawned unnamed instance of `system`.
pub(super) fn spawned(connection: &Connection, system: &str) -> Result<Vec<actors::ActorId>, StoreError> {
    let mut statement = connection.prepare_cached("SELECT name, parent FROM spawned_actor WHERE system = ?1")?;
    let rows = statement.query_map(params![system], |row| {
        Ok(actors::ActorId { name: row.get(0)?, system: system.to_owned(), parent: row.get(1)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Keeps a call scheduled for `due_ms` (Unix ms) to `actor`: `request` is its encoded
/// `InvocationRequest`. Returns its id. Sealed, the request is bound to that id, which
/// the insert gives: it is written empty first, then sealed, so that no plain copy of it
/// is left in the page.
pub(super) fn schedule_call(db: Db, system: &str, actor: &str, due_ms: i64, request: &[u8]) -> rusqlite::Result<i64> {
    let placeholder: &[u8] = if db.sealing.current.is_some() { &[] } else { request };
    db.sql
        .prepare_cached("INSERT INTO scheduled_call (system, actor, due_ms, request) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![system, actor, due_ms, placeholder])?;
    let id = db.sql.last_insert_rowid();
    if db.sealing.current.is_some() {
        let sealed = db.sealing.seal(request.to_vec(), &Row::Call { id, system, actor, due_ms });
        db.sql.prepare_cached("UPDATE scheduled_call SET request = ?2 WHERE id = ?1")?.execute(params![id, sealed])?;
    }
    Ok(id)
}

/// The encoded request of scheduled call `id`, if it is still kept.
pub(super) fn scheduled_call(db: Db, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
    let row = db
        .sql
        .prepare_cached("SELECT system, actor, due_ms, request FROM scheduled_call WHERE id = ?1")?
        .query_row(params![id], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?, row.get::<_, Vec<u8>>(3)?))
        })
        .optional()?;
    row.map(|(system, actor, due_ms, request)| {
        let row = Row::Call { id, system: &system, actor: &actor, due_ms };
        Ok(db.sealing.open_row(&request, &row)?.into_owned())
    })
    .transpose()
}

/// Every scheduled call of `system` kept: id, actor and due time (Unix ms).
pub(super) fn scheduled_calls(connection: &Connection, system: &str) -> rusqlite::Result<Vec<(i64, String, i64)>> {
    let mut statement =
        connection.prepare_cached("SELECT id, actor, due_ms FROM scheduled_call WHERE system = ?1 ORDER BY due_ms")?;
    let rows = statement.query_map(params![system], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    rows.collect()
}

/// Forgets scheduled call `id` (it ran, or cannot run).
pub(super) fn forget_scheduled(connection: &Connection, id: i64) -> rusqlite::Result<()> {
    connection.prepare_cached("DELETE FROM scheduled_call WHERE id = ?1")?.execute(params![id]).map(drop)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::super::sealing::Sealing;
    use super::*;

    fn key() -> StateKey {
        StateKey { system: "s".into(), name: "a".into(), parent: String::new() }
    }

    fn state(seq: i64, revision: i64, tag: &str) -> StoredState {
        let tags = [("t".to_owned(), tag.to_owned())].into();
        let value = prost_types::Any { type_url: "type.googleapis.com/x.Y".into(), value: vec![revision as u8] };
        StoredState { state: Some(value), tags, revision, seq }
    }

    fn revisions(db: Db) -> Vec<i64> {
        history(db, &key()).unwrap().into_iter().map(|revision| revision.revision).collect()
    }

    #[test]
    fn a_ring_keeps_the_last_saves_and_a_restore_is_a_new_revision() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::schema::prepare(&mut connection).unwrap();
        super::super::schema::size_rings(&mut connection, 3).unwrap();
        let plain = Sealing::plain();
        let db = Db { sql: &connection, sealing: &plain };
        save(db, &key(), &state(1, 1, "a"), 3).unwrap();
        // Tags alone changed: the same revision and save, replaced.
        save(db, &key(), &state(1, 1, "b"), 3).unwrap();
        assert_eq!(revisions(db), [1]);
        assert_eq!(load(db, &key()).unwrap().unwrap().tags["t"], "b");
        // Revisions skipped by write-behind do not count: the last three saves are kept.
        for (seq, revision) in [(2, 4), (3, 9), (4, 10)] {
            save(db, &key(), &state(seq, revision, "c"), 3).unwrap();
        }
        assert_eq!(revisions(db), [10, 9, 4]);
        assert_eq!(load(db, &key()).unwrap().unwrap().revision, 10);
        assert!(revision(db, &key(), Some(1)).unwrap().is_none(), "pruned");

        let restored = restore(db, &key(), 4, 3).unwrap().unwrap();
        assert_eq!((restored.revision, restored.seq, &restored.state), (11, 5, &state(2, 4, "c").state));
        assert_eq!(revisions(db), [11, 10, 9]);
        assert_eq!(load(db, &key()).unwrap().unwrap(), restored);
        assert!(restore(db, &key(), 4, 3).unwrap().is_none(), "4 was pruned by the restore's own save");
    }
}
