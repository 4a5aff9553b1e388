//! The database's schema, and the migrations that bring an older database to it.
//!
//! `PRAGMA user_version` holds the schema version. Version 0 is the first one (a database
//! that never had a version): one row per actor, its current state only. Version 1 keeps
//! each actor's last revisions in a ring of `keep` slots: its `seq`-th save goes to slot
//! `seq % keep`, overwriting the oldest in place (the actor counts its saves, so a save is
//! one upsert by primary key, as before history; an insert plus a prune cost a checkpointed
//! call 40 %), and the highest `seq` is the current state. `store_setting` remembers `keep`, so that a new `--state-history`
//! re-slots the rings once, at open. Version 2 adds `scheduled_call`: the calls scheduled for
//! later, kept until they ran, so that an acknowledged one survives a restart. Version 3 adds
//! `store_secret`, whose `key-check` row says which keys sealed the values ([`super::keys`]).

use rusqlite::{Connection, OptionalExtension};

use super::types::StoreError;

/// The schema this build writes.
pub(super) const VERSION: i64 = 3;

const REVISIONS: &str = "CREATE TABLE actor_state (
         system TEXT NOT NULL,
         name TEXT NOT NULL,
         parent TEXT NOT NULL,
         slot INTEGER NOT NULL,
         seq INTEGER NOT NULL,
         revision INTEGER NOT NULL,
         state BLOB NOT NULL,
         updated_at_ms INTEGER NOT NULL,
         PRIMARY KEY (system, name, parent, slot)
     ) WITHOUT ROWID;
     CREATE TABLE store_setting (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;";

const SPAWNED: &str = "CREATE TABLE IF NOT EXISTS spawned_actor (
         system TEXT NOT NULL,
         name TEXT NOT NULL,
         parent TEXT NOT NULL,
         PRIMARY KEY (system, name)
     ) WITHOUT ROWID;";

const SCHEDULED: &str = "CREATE TABLE IF NOT EXISTS scheduled_call (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         system TEXT NOT NULL,
         actor TEXT NOT NULL,
         due_ms INTEGER NOT NULL,
         request BLOB NOT NULL
     );";

const SECRET: &str =
    "CREATE TABLE IF NOT EXISTS store_secret (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID;";

/// Creates the schema, or migrates an older database to it, in one transaction: a
/// migration interrupted half-way leaves the database as it was.
pub(super) fn prepare(connection: &mut Connection) -> Result<(), StoreError> {
    let transaction = connection.transaction()?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > VERSION {
        return Err(StoreError::NewerSchema { found: version, known: VERSION });
    }
    if version < 1 {
        if table_exists(&transaction, "actor_state")? {
            // Version 0: the current states become each actor's only revision.
            transaction.execute_batch("ALTER TABLE actor_state RENAME TO actor_state_v0;")?;
            transaction.execute_batch(REVISIONS)?;
            transaction.execute_batch(
                "INSERT INTO actor_state (system, name, parent, slot, seq, revision, state, updated_at_ms)
                     SELECT system, name, parent, 1, 1, revision, state, updated_at_ms FROM actor_state_v0;
                 DROP TABLE actor_state_v0;",
            )?;
        } else {
            transaction.execute_batch(REVISIONS)?;
        }
        transaction.execute_batch(SPAWNED)?;
    }
    if version < 2 {
        transaction.execute_batch(SCHEDULED)?;
    }
    if version < 3 {
        transaction.execute_batch(SECRET)?;
    }
    if version < VERSION {
        transaction.pragma_update(None, "user_version", VERSION)?;
    }
    transaction.commit()?;
    Ok(())
}

/// Makes the rings `keep` slots long (at least one: the current state) if they are not:
/// each actor keeps its newest `keep` revisions, each in slot `seq % keep`. Runs only when
/// `keep` changed since the last open (or after a migration), in one transaction.
pub(super) fn size_rings(connection: &mut Connection, keep: u32) -> Result<(), StoreError> {
    let keep = i64::from(keep.max(1));
    let transaction = connection.transaction()?;
    let sized: Option<i64> = transaction
        .query_row("SELECT value FROM store_setting WHERE name = 'keep'", [], |row| row.get(0))
        .optional()?;
    if sized == Some(keep) {
        return Ok(());
    }
    // A ring's seqs are consecutive: the newest `keep` are those within `keep` of its last.
    transaction.execute(
        "DELETE FROM actor_state AS old WHERE seq <= (
             SELECT MAX(seq) FROM actor_state AS newest
             WHERE newest.system = old.system AND newest.name = old.name AND newest.parent = old.parent) - ?1",
        [keep],
    )?;
    // Through negative slots, so that no row lands on a slot another has not left yet.
    transaction.execute_batch("UPDATE actor_state SET slot = -1 - slot")?;
    transaction.execute("UPDATE actor_state SET slot = seq % ?1", [keep])?;
    transaction.execute("INSERT OR REPLACE INTO store_setting (name, value) VALUES ('keep', ?1)", [keep])?;
    transaction.commit()?;
    Ok(())
}

/// Whether `connection`'s database has the table `name` (an older schema may not).
pub(super) fn table_exists(connection: &Connection, name: &str) -> rusqlite::Result<bool> {
    connection
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
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
        connection.execute("INSERT INTO actor_state VALUES ('s', 'a', '', 1, 1, 3, x'', 7)", []).unwrap();
        prepare(&mut connection).unwrap();
        let count: i64 = connection.query_row("SELECT COUNT(*) FROM actor_state", [], |row| row.get(0)).unwrap();
        assert_eq!(count, 1);
    }
}

#[cfg(test)]
mod ring_tests {
    use super::*;

    fn revisions(connection: &Connection) -> Vec<(i64, i64, i64)> {
        let mut statement =
            connection.prepare("SELECT slot, seq, revision FROM actor_state WHERE name = 'a' ORDER BY seq").unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn a_new_length_keeps_the_newest_revisions_each_in_its_slot() {
        let mut connection = Connection::open_in_memory().unwrap();
        prepare(&mut connection).unwrap();
        size_rings(&mut connection, 5).unwrap();
        // seqs 6..=10 in a ring of 5; revisions skip (write-behind stores some only).
        for seq in 6..=10 {
            connection
                .execute("INSERT INTO actor_state VALUES ('s', 'a', '', ?1 % 5, ?1, ?1 * 2, x'', 0)", [seq])
                .unwrap();
        }
        size_rings(&mut connection, 3).unwrap();
        assert_eq!(revisions(&connection), [(8 % 3, 8, 16), (9 % 3, 9, 18), (10 % 3, 10, 20)]);
        size_rings(&mut connection, 0).unwrap();
        assert_eq!(revisions(&connection), [(0, 10, 20)], "0 keeps the current state");
        size_rings(&mut connection, 16).unwrap();
        assert_eq!(revisions(&connection), [(10, 10, 20)]);
    }
}
