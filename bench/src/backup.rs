//! The `backup` scenario: the state store of N actors, encrypted, copied while open
//! (`VACUUM INTO`, what `spawn-wasm backup` runs in the host) and the copy verified (what
//! `spawn-wasm verify` runs), each timed.

use std::time::Instant;

use domain::Counter;
use prost::{Message, Name};
use spawn_wasm_host::runtime::store::{self, StateKey, StateStore, StoreKey, StoreKeys, StoredState};

/// Saves issued at once while filling the store (the store batches them).
const IN_FLIGHT: usize = 512;

/// Fills a store with `actors` encrypted states (one revision each), then times a backup
/// and a verify of the copy.
pub async fn run(actors: usize) -> anyhow::Result<()> {
    let data = tempfile::tempdir()?;
    let key = StoreKey::from_base64(super::BENCH_KEY, "the bench key")?;
    let keys = StoreKeys { current: Some(key), previous: None };
    let store = StateStore::open_with_keys(data.path(), false, 16, &keys)?;
    let filling = Instant::now();
    for first in (0..actors).step_by(IN_FLIGHT) {
        let mut saves = Vec::new();
        for index in first..(first + IN_FLIGHT).min(actors) {
            let store = store.clone();
            saves.push(tokio::spawn(async move {
                let key =
                    StateKey { system: "spawn-system".into(), name: format!("c-{index}"), parent: "counters".into() };
                let value = Counter { value: index as i64 }.encode_to_vec();
                let state = prost_types::Any { type_url: Counter::type_url(), value };
                store.save(key, StoredState { state: Some(state), revision: 1, seq: 1, ..StoredState::default() }).await
            }));
        }
        for save in saves {
            save.await??;
        }
    }
    println!("backup: {actors} encrypted actor states stored in {:.2?}", filling.elapsed());
    let copies = tempfile::tempdir()?;
    let dest = copies.path().join("backup");
    let report = store.backup(dest.clone()).await?;
    println!(
        "backup of {actors} actors (VACUUM INTO from a read connection, the store open): {:.2?}, {:.1} MB",
        report.elapsed,
        report.bytes as f64 / 1e6
    );
    let verifying = Instant::now();
    let verified = store::verify(&dest, &keys)?;
    println!(
        "verify of the copy: {} states opened, {} failed, in {:.2?}",
        verified.states,
        verified.failed,
        verifying.elapsed()
    );
    anyhow::ensure!(verified.states == actors && verified.failed == 0, "the copy does not hold every state");
    Ok(())
}
