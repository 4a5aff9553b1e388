//! The database's schema, and the migrations that bring an older database to it.
//!
//! `PRAGMA user_version` holds the schema version. Version 0 is the first one (a database
//! that never had a version): one row per actor, its current state only. Version 1 keeps
//! each actor's last revisions, one row each, the newest being the current state.

use rusqlite::{Connection, OptionalExtension};

use super::types::StoreError;

/// The schema this build writes.
pub(super) const VERSION: i64 = 1;

const REVISIONS: &str = "CREATE TABLE actor_state (
         system TEXT NOT NULL,
         name TEXT NOT NULL,
         parent TEXT NOT NULL,
         revision INTEGER NOT NULL,
         state BLOB NOT NULL,
         updated_at_ms INTEGER NOT NULL,
         PRIMARY KEY (system, name, parent, revision)
     ) WITHOUT ROWID;";

const SPAWNED: &str = "CREATE TABLE IF NOT EXISTS spawned_actor (
         system TEXT NOT NULL,
         name TEXT NOT NULL,
         parent TEXT NOT NULL,
         PRIMARY KEY (system, name)
     ) WITHOUT ROWID;";

/// Creates the schema, or migrates an older database to it, in one transaction: a
/// migration interrupted half-way leaves the database as it was.
pub(super) fn prepare(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction()?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > VERSION {
        return Err(StoreError::NewerSchema { found: version, known: VERSION });
    }
    if version < VERSION {
        let exists = transaction
            .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'actor_state'", [], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            // Version 0: the current states become each actor's only revision.
            transaction.execute_batch("ALTER TABLE actor_state RENAME TO actor_state_v0;")?;
            transaction.execute_batch(REVISIONS)?;
            transaction.execute_batch(
                "INSERT INTO actor_state (system, name, parent, revision, state, updated_at_ms)
                     SELECT system, name, parent, revision, state, updated_at_ms FROM actor_state_v0;
                 DROP TABLE actor_state_v0;",
            )?;
        } else {
            transaction.execute_batch(REVISIONS)?;
        }
        transaction.execute_batch(SPAWNED)?;
        transaction.pragma_update(None, "user_version", VERSION)?;
    }
    transaction.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused_and_left_alone() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.pragma_update(None, "user_version", VERSION + 1).unwrap();
        let error = prepare(&mut connection).unwrap_err();
        assert!(matches!(error, StoreError::NewerSchema { found, known } if found == VERSION + 1 && known == VERSION));
    }

    #[test]
    fn preparing_twice_changes_nothing() {
        let mut connection = Connection::open_in_memory().unwrap();
        prepare(&mut connection).unwrap();
        connection.execute("INSERT INTO actor_state VALUES ('s', 'a', '', 3, x'', 7)", []).unwrap();
        prepare(&mut connection).unwrap();
        let count: i64 = connection.query_row("SELECT COUNT(*) FROM actor_state", [], |row| row.get(0)).unwrap();
        assert_eq!(count, 1);
    }
}
