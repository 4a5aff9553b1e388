//! The guest SDK's decoding of what the host sends: invocations of the example actors
//! (compiled natively) with arbitrary actions, payloads, states, metadata and tags, right
//! or wrong type URLs. Every malformed input must come back as an error, never a panic.

#![no_main]

use std::sync::LazyLock;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use prost::Name;
use spawn_wasm_sdk::AnyActor;
use spawn_wasm_sdk::bindings::spawn::actor::types::{ActorId, Any, Invocation};

/// The examples whose actions make no host calls (a native build has no host to call).
static ACTORS: LazyLock<Vec<Box<dyn AnyActor>>> = LazyLock::new(|| {
    vec![
        Box::new(counter::counter()),
        Box::new(counter::counters()),
        Box::new(joe::joe()),
        Box::new(joe::abs_actor()),
        Box::new(router::router()),
        Box::new(clock::clock()),
    ]
});

/// Type URLs the examples accept, so that many inputs reach the message decoders.
static TYPE_URLS: LazyLock<Vec<String>> = LazyLock::new(|| {
    vec![
        domain::Counter::type_url(),
        domain::Increment::type_url(),
        domain::JoeState::type_url(),
        domain::Request::type_url(),
        domain::Reply::type_url(),
    ]
});

fuzz_target!(|bytes: &[u8]| {
    let mut input = Unstructured::new(bytes);
    let Ok((actor, invocation)) = invocation(&mut input) else { return };
    // An error is the right answer to most of these; only a panic is a finding.
    let _ = actor.handle(invocation);
});

fn invocation(input: &mut Unstructured<'_>) -> arbitrary::Result<(&'static dyn AnyActor, Invocation)> {
    let actor = input.choose(&ACTORS)?.as_ref();
    let definition = actor.definition();
    let mut actions: Vec<&str> = definition.actions.iter().map(String::as_str).collect();
    actions.extend(definition.timer_actions.iter().map(|timer| timer.action.as_str()));
    let action = if actions.is_empty() || bool::arbitrary(input)? {
        String::arbitrary(input)?
    } else {
        input.choose(&actions)?.to_string()
    };
    let invocation = Invocation {
        actor: definition.name.clone(),
        action,
        payload: any(input)?,
        state: any(input)?,
        self_id: ActorId { name: String::arbitrary(input)?, system: String::arbitrary(input)?, parent: None },
        caller: None,
        metadata: Vec::arbitrary(input)?,
        tags: Vec::arbitrary(input)?,
    };
    Ok((actor, invocation))
}

fn any(input: &mut Unstructured<'_>) -> arbitrary::Result<Option<Any>> {
    if !bool::arbitrary(input)? {
        return Ok(None);
    }
    let type_url = if bool::arbitrary(input)? { input.choose(&TYPE_URLS)?.clone() } else { String::arbitrary(input)? };
    Ok(Some(Any { type_url, value: Vec::arbitrary(input)? }))
}
