//! The cost of the sandbox per call: `counter.increment` from protobuf bytes in to protobuf
//! bytes out, in WebAssembly and natively through the same conversion code, in one run.
//! Also instantiation alone, with and without the pooling allocator.
//!
//! Needs the example components: `cargo xtask build-examples` (or `cargo xtask bench`).

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message;
use spawn_wasm_bench::{increment_invocation, native_round_trip, unused_dispatcher, wasm_round_trip};
use spawn_wasm_host::protocol::spawn::actors;
use spawn_wasm_host::wasm::chain::CallChain;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::executor::Executor;
use spawn_wasm_host::wasm::host::Turn;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_host::wasm::module::ActorModule;

fn load(runtime: &tokio::runtime::Runtime, limits: Limits) -> (Executor, ActorModule) {
    let engine = Arc::new(ActorEngine::new(limits).expect("engine"));
    let path = xtask::actors_dir(&xtask::workspace_root()).join("counter.wasm");
    let module = runtime
        .block_on(ActorModule::load(&engine, None, &path))
        .unwrap_or_else(|error| panic!("{}: {error} (run `cargo xtask build-examples` first)", path.display()));
    (Executor::new(engine), module)
}

fn invocation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = increment_invocation("c-1", 41).encode_to_vec();
    let dispatcher = unused_dispatcher();
    let mut group = c.benchmark_group("counter.increment bytes-to-bytes");
    group.bench_function("native", |b| b.iter(|| runtime.block_on(async { native_round_trip(&body) })));
    let (warm, warm_module) = load(&runtime, Limits::default());
    group.bench_function("wasm, warm instance (the actor's, kept between turns)", |b| {
        b.iter(|| runtime.block_on(wasm_round_trip(&warm, &warm_module, &dispatcher, &body)).unwrap())
    });
    // As the HTTP benchmark calls: each call on another actor's instance, whose memory is
    // colder in the caches.
    let bodies: Vec<Vec<u8>> = (0..16).map(|n| increment_invocation(&format!("c-{n}"), 41).encode_to_vec()).collect();
    let mut next = 0;
    group.bench_function("wasm, warm instances of 16 actors in turn", |b| {
        b.iter(|| {
            next = (next + 1) % bodies.len();
            runtime.block_on(wasm_round_trip(&warm, &warm_module, &dispatcher, &bodies[next])).unwrap()
        })
    });
    let (unenforced, module) = load(&runtime, Limits { enforce: false, ..Limits::default() });
    group.bench_function("wasm, warm instance, memory cap and CPU deadline not enforced", |b| {
        b.iter(|| runtime.block_on(wasm_round_trip(&unenforced, &module, &dispatcher, &body)).unwrap())
    });
    let (fresh, module) = load(&runtime, Limits { warm_instances: 0, ..Limits::default() });
    group.bench_function("wasm, fresh pooled instance", |b| {
        b.iter(|| runtime.block_on(wasm_round_trip(&fresh, &module, &dispatcher, &body)).unwrap())
    });
    group.finish();
}

fn instantiation(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("instantiate counter");
    for (label, pooling) in [("pooling allocator", true), ("on-demand allocator", false)] {
        let (executor, module) = load(&runtime, Limits { pooling, ..Limits::default() });
        group.bench_function(label, |b| {
            b.iter(|| {
                let deadline = std::time::Instant::now() + module.sandbox.call_timeout;
                let chain = CallChain::new(deadline);
                let turn = Turn { self_id: actors::ActorId::default(), action: String::new(), dispatcher: None, chain };
                let mut store = executor.engine().store(turn, &module.sandbox, deadline);
                runtime.block_on(module.pre().instantiate_async(&mut store)).unwrap();
            })
        });
    }
    group.finish();
}

criterion_group!(benches, invocation, instantiation);
criterion_main!(benches);
