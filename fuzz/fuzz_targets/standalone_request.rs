//! Standalone mode's handling of client requests: arbitrary bytes decoded as the proxy's
//! `InvocationRequest` (or, after a zero byte, `SpawnRequest`) and handed to a running
//! embedded runtime with the example components and a real state database. Every request
//! must be answered (an error is fine), without a panic or a hang, and the runtime must
//! keep serving: a known-good call follows every fuzzed one.

#![no_main]

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use prost::{Message, Name};
use spawn_wasm_host::protocol::spawn::{self as pb, actors};
use spawn_wasm_host::runtime::{Runtime, RuntimeConfig, Standalone};
use spawn_wasm_host::wasm::limits::Limits;

/// The example components this target loads (`hostile` is left out: its actions are slow
/// by design, and the sandbox tests cover them).
const COMPONENTS: &[&str] = &["caller", "clock", "counter", "joe", "router"];

struct Host {
    tokio: tokio::runtime::Runtime,
    runtime: Runtime,
    /// Kept alive for the whole run.
    _standalone: Standalone,
}

static HOST: LazyLock<Host> = LazyLock::new(|| {
    let built = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/actors"));
    let work = std::env::temp_dir().join(format!("spawn-wasm-fuzz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (actors_dir, data_dir) = (work.join("actors"), work.join("data"));
    std::fs::create_dir_all(&actors_dir).expect("creating the actors directory");
    for name in COMPONENTS {
        let file = format!("{name}.wasm");
        std::fs::copy(built.join(&file), actors_dir.join(&file)).unwrap_or_else(|error| {
            panic!("{file} missing from {}: run `cargo xtask build-examples` ({error})", built.display())
        });
    }
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let limits =
        Limits { call_timeout: Duration::from_secs(1), max_instances: 256, warm_instances: 64, ..Limits::default() };
    let config = RuntimeConfig {
        actors_dir,
        data_dir,
        listen: "127.0.0.1:0".parse().expect("static address"),
        system: SYSTEM.into(),
        limits,
        fsync: false,
        store_keys: Default::default(),
        state_history: 4,
        watch: false,
        http: Default::default(),
        routing: Default::default(),
        token: None,
        allowed_hosts: Vec::new(),
    };
    let standalone = tokio.block_on(Standalone::start(config)).expect("starting the standalone runtime");
    let runtime = standalone.runtime().clone();
    Host { tokio, runtime, _standalone: standalone }
});

const SYSTEM: &str = "spawn-system";

fuzz_target!(|bytes: &[u8]| {
    let host = &*HOST;
    let answered = host.tokio.block_on(async {
        tokio::time::timeout(Duration::from_secs(30), async {
            match bytes.split_first() {
                Some((0, spawn)) => {
                    if let Ok(request) = pb::SpawnRequest::decode(spawn) {
                        let _ = host.runtime.spawn(request).await;
                    }
                }
                _ => {
                    if let Ok(request) = pb::InvocationRequest::decode(bytes) {
                        let _ = host.runtime.invoke(request).await;
                    }
                }
            }
        })
        .await
    });
    assert!(answered.is_ok(), "a request went unanswered for 30 s");
    let reply = host.tokio.block_on(host.runtime.invoke(increment())).expect("the runtime still serves counter");
    let reply = reply.expect("counter replies");
    assert_eq!(reply.type_url, domain::Counter::type_url());
});

/// `counter.increment(by: 1)`, which must keep working whatever came before.
fn increment() -> pb::InvocationRequest {
    pb::InvocationRequest {
        system: Some(actors::ActorSystem { name: SYSTEM.into(), ..Default::default() }),
        actor: Some(actors::Actor {
            id: Some(actors::ActorId { name: "counter".into(), system: SYSTEM.into(), parent: String::new() }),
            ..Default::default()
        }),
        action_name: "increment".into(),
        payload: Some(pb::invocation_request::Payload::Value(prost_types::Any {
            type_url: domain::Increment::type_url(),
            value: domain::Increment { by: 1 }.encode_to_vec(),
        })),
        ..Default::default()
    }
}
