//! The guest SDK's decoding of what the host sends: invocations of the example actors
//! (compiled natively) with arbitrary actions, payloads, states, metadata and tags, right
//! or wrong type URLs, and now and then spans the host would never send (outside the
//! buffer, or cutting a character). Every malformed input must come back as an error,
//! never a panic.

#![no_main]

use std::sync::LazyLock;

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use prost::Name;
use spawn_wasm_sdk::AnyActor;
use spawn_wasm_sdk::bindings::spawn::actor::types::{ActorIdSpan, AnySpan, Invocation, Span};

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
    let mut data = Data(Vec::new());
    let action = data.text(&action);
    let payload = any(input, &mut data)?;
    let state = any(input, &mut data)?;
    let self_id = ActorIdSpan {
        name: data.text(&String::arbitrary(input)?),
        system: data.text(&String::arbitrary(input)?),
        parent: None,
    };
    let metadata: Vec<(String, String)> = Vec::arbitrary(input)?;
    let tags: Vec<(String, String)> = Vec::arbitrary(input)?;
    let pairs = metadata.iter().chain(&tags).map(|(key, value)| (data.text(key), data.text(value))).collect();
    let mut invocation = Invocation {
        data: data.0,
        actor: 0,
        action,
        payload,
        state,
        self_id,
        caller: None,
        pairs,
        metadata_count: metadata.len() as u32,
    };
    if bool::arbitrary(input)? {
        let wild = Span { start: u32::arbitrary(input)?, len: u32::arbitrary(input)? };
        match u8::arbitrary(input)? % 4 {
            0 => invocation.action = wild,
            1 => invocation.self_id.name = wild,
            2 => invocation.pairs.push((wild, wild)),
            _ => invocation.metadata_count = u32::arbitrary(input)?,
        }
    }
    Ok((actor, invocation))
}

/// The invocation's buffer being filled, as the host fills it.
struct Data(Vec<u8>);

impl Data {
    fn bytes(&mut self, bytes: &[u8]) -> Span {
        let span = Span { start: self.0.len() as u32, len: bytes.len() as u32 };
        self.0.extend_from_slice(bytes);
        span
    }

    fn text(&mut self, text: &str) -> Span {
        self.bytes(text.as_bytes())
    }
}

fn any(input: &mut Unstructured<'_>, data: &mut Data) -> arbitrary::Result<Option<AnySpan>> {
    if !bool::arbitrary(input)? {
        return Ok(None);
    }
    let type_url = if bool::arbitrary(input)? { input.choose(&TYPE_URLS)?.clone() } else { String::arbitrary(input)? };
    let value: Vec<u8> = Vec::arbitrary(input)?;
    Ok(Some(AnySpan { type_url: data.text(&type_url), value: data.bytes(&value) }))
}
