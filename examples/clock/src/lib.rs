//! `clock` (named, stateful): a timer that counts its own ticks.

use domain::Counter;
use spawn_wasm_sdk::{Actor, Value};

/// `clock`: timer `tick` every 200 ms increments its `Counter`.
pub fn clock() -> Actor<Counter> {
    Actor::<Counter>::named("clock")
        .timer("tick", 200, |ctx| Ok(Value::new().state(Counter { value: ctx.state_or_default().value + 1 })))
}

spawn_wasm_sdk::export_actors!(clock(); descriptors = domain::FILE_DESCRIPTOR_SET);
