//! The state store encrypted at rest (`SPAWN_STATESTORE_KEY`), its online backup and its
//! verification, against the real binary and the real SQLite files: nothing readable in the
//! data directory, a missing or wrong key refused with the files unchanged, a row copied to
//! another actor refused, a backup under load holding every acknowledged checkpoint, an
//! interrupted encryption pass resumed, and a rotation read through while it runs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Request};
use spawn_wasm_host::protocol::spawn::actors;
use spawn_wasm_host::runtime::store::{StateKey, StateStore, StoreKey, StoreKeys, StoredState, verify};
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");
const KEY: &str = "uWnMotiVC+MS8pvatoDnPNTK9j1WguXditoBoAnKilM=";
const OTHER_KEY: &str = "MadIhviiZGtWFbS/s1xFOqF0xMGKAYynvFjeBZytZCY=";
const THIRD_KEY: &str = "XBbgmusN9cTv/6GRyydUBB3LQskKfTbJXzfdP250jkg=";

/// Every file under `dir` (the lock file aside: it holds the pid of the last host), with
/// its contents.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else if path.file_name().is_some_and(|name| name != "spawn-wasm.lock") {
            // A WAL file may go as its last connection closes.
            if let Ok(bytes) = std::fs::read(&path) {
                found.insert(path, bytes);
            }
        }
    }
    found
}

/// Asserts that `after` holds the same files, with the same contents, as `before`; names the
/// first difference. SQLite's shared-memory index (`-shm`, which holds no data) is left out:
/// a reader of a WAL creates it when a killed or stopped host left none.
fn assert_same_files(after: &BTreeMap<PathBuf, Vec<u8>>, before: &BTreeMap<PathBuf, Vec<u8>>, what: &str) {
    let data = |files: &BTreeMap<PathBuf, Vec<u8>>| {
        files
            .iter()
            .filter(|(path, _)| !path.to_string_lossy().ends_with("-shm"))
            .map(|(path, bytes)| (path.clone(), bytes.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (after, before) = (&data(after), &data(before));
    let names = |files: &BTreeMap<PathBuf, Vec<u8>>| {
        files.iter().map(|(path, bytes)| (path.clone(), bytes.len())).collect::<Vec<_>>()
    };
    assert_eq!(names(after), names(before), "{what}");
    for (path, bytes) in after {
        let offset = bytes.iter().zip(&before[path]).position(|(a, b)| a != b);
        assert_eq!(offset, None, "{what}: {} differs at byte {offset:?}", path.display());
    }
}

/// The files of `dir` that contain `needle`.
fn holding(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let needle = needle.as_bytes();
    files(dir)
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|window| window == needle))
        .map(|(path, _)| path)
        .collect()
}

/// `spawn-wasm ARGS` with `env`, run to its end (killed, failing the test, after 60 s).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(SPAWN_WASM)
        .args(args)
        .env_remove("SPAWN_STATESTORE_KEY")
        .envs(env.iter().copied())
        .env("SPAWN_WASM_CACHE_DIR", code_cache())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("spawn-wasm {args:?} did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `spawn-wasm standalone` over `actors` and `data` with `env`, which must refuse to start:
/// returns what it printed.
fn refused_start(actors: &Path, data: &Path, env: &[(&str, &str)]) -> String {
    let (actors, data, port) = (actors.to_str().unwrap(), data.to_str().unwrap(), free_port().to_string());
    let output = run(&["standalone", "--actors", actors, "--data", data, "--port", &port], env);
    let printed = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "started: {printed}");
    printed
}

fn language(language: &str) -> Request {
    Request { language: language.into() }
}

fn counter_options() -> CallOptions {
    CallOptions { register_ref: "counters".into(), ..CallOptions::default() }
}

#[tokio::test]
async fn states_are_unreadable_at_rest_and_a_missing_or_wrong_key_is_refused_changing_nothing() {
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let marker = "zebra-quokka-7319";
    let key = [("SPAWN_STATESTORE_KEY", KEY)];
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &key).await;
    let client = &process.client;
    client.call_with("joe", "saveLanguage", Some(pack(&language(marker))), CallOptions::default()).await;
    // A call kept for later holds its payload too.
    let later = CallOptions { scheduled_to: now_ms() + 3_600_000, ..CallOptions::default() };
    client.call_with("joe", "setLanguage", Some(pack(&language(&format!("{marker}-later")))), later).await;
    assert_eq!(holding(data.path(), marker), Vec::<PathBuf>::new(), "while serving, WAL included");
    assert!(process.terminate().success());
    assert_eq!(holding(data.path(), marker), Vec::<PathBuf>::new(), "after a shutdown");
    assert!(!process.log().contains(KEY), "the key is never logged");

    let before = files(data.path());
    let no_key = refused_start(actors.path(), data.path(), &[]);
    assert!(no_key.contains("is encrypted") && no_key.contains("SPAWN_STATESTORE_KEY"), "{no_key}");
    let wrong = refused_start(actors.path(), data.path(), &[("SPAWN_STATESTORE_KEY", OTHER_KEY)]);
    assert!(wrong.contains("not this database's key") && !wrong.contains(OTHER_KEY), "{wrong}");
    let malformed = refused_start(actors.path(), data.path(), &[("SPAWN_STATESTORE_KEY", "c2hvcnQ=")]);
    assert!(malformed.contains("SPAWN_STATESTORE_KEY") && malformed.contains("32 bytes"), "{malformed}");
    assert!(!malformed.contains("c2hvcnQ="), "{malformed}");
    assert_same_files(&files(data.path()), &before, "refused starts leave every file as it was");

    // `verify` needs the key too, and changes nothing.
    let dir = data.path().to_str().unwrap();
    let unverified = run(&["verify", dir], &[]);
    assert!(!unverified.status.success());
    assert!(String::from_utf8_lossy(&unverified.stderr).contains("is encrypted"));
    let verified = run(&["verify", dir], &key);
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{report}{}", String::from_utf8_lossy(&verified.stderr));
    assert!(report.contains("encrypted: yes") && report.contains("scheduled calls: 1"), "{report}");
    assert_same_files(&files(data.path()), &before, "verify leaves every file as it was");

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &key).await;
    let state: JoeState = process.client.state("joe").await;
    assert_eq!(state.languages, [marker], "read back with the key");
}

