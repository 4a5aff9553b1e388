//! The client API, on the proxy's routes and with its bodies, so that Spawn clients work
//! unchanged. Unlike the proxy, errors are prompt and say what happened: an unknown actor
//! answers `ACTOR_NOT_FOUND` at once, an unknown action or a failed turn `ERROR` with the
//! cause.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};

use crate::telemetry::context::{TRACEPARENT, TRACESTATE};
use crate::telemetry::recent::RecentRequests;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use prost::Message;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use std::sync::Arc;

use super::backup_api;
use super::failure::InvokeFailure;
use super::handle::Runtime;
use super::state_api;
use crate::console::{self, Console};
use crate::http::{self, Access, HttpLimits};
use crate::protocol::json::{JsonCodec, ReflectDescriptor};
use crate::protocol::spawn::{self as pb, actors};

pub(super) async fn serve(
    listener: TcpListener,
    runtime: Runtime,
    limits: HttpLimits,
    access: Access,
    draining: CancellationToken,
) -> std::io::Result<()> {
    let api = Router::new()
        .route("/api/v1/system/{system}/actors/{actor}/invoke", post(invoke))
        .route("/api/v1/system/{system}/actors/spawn", post(spawn))
        .route("/api/v1/system/{system}/actors/{actor}/state", get(state_api::state))
        .route("/api/v1/system/{system}/actors/{actor}/state/history", get(state_api::history))
        .route("/v1/backup", post(backup_api::backup));
    let api = http::guarded(http::limited(api, limits), access.clone()).merge(console::routes(access.clone()));
    let app = http::with_operations(api, access).with_state(runtime);
    http::serve(listener, app, limits, draining).await
}

impl http::Operations for Runtime {
    fn modules(&self) -> &crate::modules::set::ModuleSet {
        Runtime::modules(self)
    }

    fn metrics(&self) -> &crate::metrics::Metrics {
        self.metrics_registry()
    }

    fn ready(&self) -> bool {
        self.is_running()
    }
}

impl Console for Runtime {
    const MODE: &'static str = "standalone";

    fn system(&self) -> &str {
        Runtime::system(self)
    }

    fn active_instances(&self) -> Option<std::collections::BTreeMap<String, Vec<String>>> {
        Some(Runtime::active_instances(self))
    }

    fn recent_requests(&self) -> &RecentRequests {
        self.inner.executor.engine().telemetry().recent()
    }
}

/// The body format of a request, and so of its answer: protobuf (the proxy's), or JSON for
/// humans when the request says `Content-Type: application/json`.
enum Format {
    Protobuf,
    Json(Arc<JsonCodec>),
}

impl Format {
    /// The format of a request; in JSON, with the messages `codec` knows (the target's
    /// module's).
    fn of(headers: &HeaderMap, codec: impl FnOnce() -> Arc<JsonCodec>) -> Format {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if json { Format::Json(codec()) } else { Format::Protobuf }
    }

    fn decode<M: Message + Default + ReflectDescriptor>(&self, body: Bytes) -> Result<M, InvokeFailure> {
        match self {
            Format::Protobuf => M::decode(body)
                .map_err(|error| InvokeFailure::BadRequest(format!("the body is not a {}: {error}", M::NAME))),
            Format::Json(codec) => codec.decode(&body).map_err(|error| InvokeFailure::BadRequest(error.to_string())),
        }
    }

    /// Decodes an `InvocationRequest`. In JSON, a `value` without `"@type"` (a bare object)
    /// gets the input type its action declares; `actor` (the path's) names the target if
    /// the body does not.
    fn decode_invocation(
        &self,
        body: Bytes,
        runtime: &Runtime,
        actor: &str,
    ) -> Result<pb::InvocationRequest, InvokeFailure> {
        let Format::Json(codec) = self else { return self.decode(body) };
        let mut json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|error| InvokeFailure::BadRequest(format!("the body is not JSON: {error}")))?;
        let bare =
            json.get("value").and_then(serde_json::Value::as_object).is_some_and(|value| !value.contains_key("@type"));
        if bare {
            let text =
                |key: &str| json.pointer(key).and_then(serde_json::Value::as_str).filter(|text| !text.is_empty());
            let target = text("/actor/id/name").unwrap_or(actor).to_owned();
            let action = text("/actionName").or_else(|| text("/action_name")).unwrap_or_default().to_owned();
            let input = runtime.input_type(&target, &action)?.ok_or_else(|| {
                InvokeFailure::BadRequest(format!(
                    "`value` has no \"@type\" and `{target}.{action}` declares no input type: name its message with \"@type\""
                ))
            })?;
            json["value"]["@type"] = format!("{}{input}", pb::TYPE_URL_PREFIX).into();
        }
        codec.decode_value(json).map_err(|error| InvokeFailure::BadRequest(error.to_string()))
    }

    fn respond<M: Message + ReflectDescriptor>(&self, status: StatusCode, message: &M) -> Response {
        match self {
            Format::Protobuf => {
                (status, [(header::CONTENT_TYPE, "application/octet-stream")], message.encode_to_vec()).into_response()
            }
            Format::Json(codec) => (status, axum::Json(codec.encode(message))).into_response(),
        }
    }
}

