//! `clock` (named, stateful): a timer that counts its own ticks.

use domain::Counter;
use spawn_wasm_sdk::{Actor, Value};

/// `clock`: timer `tick` every 200 ms increments its `Counter` (wrapping around at the
/// end of the range, as a clock does).
pub fn clock() -> Actor<Counter> {
    Actor::<Counter>::named("clock").timer("tick", 200, |ctx| {
        Ok(Value::new().state(Counter { value: ctx.state_or_default().value.wrapping_add(1) }))
    })
}

/// `ticker`: an unnamed template whose every instance has timer `tick` every minute,
/// counting its ticks like `clock` (for measuring what ticking instances cost the host).
pub fn ticker() -> Actor<Counter> {
    Actor::<Counter>::unnamed("ticker").timer("tick", 60_000, |ctx| {
        Ok(Value::new().state(Counter { value: ctx.state_or_default().value.wrapping_add(1) }))
    })
}

spawn_wasm_sdk::export_actors!(clock(), ticker(); descriptors = domain::FILE_DESCRIPTOR_SET);

#[cfg(test)]
mod tests {
    use super::*;
    use spawn_wasm_sdk::testing::{TestInvocation, state_as};

    /// Found by the `sdk_handle` fuzz target: the last tick of the range panicked.
    #[test]
    fn tick_counts_and_wraps_at_the_end_of_the_range() {
        let tick = |value| {
            let invocation = TestInvocation::new("clock", "tick").state(&Counter { value }).build();
            state_as::<Counter>(&clock().handle(invocation).unwrap()).unwrap().value
        };
        assert_eq!(tick(41), 42);
        assert_eq!(tick(i64::MAX), i64::MIN);
    }
}