#[tokio::test]
async fn a_state_copied_from_one_actor_to_another_is_refused_not_served() {
    let actors = actors_dir(&["joe", "counter"]);
    let data = tempfile::tempdir().unwrap();
    let key = [("SPAWN_STATESTORE_KEY", KEY)];
    let mut process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &key).await;
    process.client.call_with("joe", "saveLanguage", Some(pack(&language("secret"))), CallOptions::default()).await;
    let _: Counter = process.client.call("counter", "increment", &Increment { by: 1 }).await;
    assert!(process.terminate().success());
    let db = rusqlite::Connection::open(data.path().join("state.db")).unwrap();
    let copied = db
        .execute(
            "UPDATE actor_state SET state = (SELECT state FROM actor_state WHERE name = 'joe' ORDER BY seq DESC LIMIT 1)
             WHERE name = 'counter'",
            [],
        )
        .unwrap();
    assert!(copied >= 1);
    drop(db);

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &key).await;
    let (status, answer) = process.client.get_json("actors/counter/state").await;
    assert_ne!(status, StatusCode::OK, "{answer}");
    let message = answer["status"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("does not authenticate") && !message.contains("secret"), "{answer}");
    let state: JoeState = process.client.state("joe").await;
    assert_eq!(state.languages, ["secret"], "the original row still reads");
    let output = run(&["verify", data.path().to_str().unwrap()], &key);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("`counter`"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_every_acknowledged_checkpoint() {
    const ACTORS: usize = 8;
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let env = [("SPAWN_STATESTORE_KEY", KEY), ("SPAWN_WASM_TOKEN", "t0ken")];
    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &env).await;
    let acknowledged: Arc<Mutex<HashMap<usize, i64>>> = Arc::default();
    let running = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut load = Vec::new();
    for key in 0..ACTORS {
        let client = process.client.clone().with_token("t0ken");
        let (acknowledged, running) = (acknowledged.clone(), running.clone());
        load.push(tokio::spawn(async move {
            let options = counter_options();
            while running.load(std::sync::atomic::Ordering::Relaxed) {
                let request = client.request(
                    &format!("b-{key}"),
                    "incrementDurably",
                    Some(pack(&Increment { by: 1 })),
                    options.clone(),
                );
                if let Some(reply) = client.try_send(&request).await {
                    acknowledged.lock().unwrap().insert(key, unpack::<Counter>(&reply).value);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = process.client.base_url().to_owned();
    let copies = tempfile::tempdir().unwrap();
    let dest = copies.path().join("backup");
    let dest_text = dest.to_str().unwrap().to_owned();
    let unauthorised = run(&["backup", &dest_text, "--url", &url], &[]);
    assert!(!unauthorised.status.success() && !dest.exists(), "the backup route needs the token");
    let before_backup = acknowledged.lock().unwrap().clone();
    let output = run(&["backup", &dest_text, "--url", &url, "--token", "t0ken"], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    running.store(false, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    assert_eq!(before_backup.len(), ACTORS, "every actor acknowledged checkpoints before the backup");
    let again = run(&["backup", &dest_text, "--url", &url, "--token", "t0ken"], &[]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("not an empty directory"), "a backup never overwrites");
    let inside = data.path().join("copy");
    let refused = run(&["backup", inside.to_str().unwrap(), "--url", &url, "--token", "t0ken"], &[]);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("inside the data directory"));

    let verified = run(&["verify", &dest_text], &env[..1]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    let copy = HostProcess::standalone(SPAWN_WASM, actors.path(), &dest, &env[..1]).await;
    for (key, acked) in before_backup {
        let state = copy.client.call_with(&format!("b-{key}"), "get", None, counter_options()).await;
        let stored = state.map_or(0, |any| unpack::<Counter>(&any).value);
        assert!(stored >= acked, "b-{key}: the backup holds {stored}, acknowledged before it: {acked}");
    }
}

/// A plain data directory of `count` spawned `abs_actor` instances, each state holding
/// `marker`, written through the store as a host without a key writes it.
async fn plain_directory(dir: &Path, count: usize, marker: &str) {
    let store = StateStore::open(dir, false, 16).unwrap();
    let mut saves = Vec::new();
    for index in 0..count {
        let store = store.clone();
        let state = JoeState { languages: vec![format!("{marker}-{index}")] };
        saves.push(tokio::spawn(async move {
            let id = actors::ActorId { name: format!("j-{index}"), system: SYSTEM.into(), parent: "abs_actor".into() };
            store.record_spawn(id.clone()).await.unwrap();
            let state = StoredState { state: Some(pack(&state)), revision: 1, seq: 1, ..StoredState::default() };
            store.save(StateKey::of(&id), state).await.unwrap();
        }));
    }
    for save in saves {
        save.await.unwrap();
    }
}

/// How many states of `dir` are sealed, and how many in all (read beside a running host).
fn sealed_count(dir: &Path) -> (i64, i64) {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let db = rusqlite::Connection::open_with_flags(dir.join("state.db"), flags).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.query_row("SELECT SUM(substr(state, 1, 1) = x'F1'), COUNT(*) FROM actor_state", [], |row| {
        Ok((row.get::<_, Option<i64>>(0)?.unwrap_or(0), row.get(1)?))
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encryption_pass_killed_half_way_resumes_at_the_next_start() {
    const COUNT: usize = 40_000;
    let actors = actors_dir(&["joe"]);
    let data = tempfile::tempdir().unwrap();
    let marker = "plain-marker";
    plain_directory(data.path(), COUNT, marker).await;
    assert!(!holding(data.path(), marker).is_empty(), "a plain directory is readable");
    let key = [("SPAWN_STATESTORE_KEY", KEY)];
    // Killed as soon as the pass is seen under way (it starts when the store opens).
    let mut child = Command::new(SPAWN_WASM)
        .args(["standalone", "--actors", actors.path().to_str().unwrap(), "--data", data.path().to_str().unwrap()])
        .args(["--port", &free_port().to_string()])
        .env("SPAWN_STATESTORE_KEY", KEY)
        .env("SPAWN_WASM_CACHE_DIR", code_cache())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while sealed_count(data.path()).0 == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "the pass never started");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let (sealed, total) = sealed_count(data.path());
    assert!(sealed > 0 && sealed < total, "killed half-way: {sealed} of {total} sealed");

    let process = HostProcess::standalone(SPAWN_WASM, actors.path(), data.path(), &key).await;
    let started = Instant::now();
    while !process.log().contains("the state store is encrypted with the current key") {
        assert!(started.elapsed() < Duration::from_secs(60), "the pass did not end: {}", process.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sealed_count(data.path()), (COUNT as i64, COUNT as i64));
    for index in [0, COUNT / 2, COUNT - 1] {
        let state = process.client.call_with(&format!("j-{index}"), "get", None, joe_options()).await;
        let state = unpack::<JoeState>(&state.expect("a state"));
        assert_eq!(state.languages, [format!("{marker}-{index}")]);
    }
    let (status, log) = process.terminate_and_log();
    assert!(status.success(), "{log}");
    assert_eq!(holding(data.path(), marker), Vec::<PathBuf>::new(), "no plain value left in any file");
}

fn joe_options() -> CallOptions {
    CallOptions { register_ref: "abs_actor".into(), ..CallOptions::default() }
}

fn store_key(text: &str) -> StoreKey {
    StoreKey::from_base64(text, "test").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_reseals_every_value_while_reads_go_on() {
    const COUNT: usize = 3_000;
    let data = tempfile::tempdir().unwrap();
    let first = StoreKeys { current: Some(store_key(KEY)), previous: None };
    let store = StateStore::open_with_keys(data.path(), false, 4, &first).unwrap();
    let key_of = |index: usize| StateKey { system: SYSTEM.into(), name: format!("r-{index}"), parent: String::new() };
    let value = |index: usize, revision: i64| StoredState {
        state: Some(pack(&Counter { value: index as i64 * 10 + revision })),
        revision,
        seq: revision,
        ..StoredState::default()
    };
    for revision in 1..=2 {
        for index in 0..COUNT {
            store.save(key_of(index), value(index, revision)).await.unwrap();
        }
    }
    let call = store.schedule_call(SYSTEM, "r-0", now_ms() + 60_000, b"\x1a\x03get".to_vec()).await.unwrap();
    drop(store);

    let rotating = StoreKeys { current: Some(store_key(OTHER_KEY)), previous: Some(store_key(KEY)) };
    let store = StateStore::open_with_keys(data.path(), false, 4, &rotating).unwrap();
    // Every state reads during the pass, from either key.
    for index in 0..COUNT {
        let loaded = store.load(key_of(index)).await.unwrap().unwrap();
        assert_eq!(loaded, value(index, 2));
    }
    let history = store.history(key_of(7)).await.unwrap();
    assert_eq!(history.len(), 2, "older revisions are resealed too");
    let new_only = StoreKeys { current: Some(store_key(OTHER_KEY)), previous: None };
    let started = Instant::now();
    while verify(data.path(), &new_only).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the rotation did not end");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(store);
    let report = verify(data.path(), &new_only).unwrap();
    assert_eq!((report.states, report.failed, report.sealed_by_previous, report.plain), (COUNT * 2, 0, 0, 0));

    let store = StateStore::open_with_keys(data.path(), false, 4, &new_only).unwrap();
    assert_eq!(store.load(key_of(COUNT - 1)).await.unwrap().unwrap(), value(COUNT - 1, 2));
    assert_eq!(store.revision(key_of(3), Some(1)).await.unwrap().unwrap().stored, value(3, 1));
    assert_eq!(store.scheduled_call(call).await.unwrap().unwrap(), b"\x1a\x03get");
    drop(store);
    let old = StoreKeys { current: Some(store_key(KEY)), previous: None };
    let error = StateStore::open_with_keys(data.path(), false, 4, &old).err().unwrap().to_string();
    assert!(error.contains("not this database's key"), "{error}");
    // A rotation asked from a key that is not the database's is refused too.
    let unrelated = StoreKeys { current: Some(store_key(THIRD_KEY)), previous: Some(store_key(KEY)) };
    assert!(StateStore::open_with_keys(data.path(), false, 4, &unrelated).is_err());
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}
