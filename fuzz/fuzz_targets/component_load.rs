//! Loading a component from arbitrary (mostly mutated) `.wasm` bytes: compile, check the
//! world, link, describe, validate. A bad file must be rejected with an error, never a
//! panic, a hang or a crash of the host.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::{ActorModule, LoadError};

static HOST: LazyLock<(tokio::runtime::Runtime, ActorEngine)> = LazyLock::new(|| {
    let tokio = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    let limits = Limits { call_timeout: Duration::from_secs(1), pooling: false, ..Limits::default() };
    let engine = tokio.block_on(async { ActorEngine::new(limits) }).expect("an engine");
    (tokio, engine)
});

fuzz_target!(|bytes: &[u8]| {
    let (tokio, engine) = &*HOST;
    let loaded = tokio.block_on(ActorModule::from_bytes(engine, None, Path::new("fuzzed.wasm"), bytes.to_vec()));
    // Compilation runs on a blocking thread, whose panic the loader turns into an error:
    // that is still a crash to report.
    if let Err(LoadError::CompilerPanicked(panic)) = loaded {
        panic!("the compiler panicked: {panic}");
    }
});
