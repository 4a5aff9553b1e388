//! The state store when SQLite fails: what a caller is told matches what is on disk. The
//! failures are injected into the real database through a connection of the test's own,
//! as SQLite itself would meet them: a trigger that fails or rolls back a write, a write
//! lock held by another connection.

use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use spawn_wasm_host::runtime::store::{StateKey, StateStore, StoredState};
use spawn_wasm_tests::*;
use tokio::task::JoinHandle;

/// Another connection to the store's database in `data`, with a trigger that runs
/// `action` (e.g. `RAISE(ROLLBACK, ...)`) on every insert into `table` of a name starting
/// with `doomed`.
fn database(data: &Path, table: &str, action: &str) -> rusqlite::Connection {
    let connection = rusqlite::Connection::open(data.join("state.db")).unwrap();
    connection.busy_timeout(Duration::from_secs(5)).unwrap();
    connection
        .execute_batch(&format!(
            "CREATE TRIGGER doom BEFORE INSERT ON {table} WHEN NEW.name LIKE 'doomed%' BEGIN SELECT {action}; END;"
        ))
        .unwrap();
    connection
}

/// Takes the write lock of `db` and starts `write(attempt)`, until that write waits for
/// the lock (SQLite sometimes answers "locked" at once instead of waiting: then again, at
/// most 10 times). Returns with the lock held: the store's thread is busy with that write
/// until the test commits.
async fn while_a_write_waits<T>(
    db: &rusqlite::Connection,
    mut write: impl FnMut(usize) -> JoinHandle<T>,
) -> (usize, JoinHandle<T>) {
    for attempt in 0..10 {
        db.execute_batch("BEGIN IMMEDIATE").unwrap();
        let waiting = write(attempt);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if !waiting.is_finished() {
            return (attempt, waiting);
        }
        db.execute_batch("COMMIT").unwrap();
    }
    panic!("no write ever waited for the test's lock");
}

fn key(name: &str) -> StateKey {
    StateKey { system: SYSTEM.into(), name: name.into(), parent: String::new() }
}

/// SQLite rolls a batch's transaction back in the middle (as on an I/O error; here a
/// trigger's `RAISE(ROLLBACK)`): the saves before it are not on disk and are reported
/// failed; the saves after it are stored and reported stored.
#[tokio::test]
async fn when_sqlite_rolls_a_batch_back_each_save_reports_what_is_on_disk() {
    let data = tempfile::tempdir().unwrap();
    let store = StateStore::open(data.path(), false, 16).unwrap();
    let db = database(data.path(), "actor_state", "RAISE(ROLLBACK, 'injected failure')");
    let save = |name: String| {
        let store = store.clone();
        tokio::spawn(async move { store.save(key(&name), StoredState { revision: 1, ..StoredState::default() }).await })
    };
    // While the store's thread waits on a first save, the next ones queue up, to run in
    // one batch in this order.
    let (attempt, first) = while_a_write_waits(&db, |attempt| save(format!("first-{attempt}"))).await;
    let names = ["before", "doomed", "after"].map(|name| format!("{name}-{attempt}"));
    let mut saves = Vec::new();
    for name in &names {
        saves.push(save(name.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    db.execute_batch("COMMIT").unwrap();
    assert!(first.await.unwrap().is_ok());
    for (name, save) in names.iter().zip(saves) {
        let reported = save.await.unwrap();
        let stored = store.load(key(name)).await.unwrap().is_some();
        assert_eq!(reported.is_ok(), stored, "`{name}`: reported {reported:?}, on disk: {stored}");
    }
    assert!(store.load(key(&names[1])).await.unwrap().is_none());
    assert!(store.load(key(&names[2])).await.unwrap().is_some(), "a later save is not lost with the batch");
}

/// Two concurrent spawns of one name: the second is not answered before the first one's
/// write is stored, and when that write fails, neither succeeds.
#[tokio::test]
async fn a_concurrent_spawn_is_not_answered_before_the_instance_is_stored() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let db = database(data.path(), "spawned_actor", "RAISE(ABORT, 'injected failure')");
    let spawn = |name: String| {
        let client = harness.client.clone();
        tokio::spawn(async move { client.spawn(&name, "counters").await.0 })
    };
    let (attempt, first) = while_a_write_waits(&db, |attempt| spawn(format!("doomed-{attempt}"))).await;
    let name = format!("doomed-{attempt}");
    let mut second = spawn(name.clone());
    // Before the first write's fate is known, the second spawn must not be answered Ok.
    let early = tokio::time::timeout(Duration::from_millis(500), &mut second).await;
    db.execute_batch("COMMIT").unwrap();
    let second = match early {
        Ok(answered) => answered.unwrap(),
        Err(_) => second.await.unwrap(),
    };
    assert_ne!(first.await.unwrap(), StatusCode::OK);
    assert_ne!(second, StatusCode::OK, "the second spawn relied on a write that failed");
    let increment =
        harness.client.request(&name, "increment", Some(pack(&domain::Increment { by: 1 })), CallOptions::default());
    assert_eq!(harness.client.send(&increment).await.0, StatusCode::NOT_FOUND, "no instance was stored");
    harness.stop().await;
}