fn request_status(status: pb::Status, message: String) -> Option<pb::RequestStatus> {
    Some(pb::RequestStatus { status: status as i32, message })
}

async fn invoke(
    State(runtime): State<Runtime>,
    Path((system, actor)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let format = Format::of(&headers, || runtime.json_for(&actor));
    let mut request = match format.decode_invocation(body, &runtime, &actor) {
        Ok(request) => request,
        Err(failure) => return invoke_failure(&format, &failure, None, None),
    };
    // Fill what the body leaves empty from the path; a body that names another target than
    // its path is refused, so that a gateway authorising by path cannot be bypassed.
    let request_system = request.system.get_or_insert_with(Default::default);
    if request_system.name.is_empty() {
        request_system.name = system.clone();
    }
    let id = request.actor.get_or_insert_with(Default::default).id.get_or_insert_with(Default::default);
    if id.name.is_empty() {
        id.name = actor.clone();
    }
    take_trace_headers(&headers, &mut request.metadata);
    let system_echo = Some(actors::ActorSystem { name: request_system_name(&request), registry: None });
    let actor_echo = request.actor.as_ref().map(|actor| actors::Actor { id: actor.id.clone(), ..Default::default() });
    if let Some(failure) = target_mismatch(&request, &system, &actor) {
        return invoke_failure(&format, &failure, system_echo, actor_echo);
    }
    if system != runtime.system() {
        let failure = InvokeFailure::UnknownSystem { requested: system, served: runtime.system().to_owned() };
        return invoke_failure(&format, &failure, system_echo, actor_echo);
    }
    match runtime.invoke(request).await {
        Ok(reply) => format.respond(
            StatusCode::OK,
            &pb::InvocationResponse {
                status: request_status(pb::Status::Ok, String::new()),
                system: system_echo,
                actor: actor_echo,
                payload: Some(match reply {
                    Some(any) => pb::invocation_response::Payload::Value(any),
                    None => pb::invocation_response::Payload::Noop(pb::Noop {}),
                }),
            },
        ),
        Err(failure) => invoke_failure(&format, &failure, system_echo, actor_echo),
    }
}

/// A `traceparent` header (and its `tracestate`) overrides what the body's metadata says:
/// the request continues the caller's trace.
fn take_trace_headers(headers: &HeaderMap, metadata: &mut std::collections::HashMap<String, String>) {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let Some(parent) = header(TRACEPARENT) else { return };
    metadata.insert(TRACEPARENT.to_owned(), parent.to_owned());
    match header(TRACESTATE) {
        Some(state) => metadata.insert(TRACESTATE.to_owned(), state.to_owned()),
        None => metadata.remove(TRACESTATE),
    };
}

/// Why `request`'s body does not name the system and actor of its path, if it does not.
fn target_mismatch(request: &pb::InvocationRequest, system: &str, actor: &str) -> Option<InvokeFailure> {
    let named = request.actor.as_ref().and_then(|named| named.id.as_ref()).map_or("", |id| id.name.as_str());
    if named != actor {
        return Some(InvokeFailure::BadRequest(format!(
            "the body invokes actor `{named}` but the path names `{actor}`: they must be the same"
        )));
    }
    let body_system = request.system.as_ref().map_or("", |named| named.name.as_str());
    (body_system != system).then(|| {
        InvokeFailure::BadRequest(format!(
            "the body names actor system `{body_system}` but the path names `{system}`: they must be the same"
        ))
    })
}

fn request_system_name(request: &pb::InvocationRequest) -> String {
    request.system.as_ref().map(|system| system.name.clone()).unwrap_or_default()
}

fn invoke_failure(
    format: &Format,
    failure: &InvokeFailure,
    system: Option<actors::ActorSystem>,
    actor: Option<actors::Actor>,
) -> Response {
    let (http, status) = failure.classify();
    tracing::debug!(status = http.as_u16(), "invocation failed: {failure}");
    let response =
        pb::InvocationResponse { status: request_status(status, failure.to_string()), system, actor, payload: None };
    format.respond(http, &response)
}

/// `SpawnRequest`, and with `?revision=N` (the proxy's parameter) a restore: revision N
/// becomes the current state of each actor listed.
async fn spawn(
    State(runtime): State<Runtime>,
    Path(system): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // A spawn or restore carries no actor's message: the protocol's are enough.
    let format = Format::of(&headers, JsonCodec::protocol);
    let result = match (format.decode::<pb::SpawnRequest>(body), state_api::revision(query.as_deref())) {
        (Err(failure), _) | (_, Err(failure)) => Err(failure),
        (Ok(_), _) if system != runtime.system() => {
            Err(InvokeFailure::UnknownSystem { requested: system, served: runtime.system().to_owned() })
        }
        (Ok(request), Ok(None)) => runtime.spawn(request).await,
        (Ok(request), Ok(Some(revision))) => runtime.restore(request, revision).await,
    };
    match result {
        Ok(()) => format
            .respond(StatusCode::OK, &pb::SpawnResponse { status: request_status(pb::Status::Ok, "Accepted".into()) }),
        Err(failure) => {
            let (http, status) = failure.classify();
            format.respond(http, &pb::SpawnResponse { status: request_status(status, failure.to_string()) })
        }
    }
}
