//! `counter` (named, stateful): adds to a counter and replies its new value; `counters`
//! (unnamed, stateful): the same, one instance per key you spawn.

use domain::{Counter, Increment};
use spawn_wasm_sdk::{Actor, Context, Error, Result, Value};

fn increment(input: Increment, ctx: &Context<Counter>) -> Result<Value<Counter>> {
    let current = ctx.state_or_default().value;
    let value = current
        .checked_add(input.by)
        .ok_or_else(|| Error::failed(format!("adding {} to {current} overflows the counter", input.by)))?;
    let counter = Counter { value };
    Ok(Value::new().reply(&counter).state(counter))
}

/// `counter`: `increment(Increment)` adds `by` and replies the new `Counter` (the input
/// type comes from `increment`'s signature, the reply type from `returns`);
/// `pause(Increment)` holds the actor for `by` milliseconds, changing nothing, and replies
/// the current `Counter` (a slow turn, for tests of what queues behind one).
pub fn counter() -> Actor<Counter> {
    Actor::named("counter")
        .action("increment", increment)
        .returns::<Counter>()
        .action("pause", |input: Increment, ctx: &Context<Counter>| {
            std::thread::sleep(std::time::Duration::from_millis(input.by.clamp(0, 60_000) as u64));
            Ok(Value::new().reply(&ctx.state_or_default()))
        })
        .returns::<Counter>()
}

/// `counters`: an unnamed counter template. `increment` as `counter`'s;
/// `incrementDurably` also checkpoints, so that the new value is stored before the reply.
/// `init`, which the runtime runs on every activation, gives a new instance its state at
/// zero (so that `get` answers a `Counter` from the start) and leaves a stored one alone.
pub fn counters() -> Actor<Counter> {
    Actor::unnamed("counters")
        .deactivation_timeout(60_000)
        .action("init", |_: (), ctx: &Context<Counter>| {
            let value = Value::new().noreply();
            Ok(if ctx.state().is_some() { value } else { value.state(Counter { value: 0 }) })
        })
        .action("increment", increment)
        .returns::<Counter>()
        .action("incrementDurably", |input, ctx| Ok(increment(input, ctx)?.checkpoint()))
        .returns::<Counter>()
}

spawn_wasm_sdk::export_actors!(counter(), counters(); descriptors = domain::FILE_DESCRIPTOR_SET);

#[cfg(test)]
mod tests {
    use super::*;
    use spawn_wasm_sdk::testing::{TestInvocation, reply_as, state_as};

    #[test]
    fn increment_adds_and_replies_the_new_value() {
        let invocation = TestInvocation::new("counter", "increment")
            .state(&Counter { value: 40 })
            .payload(&Increment { by: 2 })
            .build();
        let value = counter().handle(invocation).unwrap();
        assert_eq!(reply_as::<Counter>(&value), Some(Counter { value: 42 }));
        assert_eq!(state_as::<Counter>(&value), Some(Counter { value: 42 }));
    }

    #[test]
    fn init_starts_a_new_instance_at_zero_and_keeps_a_stored_one() {
        let fresh = counters().handle(TestInvocation::new("counters", "init").build()).unwrap();
        assert_eq!(state_as::<Counter>(&fresh), Some(Counter { value: 0 }));
        let stored = TestInvocation::new("counters", "init").state(&Counter { value: 5 }).build();
        assert!(counters().handle(stored).unwrap().state.is_none(), "a stored state is kept");
    }

    /// Found by the `sdk_handle` fuzz target: an overflow panicked (trapped, in a component).
    #[test]
    fn an_overflowing_increment_is_an_error_and_changes_nothing() {
        let invocation = TestInvocation::new("counter", "increment")
            .state(&Counter { value: i64::MAX })
            .payload(&Increment { by: 1 })
            .build();
        let error = counter().handle(invocation).unwrap_err();
        assert!(matches!(&error, Error::Failed(message) if message.contains("overflows")), "{error:?}");
    }
}
