//! `counter` (named, stateful): adds to a counter and replies its new value; `counters`
//! (unnamed, stateful): the same, one instance per key you spawn.

use domain::{Counter, Increment};
use spawn_wasm_sdk::{Actor, Context, Result, Value};

fn increment(input: Increment, ctx: &Context<Counter>) -> Result<Value<Counter>> {
    let counter = Counter { value: ctx.state_or_default().value + input.by };
    Ok(Value::new().reply(&counter).state(counter))
}

/// `counter`: `increment(Increment)` adds `by` and replies the new `Counter`.
pub fn counter() -> Actor<Counter> {
    Actor::named("counter").action("increment", increment)
}

/// `counters`: an unnamed counter template. `increment` as `counter`'s;
/// `incrementDurably` also checkpoints, so that the new value is stored before the reply.
pub fn counters() -> Actor<Counter> {
    Actor::unnamed("counters")
        .deactivation_timeout(60_000)
        .action("increment", increment)
        .action("incrementDurably", |input, ctx| Ok(increment(input, ctx)?.checkpoint()))
}

spawn_wasm_sdk::export_actors!(counter(), counters(); descriptors = domain::FILE_DESCRIPTOR_SET);
