//! State history and restore end to end: the real binary (`--state-history` through its
//! environment variable), its HTTP routes and its command line, the real SQLite store, and
//! the `counter` example.

use std::process::Command;

use axum::http::StatusCode;
use domain::{Counter, Increment};
use prost::Message;
use serde_json::{Value, json};
use spawn_wasm_host::protocol::spawn::actors;
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

/// `spawn-wasm ARGS --url URL` against `process`; returns its output.
async fn cli(process: &HostProcess, args: &[&str]) -> std::process::Output {
    let url = process.client.base_url().to_owned();
    let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(SPAWN_WASM).args(&args).args(["--url", &url]).output().unwrap())
        .await
        .unwrap()
}

fn stdout_json(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn increment(client: &ClientApi, actor: &str) -> i64 {
    client.call::<_, Counter>(actor, "increment", &Increment { by: 1 }).await.value
}

/// The current state (`GET .../state`), which stores a pending change first.
async fn current(client: &ClientApi, actor: &str) -> Value {
    let (status, state) = client.get_json(&format!("actors/{actor}/state")).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    state
}

async fn history(client: &ClientApi, actor: &str) -> Vec<i64> {
    let (status, history) = client.get_json(&format!("actors/{actor}/state/history")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    history["revisions"].as_array().unwrap().iter().map(|revision| revision["revision"].as_i64().unwrap()).collect()
}

fn counter_value(state: &Value) -> i64 {
    assert_eq!(state["state"]["@type"], "type.googleapis.com/domain.Counter", "{state}");
    // A zero field may be left out, as protobuf JSON does.
    state["state"].get("value").map_or(0, |value| value.as_i64().unwrap())
}

async fn restore(client: &ClientApi, actor: actors::ActorId, revision: i64) -> (StatusCode, Value) {
    let request = json!({"actors": [{"name": actor.name, "system": actor.system, "parent": actor.parent}]});
    client.post_json(&format!("actors/spawn?revision={revision}"), &request).await
}

fn named(name: &str) -> actors::ActorId {
    actors::ActorId { name: name.into(), system: SYSTEM.into(), parent: String::new() }
}

#[tokio::test]
async fn history_is_kept_pruned_at_n_and_restored_over_http() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let process =
        HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("SPAWN_WASM_STATE_HISTORY", "4")]).await;
    let client = &process.client;
    // Each read stores the pending change: six increments, six revisions.
    for expected in 1..=6 {
        assert_eq!(increment(client, "counter").await, expected);
        let state = current(client, "counter").await;
        assert_eq!((state["revision"].as_i64(), counter_value(&state)), (Some(expected), expected));
        assert!(state["time_ms"].as_i64().unwrap() > 0);
    }
    // Four kept, newest first; the oldest pruned as the newer ones were written.
    let (_, listing) = client.get_json("actors/counter/state/history").await;
    let revisions = listing["revisions"].as_array().unwrap();
    assert_eq!(revisions.iter().map(|r| r["revision"].as_i64().unwrap()).collect::<Vec<_>>(), [6, 5, 4, 3]);
    for revision in revisions {
        assert_eq!(revision["type_url"], "type.googleapis.com/domain.Counter");
        assert_eq!(revision["size"].as_u64().unwrap() as usize, Counter { value: 6 }.encoded_len());
    }
    let (status, old) = client.get_json("actors/counter/state?revision=4").await;
    assert_eq!((status, counter_value(&old)), (StatusCode::OK, 4));

    // A pruned revision and a revision never written: 404 with a clear message.
    for missing in [2, 99] {
        let (status, answer) = client.get_json(&format!("actors/counter/state?revision={missing}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let message = answer["status"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("revision {missing} of `counter` is not kept")), "{message}");
        let (status, answer) = restore(client, named("counter"), missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    }
    assert_eq!(current(client, "counter").await["revision"], 6, "a refused restore changes nothing");

    // Restore 4: a new revision, 7, holding revision 4's state; the next turn sees it.
    let (status, answer) = restore(client, named("counter"), 4).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let state = current(client, "counter").await;
    assert_eq!((state["revision"].as_i64(), counter_value(&state)), (Some(7), 4));
    assert_eq!(increment(client, "counter").await, 5);
    // The restore is itself a revision: undone by restoring the one before it.
    assert_eq!(history(client, "counter").await, [8, 7, 6, 5]);
    let (status, _) = restore(client, named("counter"), 6).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(counter_value(&current(client, "counter").await), 6);
    assert_eq!(increment(client, "counter").await, 7);

    // Unknown actor, unknown system, malformed revision.
    let (status, answer) = client.get_json("actors/nobody/state").await;
    assert_eq!((status, answer["status"]["status"].as_str()), (StatusCode::NOT_FOUND, Some("ACTOR_NOT_FOUND")));
    assert_eq!(client.get_json("actors/nobody/state/history").await.0, StatusCode::NOT_FOUND);
    assert_eq!(restore(client, named("nobody"), 1).await.0, StatusCode::NOT_FOUND);
    let (status, answer) = client.clone().in_system("other").get_json("actors/counter/state").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = client.get_json("actors/counter/state?revision=two").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(answer["status"]["message"].as_str().unwrap().contains("integer"), "{answer}");
}

#[tokio::test]
async fn an_unsaved_change_is_a_revision_before_a_restore_replaces_it() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let client = &process.client;
    // An unnamed instance (its `init` stores 0 on activation), restored by its instance name
    // through the SpawnRequest that names its parent, as the Spawn SDKs send it.
    let instance = actors::ActorId { name: "c-restore".into(), system: SYSTEM.into(), parent: "counters".into() };
    assert_eq!(client.spawn(&instance.name, &instance.parent).await.0, StatusCode::OK);
    increment(client, "c-restore").await;
    let first = current(client, "c-restore").await["revision"].as_i64().unwrap();
    // Two more increments, not yet snapshotted (write-behind, 2 s) when the restore comes.
    increment(client, "c-restore").await;
    increment(client, "c-restore").await;
    let (status, answer) = restore(client, instance, first).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let revisions = history(client, "c-restore").await;
    let replaced = revisions[1];
    let (_, before) = client.get_json(&format!("actors/c-restore/state?revision={replaced}")).await;
    assert_eq!(counter_value(&before), 3, "the change the restore replaced is kept, so it can be undone");
    assert_eq!(counter_value(&current(client, "c-restore").await), 1);
    assert_eq!(increment(client, "c-restore").await, 2);
}

#[tokio::test]
async fn zero_history_keeps_only_the_current_state() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let process =
        HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[("SPAWN_WASM_STATE_HISTORY", "0")]).await;
    let client = &process.client;
    for _ in 0..3 {
        increment(client, "counter").await;
        current(client, "counter").await;
    }
    assert_eq!(history(client, "counter").await, [3]);
    assert_eq!(restore(client, named("counter"), 2).await.0, StatusCode::NOT_FOUND);
    let state = current(client, "counter").await;
    assert_eq!((state["revision"].as_i64(), counter_value(&state)), (Some(3), 3));
}

