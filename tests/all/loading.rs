//! Loading an actors directory: good components are served, bad files are rejected with a
//! reason, and nothing bad stops the host from serving the rest.

use std::sync::Arc;

use spawn_wasm_host::modules::set::ModuleSet;
use spawn_wasm_host::wasm::engine::ActorEngine;
use spawn_wasm_host::wasm::limits::Limits;
use spawn_wasm_tests::*;

/// A valid component with no imports or exports: right format, wrong world.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";
/// A valid core module: not a component at all.
const CORE_MODULE: &[u8] = b"\0asm\x01\0\0\0";

#[tokio::test]
async fn bad_files_are_rejected_with_a_reason_and_the_rest_is_served() {
    init_logging();
    let dir = actors_dir(&["counter", "joe"]);
    let counter = std::fs::read(examples_dir().join("counter.wasm")).unwrap();
    write_file(dir.path(), "corrupt.wasm", b"this is not wasm at all");
    write_file(dir.path(), "truncated.wasm", &counter[..counter.len() / 2]);
    write_file(dir.path(), "empty-world.wasm", EMPTY_COMPONENT);
    write_file(dir.path(), "core-module.wasm", CORE_MODULE);
    write_file(dir.path(), "zz-second-counter.wasm", &counter);
    write_file(dir.path(), ".hidden.wasm", b"ignored");
    write_file(dir.path(), "notes.txt", b"ignored");

    let engine = Arc::new(ActorEngine::new(Limits::default()).unwrap());
    let modules = ModuleSet::load(engine, None, dir.path()).await.unwrap();

    let registry = modules.registry();
    let mut served: Vec<_> = registry.definitions().map(|definition| definition.name.as_str()).collect();
    served.sort_unstable();
    assert_eq!(served, ["abs_actor", "counter", "counters", "joe"]);

    let status = modules.status();
    let reason = |file: &str| -> String {
        let entry = status.iter().find(|status| status.file.file_name().unwrap() == file);
        let entry = entry.unwrap_or_else(|| panic!("{file} should be listed"));
        assert!(entry.hash.is_none(), "{file} should not serve");
        entry.last_error.clone().unwrap_or_else(|| panic!("{file} should be rejected"))
    };
    assert_eq!(status.iter().filter(|status| status.last_error.is_some()).count(), 5, "{status:?}");
    assert!(reason("corrupt.wasm").starts_with("not a valid WebAssembly component"));
    assert!(reason("truncated.wasm").starts_with("not a valid WebAssembly component"));
    assert!(reason("core-module.wasm").starts_with("not a valid WebAssembly component"));
    assert!(reason("empty-world.wasm").contains("does not export `spawn:actor/handler`"));
    let duplicate = reason("zz-second-counter.wasm");
    assert!(
        duplicate.contains("`counter` is already provided by") && duplicate.contains("counter.wasm"),
        "{duplicate}"
    );
}

#[tokio::test]
async fn a_host_with_only_bad_files_still_starts_and_registers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_file(dir.path(), "corrupt.wasm", b"garbage");
    let harness = Harness::start_with(dir, Limits::default()).await;
    let registration = &harness.proxy.log().registrations[0];
    let actors = &registration.actor_system.as_ref().unwrap().registry.as_ref().unwrap().actors;
    assert!(actors.is_empty());
    let invocation = InvocationBuilder::new("counter", "increment").build();
    assert_eq!(harness.client.invoke_failing(&invocation).await, axum::http::StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_missing_actors_directory_is_a_clear_error() {
    let engine = Arc::new(ActorEngine::new(Limits::default()).unwrap());
    let missing = std::path::Path::new("/definitely/not/here");
    assert!(ModuleSet::load(engine, None, missing).await.is_err());
}
