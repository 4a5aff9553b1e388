//! The sidecar's request path without the guest: arbitrary bytes decoded as the proxy's
//! `ActorInvocation`, converted to the turn's input and lowered to the guest's record,
//! answered with a value built from it (every workflow field set), converted back and
//! encoded. Nothing may panic, and the
//! response must survive an encode/decode round trip unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use spawn_wasm_host::protocol::convert;
use spawn_wasm_host::protocol::spawn as pb;
use spawn_wasm_host::protocol::invocation::Invocation;
use spawn_wasm_host::protocol::wit::types as wit;

fuzz_target!(|bytes: &[u8]| {
    let Ok(invocation) = pb::ActorInvocation::decode(bytes) else { return };
    let Some(definition) = convert::definition_name(&invocation).map(str::to_owned) else { return };
    let (invocation, context) = convert::invocation_to_wit(&definition, invocation);
    let lowered = invocation.lower(0).expect("an invocation the proxy can send fits a guest's buffer");
    assert!(lowered.metadata_count as usize <= lowered.pairs.len());
    let response = convert::response_from_wit(context, echo(invocation));
    let encoded = response.encode_to_vec();
    let decoded = pb::ActorInvocationResponse::decode(encoded.as_slice()).expect("our own response decodes");
    assert_eq!(decoded, response, "the response changed in an encode/decode round trip");
});

/// A turn's value that uses every part of `invocation`: its input as the new state, its
/// state as the reply, its metadata as tags, and a broadcast, a side effect and a pipe.
fn echo(invocation: Invocation) -> wit::Value {
    let route = wit::Route {
        actor: invocation.caller.as_ref().map_or_else(|| invocation.actor.clone(), |caller| caller.name.clone()),
        action: invocation.action.clone(),
        register_ref: Some(invocation.self_id.parent.clone()).filter(|parent| !parent.is_empty()),
    };
    wit::Value {
        state: invocation.payload.clone(),
        reply: invocation.state.clone(),
        tags: Some(invocation.metadata.clone()),
        broadcast: Some(wit::Broadcast { channel: invocation.action.clone(), payload: invocation.payload.clone() }),
        effects: vec![wit::SideEffect {
            actor: route.actor.clone(),
            action: route.action.clone(),
            payload: invocation.state,
            register_ref: route.register_ref.clone(),
            scheduled_to: Some(invocation.metadata.len() as i64),
            metadata: invocation.tags,
        }],
        routing: Some(wit::Routing::Pipe(route)),
        checkpoint: invocation.payload.is_some(),
    }
}
