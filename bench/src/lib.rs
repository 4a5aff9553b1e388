//! What the benchmarks share: the native baselines (the same counter actor in plain Rust,
//! behind the sidecar's protobuf ⇄ WIT conversions and route, and behind the proxy's client
//! API with its state in a map), invocation bytes, and a keep-alive HTTP load generator.

pub mod load;
pub mod usage;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::post;
use domain::{Counter, Increment};
use prost::{Message, Name};
use spawn_wasm_host::protocol::convert;
use spawn_wasm_host::protocol::invocation::Invocation;
use spawn_wasm_host::protocol::spawn::{self as pb, actors};
use spawn_wasm_host::protocol::wit::types as wit;
use spawn_wasm_host::sidecar::ProxyClient;
use spawn_wasm_host::wasm::chain::CallChain;
use spawn_wasm_host::wasm::dispatch::Dispatcher;
use spawn_wasm_host::wasm::executor::{Executor, InvokeError};
use spawn_wasm_host::wasm::module::ActorModule;

/// The system every benchmark uses.
pub const SYSTEM: &str = "spawn-system";

/// `increment(Increment{by: 1})` with state `Counter{value}` on the instance `name` of the
/// unnamed `counters` actor, as the proxy sends it.
pub fn increment_invocation(name: &str, value: i64) -> pb::ActorInvocation {
    let id = actors::ActorId { name: name.into(), system: SYSTEM.into(), parent: "counters".into() };
    let any = |message: &dyn Fn() -> (String, Vec<u8>)| {
        let (type_url, value) = message();
        prost_types::Any { type_url, value }
    };
    pb::ActorInvocation {
        actor: Some(id.clone()),
        action_name: "increment".into(),
        current_context: Some(pb::Context {
            state: Some(any(&|| (Counter::type_url(), Counter { value }.encode_to_vec()))),
            self_: Some(id),
            ..Default::default()
        }),
        payload: Some(pb::actor_invocation::Payload::Value(any(&|| {
            (Increment::type_url(), Increment { by: 1 }.encode_to_vec())
        }))),
        caller: None,
    }
}

/// The counter actor in native Rust, on the WIT records the guest would see.
pub fn native_counter(invocation: Invocation) -> Result<wit::Value, wit::Error> {
    let decode = |any: Option<wit::Any>| any.map(|any| any.value).unwrap_or_default();
    let input =
        Increment::decode(decode(invocation.payload).as_slice()).map_err(|e| wit::Error::BadPayload(e.to_string()))?;
    let state =
        Counter::decode(decode(invocation.state).as_slice()).map_err(|e| wit::Error::BadPayload(e.to_string()))?;
    let counter = Counter { value: state.value + input.by };
    let packed = wit::Any { type_url: Counter::type_url(), value: counter.encode_to_vec() };
    Ok(wit::Value {
        state: Some(packed.clone()),
        reply: Some(packed),
        tags: None,
        broadcast: None,
        effects: Vec::new(),
        routing: None,
        checkpoint: false,
    })
}

/// The sidecar's work for one request, natively: decode, convert, run, convert, encode.
pub fn native_round_trip(body: &[u8]) -> Vec<u8> {
    let invocation = pb::ActorInvocation::decode(body).expect("valid invocation");
    let (wit_invocation, context) = convert::invocation_to_wit("counters", invocation);
    let value = native_counter(wit_invocation).expect("native counter");
    convert::response_from_wit(context, value).encode_to_vec()
}

/// Where the benchmarked guests' `invoke` calls would go (the counter makes none).
pub fn unused_dispatcher() -> Arc<dyn Dispatcher> {
    Arc::new(ProxyClient::new("http://127.0.0.1:9").expect("static URL"))
}

/// The sidecar's work for one request, in WebAssembly: decode, convert, run the guest in
/// `module`, convert, encode.
pub async fn wasm_round_trip(
    executor: &Executor,
    module: &ActorModule,
    dispatcher: &Arc<dyn Dispatcher>,
    body: &[u8],
) -> Result<Vec<u8>, InvokeError> {
    let invocation = pb::ActorInvocation::decode(body).expect("valid invocation");
    let (wit_invocation, context) = convert::invocation_to_wit("counters", invocation);
    let chain = CallChain::new(std::time::Instant::now() + std::time::Duration::from_secs(10));
    let value = executor.run(module, wit_invocation, dispatcher.clone(), chain).await?;
    Ok(convert::response_from_wit(context, value).encode_to_vec())
}

/// The native baseline server: the sidecar's route, doing the same work natively.
pub async fn serve_native(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let app = Router::new().route(
        "/api/v1/actors/actions",
        post(|body: Bytes| async move {
            ([(header::CONTENT_TYPE, "application/octet-stream")], native_round_trip(&body)).into_response()
        }),
    );
    axum::serve(listener, app).await
}

/// What an embedded runtime cannot do with less, natively: the proxy's client API route
/// (`InvocationRequest` in, `InvocationResponse` out, protobuf), each counter's state looked up
/// and kept in a map. The floor the standalone scenario is measured against.
pub async fn serve_native_client_api(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let counters: Arc<Mutex<HashMap<String, i64>>> = Arc::default();
    let app = Router::new().route(
        "/api/v1/system/{system}/actors/{actor}/invoke",
        post(move |body: Bytes| {
            let counters = counters.clone();
            async move {
                ([(header::CONTENT_TYPE, "application/octet-stream")], native_client_api_call(&counters, &body))
                    .into_response()
            }
        }),
    );
    axum::serve(listener, app).await
}

/// One client-API call of the native baseline: `Increment` the named counter, reply its value.
fn native_client_api_call(counters: &Mutex<HashMap<String, i64>>, body: &[u8]) -> Vec<u8> {
    let request = pb::InvocationRequest::decode(body).expect("valid request");
    let name = request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| id.name.as_str());
    let by = match &request.payload {
        Some(pb::invocation_request::Payload::Value(any)) => {
            Increment::decode(any.value.as_slice()).map_or(0, |i| i.by)
        }
        _ => 0,
    };
    let value = {
        let mut counters = counters.lock().expect("not poisoned");
        let value = counters.entry(name.to_owned()).or_default();
        *value += by;
        *value
    };
    let reply = prost_types::Any { type_url: Counter::type_url(), value: Counter { value }.encode_to_vec() };
    pb::InvocationResponse {
        status: Some(pb::RequestStatus { status: pb::Status::Ok as i32, message: String::new() }),
        system: request.system,
        actor: request.actor,
        payload: Some(pb::invocation_response::Payload::Value(reply)),
    }
    .encode_to_vec()
}
