//! Hot reload: components added, replaced, corrupted and deleted while calls run, in both
//! modes, with no call failing because of a swap.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use domain::{Counter, Increment, JoeState, Reply, Request};
use spawn_wasm_host::modules::set::ModuleSet;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::wasm::cache::CodeCache;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::{content_digest, short_hash};
use spawn_wasm_tests::*;

const SPAWN_WASM: &str = env!("CARGO_BIN_EXE_spawn-wasm-e2e");

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

/// `spawn-wasm standalone --actors actors --data data`, typed in the directory holding them:
/// a file renamed into place replaces its previous version, a deleted file's actors go.
#[tokio::test]
async fn a_relative_actors_directory_follows_replacements_and_deletions() {
    let cwd = tempfile::tempdir().unwrap();
    let dir = cwd.path().join("actors");
    std::fs::create_dir(&dir).unwrap();
    for name in ["counter", "joe"] {
        std::fs::write(dir.join(format!("{name}.wasm")), example(name)).unwrap();
    }
    let process = HostProcess::standalone_in(SPAWN_WASM, cwd.path(), Path::new("actors"), Path::new("data"), &[]).await;
    let client = &process.client;
    let joe =
        client.request("joe", "setLanguage", Some(pack(&Request { language: "c".into() })), CallOptions::default());
    let counter = client.request("counter", "increment", Some(pack(&Increment { by: 1 })), CallOptions::default());
    let router = client.request("router", "effectLanguage", Some(pack(&Request::default())), CallOptions::default());
    assert_eq!(status_of(client, joe.clone()).await, StatusCode::OK);
    assert_eq!(status_of(client, counter.clone()).await, StatusCode::OK);

    replace_atomically(&dir, "joe.wasm", &example("router"));
    std::fs::remove_file(dir.join("counter.wasm")).unwrap();
    eventually(Duration::from_secs(10), "router replaced joe, and counter is gone", || async {
        status_of(client, router.clone()).await == StatusCode::OK
            && status_of(client, joe.clone()).await == StatusCode::NOT_FOUND
            && status_of(client, counter.clone()).await == StatusCode::NOT_FOUND
    })
    .await;
}

/// `b.wasm` is rejected because `a.wasm` provides its actors; a new version of `a.wasm`
/// without them frees their names, and `b.wasm` serves them.
#[tokio::test]
async fn a_name_freed_by_a_swap_unblocks_the_file_claiming_it() {
    let actors = actors_dir(&[]);
    let dir = actors.path();
    std::fs::write(dir.join("a.wasm"), example("joe")).unwrap();
    std::fs::write(dir.join("b.wasm"), new_version(example("joe"), b'b')).unwrap();
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(dir, data.path()).await;
    let b = || harness.runtime.modules().status().into_iter().find(|file| file.file.ends_with("b.wasm")).unwrap();
    assert!(b().last_error.unwrap().contains("already provided"), "b.wasm waits for joe's name");

    replace_atomically(dir, "a.wasm", &example("counter"));
    eventually(Duration::from_secs(10), "b.wasm serves", || async { b().hash.is_some() }).await;
    let reply: Reply = harness.client.call("joe", "setLanguage", &Request { language: "go".into() }).await;
    assert!(reply.response.ends_with("go"), "{reply:?}");
    harness.stop().await;
}

/// Runs `hook` once, on the thread where the host logs `message`, when `hook` says it ran
/// (returns true): a deterministic point inside the host's work, for a test to act at.
struct AtMessage<F> {
    message: &'static str,
    hook: Mutex<Option<F>>,
}

impl<S: tracing::Subscriber, F: FnMut() -> bool + 'static> tracing_subscriber::Layer<S> for AtMessage<F> {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Message(Option<String>);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = Some(format!("{value:?}"));
                }
            }
        }
        let mut message = Message(None);
        event.record(&mut message);
        if message.0.as_deref() != Some(self.message) {
            return;
        }
        let mut hook = self.hook.lock().unwrap();
        if hook.as_mut().is_some_and(|hook| hook()) {
            *hook = None;
        }
    }
}

/// An actor first activated while a reload rebuilds the channels' subscriptions keeps its
/// own: joe's first call lands exactly between the reload's look at the active actors and
/// its update of the subscriptions (the runtime runs on this test's one thread, so the
/// hook runs there, in the middle of the reload).
#[tokio::test]
async fn an_actor_first_activated_during_a_reload_keeps_its_subscriptions() {
    use tracing_subscriber::layer::SubscriberExt as _;

    let actors = actors_dir(&["router"]);
    let data = tempfile::tempdir().unwrap();
    let harness = StandaloneHarness::start(actors.path(), data.path()).await;
    let runtime = harness.runtime.clone();
    let request = harness.client.request(
        "joe",
        "setLanguage",
        Some(pack(&Request { language: "early".into() })),
        // Fire and forget: the hook polls the call once and drops it, and a dropped
        // synchronous call is a caller that gave up (its turn would never run).
        CallOptions { asynchronous: true, ..CallOptions::default() },
    );
    let hooked = Arc::new(AtomicBool::new(false));
    let hook_ran = hooked.clone();
    let hook = move || {
        if runtime.modules().registry().get("joe").is_none() {
            return false;
        }
        hook_ran.store(true, Ordering::Relaxed);
        // Polled once: enough to activate joe and queue the call.
        let mut call = std::pin::pin!(runtime.invoke(request.clone()));
        let _ = call.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        assert!(runtime.is_active("joe"));
        true
    };
    let layer = AtMessage { message: "following the reloaded modules", hook: Mutex::new(Some(hook)) };
    let _hooked = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    replace_atomically(actors.path(), "joe.wasm", &example("joe"));
    let client = &harness.client;
    let get = client.request("joe", "get", None, CallOptions::default());
    let has = |language: &'static str| {
        let get = get.clone();
        async move {
            let state = client.try_send(&get).await.map(|any| unpack::<JoeState>(&any)).unwrap_or_default();
            state.languages.iter().any(|known| known == language)
        }
    };
    eventually(Duration::from_secs(10), "joe took its first call", || has("early")).await;
    assert!(hooked.load(Ordering::Relaxed), "joe was first activated in the middle of the reload");
    let broadcast = Some(pack(&Request { language: "broadcast".into() }));
    client.call_with("router", "broadcastLanguage", broadcast, CallOptions::default()).await;
    eventually(Duration::from_secs(5), "joe received the broadcast", || has("broadcast")).await;
    harness.stop().await;
}
