//! `counter` (named, stateful): adds to a counter and replies its new value.

use domain::{Counter, Increment};
use spawn_wasm_sdk::{Actor, Value};

/// `counter`: `increment(Increment)` adds `by` and replies the new `Counter`.
pub fn counter() -> Actor<Counter> {
    Actor::<Counter>::named("counter").action("increment", |input: Increment, ctx| {
        let counter = Counter { value: ctx.state_or_default().value + input.by };
        Ok(Value::new().reply(&counter).state(counter))
    })
}

spawn_wasm_sdk::export_actors!(counter());
