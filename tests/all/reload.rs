//! Hot reload: components added, replaced, corrupted and deleted while calls run, in both
//! modes, with no call failing because of a swap.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, Reply, Request};
use spawn_wasm_host::modules::set::ModuleSet;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::wasm::cache::CodeCache;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::{content_digest, short_hash};
use spawn_wasm_tests::*;

fn example(name: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(format!("{name}.wasm"))).unwrap()
}

/// The same component with a custom section appended: other bytes, same behaviour.
fn new_version(mut component: Vec<u8>, tag: u8) -> Vec<u8> {
    component.extend_from_slice(&[0x00, 0x05, 0x04, b's', b'p', b'w', tag]);
    component
}

/// Writes `bytes` to `dir/name` the usual atomic way: a temporary file renamed into place.
fn replace_atomically(dir: &Path, name: &str, bytes: &[u8]) {
    let staging = dir.join(format!(".{name}.tmp"));
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, dir.join(name)).unwrap();
}

async fn status_of(client: &ClientApi, request: pb::InvocationRequest) -> StatusCode {
    client.send(&request).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_replace_corrupt_delete_under_load_fail_no_call() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let dir = actors.path();

    // The load: increments on `counter`, bounded in time, counting successes and failures.
    let stop = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for _ in 0..4 {
        let (client, stop, succeeded, failed) =
            (harness.client.clone(), stop.clone(), succeeded.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && tokio::time::Instant::now() < deadline {
                let request =
                    client.request("counter", "increment", Some(pack(&Increment { by: 1 })), CallOptions::default());
                match client.send(&request).await.0 {
                    StatusCode::OK => succeeded.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let client = &harness.client;
    let counter_v1 = example("counter");

    // Replace the very component under load, twice, with other bytes of the same behaviour.
    for tag in [b'1', b'2'] {
        let version = new_version(counter_v1.clone(), tag);
        let hash = short_hash(&content_digest(&version)).to_owned();
        replace_atomically(dir, "counter.wasm", &version);
        eventually(Duration::from_secs(10), "counter's new version serves", || async {
            harness.runtime.modules().status().iter().any(|file| file.hash.as_deref() == Some(hash.as_str()))
        })
        .await;
    }

    // Add a component: its actors appear.
    replace_atomically(dir, "languages.wasm", &example("router"));
    let route = client.request("router", "effectLanguage", Some(pack(&Request::default())), CallOptions::default());
    eventually(Duration::from_secs(10), "router is served", || async {
        status_of(client, route.clone()).await == StatusCode::OK
    })
    .await;

    // Replace it in place with another component: the old actors go, the new ones come.
    std::fs::write(dir.join("languages.wasm"), example("joe")).unwrap();
    let set_language =
        client.request("joe", "setLanguage", Some(pack(&Request { language: "c".into() })), CallOptions::default());
    eventually(Duration::from_secs(10), "joe replaced router", || async {
        status_of(client, set_language.clone()).await == StatusCode::OK
    })
    .await;
    assert_eq!(status_of(client, route.clone()).await, StatusCode::NOT_FOUND, "router is gone");

    // Corrupt it: rejected with a reason, the previous version keeps serving.
    std::fs::write(dir.join("languages.wasm"), b"\0asm garbage").unwrap();
    eventually(Duration::from_secs(10), "the corrupt version is reported", || async {
        harness.runtime.modules().status().iter().any(|file| file.last_error.is_some())
    })
    .await;
    let status = harness.runtime.modules().status();
    let languages = status.iter().find(|file| file.file.ends_with("languages.wasm")).unwrap();
    assert!(languages.last_error.as_ref().unwrap().contains("not a valid WebAssembly component"));
    assert_eq!(languages.actors, ["joe", "abs_actor"], "the previous version still serves");
    let reply: Reply = client.call("joe", "setLanguage", &Request { language: "d".into() }).await;
    assert!(reply.response.ends_with("c,d"), "{reply:?}");

    // Delete it: its actors become unknown; their stored state stays.
    std::fs::remove_file(dir.join("languages.wasm")).unwrap();
    eventually(Duration::from_secs(10), "joe is gone", || async {
        status_of(client, set_language.clone()).await == StatusCode::NOT_FOUND
    })
    .await;

    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let succeeded = succeeded.load(Ordering::Relaxed);
    assert_eq!(failed.load(Ordering::Relaxed), 0, "no call failed because of a swap");
    assert!(succeeded > 0);
    assert_eq!(
        client.state::<Counter>("counter").await.value as u64,
        succeeded,
        "every increment counted exactly once"
    );
    harness.stop().await;
}

#[tokio::test]
async fn rapid_successive_writes_end_on_the_last_version() {
    let actors = actors_dir(&[]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let versions: Vec<Vec<u8>> = (b'a'..=b'f').map(|tag| new_version(example("counter"), tag)).collect();
    for version in &versions {
        std::fs::write(actors.path().join("counter.wasm"), version).unwrap();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    let last = short_hash(&content_digest(versions.last().unwrap())).to_owned();
    eventually(Duration::from_secs(10), "the last version serves", || async {
        harness.runtime.modules().status().iter().any(|file| file.hash.as_deref() == Some(last.as_str()))
    })
    .await;
    let counter: Counter = harness.client.call("counter", "increment", &Increment { by: 4 }).await;
    assert_eq!(counter.value, 4);
    harness.stop().await;
}

#[tokio::test]
async fn the_sidecar_re_registers_when_the_actors_change() {
    let harness = Harness::start(&["counter"]).await;
    let dir = harness.host_actors_dir();
    replace_atomically(&dir, "joe.wasm", &example("joe"));
    harness.proxy.wait_for_registrations(2).await;
    let log = harness.proxy.log();
    let actors = &log.registrations[1].actor_system.as_ref().unwrap().registry.as_ref().unwrap().actors;
    let mut names: Vec<_> = actors.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["abs_actor", "counter", "counters", "joe"]);
    let invocation = InvocationBuilder::new("joe", "setLanguage").payload(&Request { language: "go".into() }).build();
    assert_eq!(reply::<Reply>(&harness.client.invoke(&invocation).await).response, "go");

    // Same actors, other bytes: served, but no new registration is needed.
    replace_atomically(&dir, "joe.wasm", &new_version(example("joe"), b'x'));
    let hash = short_hash(&content_digest(&new_version(example("joe"), b'x'))).to_owned();
    let modules = harness.client.modules().await;
    eventually(Duration::from_secs(10), "the new joe serves", || {
        let client = harness.client.clone();
        let hash = hash.clone();
        async move { client.modules().await.contains(&hash) }
    })
    .await;
    assert!(!modules.is_empty());
    assert_eq!(harness.proxy.log().registrations.len(), 2, "an unchanged set of actors is not registered again");
}

#[tokio::test]
async fn compiled_code_is_cached_and_a_corrupt_entry_is_rebuilt() {
    init_logging();
    let actors = actors_dir(&["counter", "joe"]);
    let cache_dir = tempfile::tempdir().unwrap();
    let engine = Arc::new(ActorEngine::new(Limits::default()).unwrap());
    let cache = || Some(CodeCache::open(cache_dir.path(), engine.engine()).unwrap());

    let cold = ModuleSet::load(engine.clone(), cache(), actors.path()).await.unwrap();
    assert!(cold.registry().modules().all(|module| !module.cached));
    let warm = ModuleSet::load(engine.clone(), cache(), actors.path()).await.unwrap();
    assert!(warm.registry().modules().all(|module| module.cached), "the second start uses the cache");

    for entry in std::fs::read_dir(cache_dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let rebuilt = ModuleSet::load(engine.clone(), cache(), actors.path()).await.unwrap();
    assert_eq!(rebuilt.registry().definitions().count(), 4, "corrupt entries are ignored");
    assert!(rebuilt.registry().modules().all(|module| !module.cached));
    let again = ModuleSet::load(engine.clone(), cache(), actors.path()).await.unwrap();
    assert!(again.registry().modules().all(|module| module.cached), "and rebuilt");
}

#[tokio::test]
async fn renaming_a_component_keeps_its_actors() {
    let actors = actors_dir(&["counter"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    std::fs::rename(actors.path().join("counter.wasm"), actors.path().join("a-counter.wasm")).unwrap();
    eventually(Duration::from_secs(10), "the renamed file serves", || async {
        harness
            .runtime
            .modules()
            .status()
            .iter()
            .any(|file| file.file.ends_with("a-counter.wasm") && file.hash.is_some())
    })
    .await;
    let counter: Counter = harness.client.call("counter", "increment", &Increment { by: 2 }).await;
    assert_eq!(counter.value, 2);
    assert!(harness.runtime.modules().status().iter().all(|file| file.last_error.is_none()));
    harness.stop().await;
}

/// A Kubernetes ConfigMap volume: the visible files are symlinks through `..data`, and an
/// update re-points `..data` to a new hidden directory, changing no visible file.
#[tokio::test]
async fn a_configmap_style_symlink_swap_reloads() {
    use std::os::unix::fs::symlink;

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    std::fs::create_dir(root.join("..2026_11_25_01")).unwrap();
    std::fs::write(root.join("..2026_11_25_01/actor.wasm"), example("counter")).unwrap();
    symlink("..2026_11_25_01", root.join("..data")).unwrap();
    symlink("..data/actor.wasm", root.join("actor.wasm")).unwrap();
    let harness = Harness::start_with(dir, Limits::default()).await;
    let increment = InvocationBuilder::new("counter", "increment").payload(&Increment { by: 1 }).build();
    assert_eq!(reply::<Counter>(&harness.client.invoke(&increment).await), Counter { value: 1 });

    // What the kubelet does: write the new version beside, re-point `..data` by an atomic
    // rename, delete the old version.
    std::fs::create_dir(root.join("..2026_11_25_02")).unwrap();
    std::fs::write(root.join("..2026_11_25_02/actor.wasm"), example("joe")).unwrap();
    symlink("..2026_11_25_02", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..2026_11_25_01")).unwrap();

    let joe = InvocationBuilder::new("joe", "setLanguage").payload(&Request { language: "go".into() }).build();
    let client = harness.client.clone();
    eventually(Duration::from_secs(10), "joe serves from the swapped ConfigMap", || {
        let (client, joe) = (client.clone(), joe.clone());
        async move { client.send(&joe).await.0 == StatusCode::OK }
    })
    .await;
    assert_eq!(
        harness.client.invoke_failing(&increment).await,
        StatusCode::NOT_FOUND,
        "counter left with the old version"
    );
}