#[tokio::test]
async fn the_command_line_lists_prints_and_restores_revisions() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let client = &process.client;
    for _ in 0..3 {
        increment(client, "counter").await;
        current(client, "counter").await;
    }
    let output = cli(&process, &["state", "counter", "--history"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let table = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("REVISION"), "{table}");
    let listed: Vec<&str> = lines[1..].iter().map(|line| line.split_whitespace().next().unwrap()).collect();
    assert_eq!(listed, ["3", "2", "1"], "{table}");
    assert!(lines[1].ends_with("domain.Counter"), "{table}");

    let revision = stdout_json(&cli(&process, &["state", "counter", "--revision", "2"]).await);
    assert_eq!((revision["revision"].as_i64(), counter_value(&revision)), (Some(2), 2));

    let output = cli(&process, &["restore", "counter", "1"]).await;
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let said = String::from_utf8(output.stdout).unwrap();
    assert!(said.starts_with("restored revision 1 of counter as revision 4"), "{said}");
    let state = stdout_json(&cli(&process, &["state", "counter"]).await);
    assert_eq!((state["revision"].as_i64(), counter_value(&state)), (Some(4), 1));
    assert_eq!(increment(client, "counter").await, 2, "the next turn sees the restored state");

    let output = cli(&process, &["restore", "counter", "40"]).await;
    spawn_wasm_tests::assert_refused(&output, &["revision 40 of `counter` is not kept", "404"]);
    let output = cli(&process, &["state", "nobody", "--history"]).await;
    assert!(String::from_utf8_lossy(&output.stderr).contains("Actor nobody not found"));
}

/// A database written by the previous version (one row per actor, no schema version) opens
/// with its states, which become each actor's first kept revision.
#[tokio::test]
async fn a_database_of_the_previous_version_keeps_its_states() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    {
        // The previous version's schema, as it created it.
        let db = rusqlite::Connection::open(data.path().join("state.db")).unwrap();
        db.execute_batch(
            "CREATE TABLE actor_state (
                 system TEXT NOT NULL, name TEXT NOT NULL, parent TEXT NOT NULL, state BLOB NOT NULL,
                 revision INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL,
                 PRIMARY KEY (system, name, parent)
             ) WITHOUT ROWID;
             CREATE TABLE spawned_actor (
                 system TEXT NOT NULL, name TEXT NOT NULL, parent TEXT NOT NULL, PRIMARY KEY (system, name)
             ) WITHOUT ROWID;",
        )
        .unwrap();
        let state = actors::ActorState { tags: Default::default(), state: Some(pack(&Counter { value: 41 })) };
        db.execute(
            "INSERT INTO actor_state VALUES (?1, 'counter', '', ?2, 7, 1700000000000)",
            rusqlite::params![SYSTEM, state.encode_to_vec()],
        )
        .unwrap();
        db.execute("INSERT INTO spawned_actor VALUES (?1, 'c-old', 'counters')", [SYSTEM]).unwrap();
    }
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &[]).await;
    let client = &process.client;
    let state = current(client, "counter").await;
    assert_eq!(
        (state["revision"].as_i64(), state["time_ms"].as_i64(), counter_value(&state)),
        (Some(7), Some(1_700_000_000_000), 41)
    );
    assert_eq!(increment(client, "counter").await, 42);
    assert_eq!(current(client, "counter").await["revision"], 8);
    assert_eq!(history(client, "counter").await, [8, 7]);
    assert_eq!(increment(client, "c-old").await, 1, "the spawned instance survived the migration");
}
