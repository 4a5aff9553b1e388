//! The console's JSON views: what the page shows that no other route answers.

use axum::Json;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::schema;
use super::source::Console;
use crate::modules::inspect::{ActorReport, actor_report};
use crate::protocol::json::JsonCodec;

/// `GET /v1/console`: the mode (what the console may offer) and the system.
pub(super) async fn about<S: Console>(State(state): State<S>) -> Response {
    Json(json!({ "mode": S::MODE, "system": state.system(), "version": env!("CARGO_PKG_VERSION") })).into_response()
}

/// One actor definition as the console lists it.
#[derive(Serialize)]
struct ActorView {
    #[serde(flatten)]
    report: ActorReport,
    /// The component providing it.
    file: String,
    /// Its short content hash.
    hash: String,
    /// Its active instances, where the mode knows them.
    active: Option<Vec<String>>,
}

/// `GET /v1/actors`: every actor definition, with its active instances in standalone mode.
pub(super) async fn actors<S: Console>(State(state): State<S>) -> Response {
    let mut active = state.active_instances();
    let registry = state.modules().registry();
    let views: Vec<ActorView> = registry
        .modules()
        .flat_map(|module| module.definitions.iter().map(move |definition| (module, definition)))
        .map(|(module, definition)| ActorView {
            report: actor_report(module, definition),
            file: module.path.display().to_string(),
            hash: module.hash.clone(),
            active: active.as_mut().map(|active| active.remove(&definition.name).unwrap_or_default()),
        })
        .collect();
    Json(views).into_response()
}

/// Which module's messages a request means: the actor's (each module's JSON uses its own
/// descriptors), or every module's when no actor is named.
#[derive(Deserialize)]
pub(super) struct ForActor {
    actor: Option<String>,
}

/// The codecs `query` means: the named actor's module's, else every loaded module's.
fn codecs<S: Console>(state: &S, query: &ForActor) -> Vec<Arc<JsonCodec>> {
    match &query.actor {
        Some(actor) => vec![state.modules().json_of(actor)],
        None => state.modules().registry().modules().map(|module| module.json.clone()).collect(),
    }
}

/// `GET /v1/messages[?actor=NAME]`: the messages components describe (inputs an action may
/// take), sorted.
pub(super) async fn messages<S: Console>(State(state): State<S>, Query(query): Query<ForActor>) -> Response {
    let mut names: Vec<String> =
        codecs(&state, &query).iter().flat_map(|codec| schema::user_messages(codec.pool())).collect();
    names.sort();
    names.dedup();
    Json(names).into_response()
}

/// `GET /v1/messages/{name}[?actor=NAME]`: a message's fields; 404 naming it if no
/// component (or not the actor's) describes it.
pub(super) async fn message<S: Console>(
    State(state): State<S>,
    Path(name): Path<String>,
    Query(query): Query<ForActor>,
) -> Response {
    match codecs(&state, &query).iter().find_map(|codec| schema::message_schema(codec.pool(), &name)) {
        Some(schema) => Json(schema).into_response(),
        None => {
            let error = format!("no loaded component describes the message `{name}`");
            (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response()
        }
    }
}

/// Which requests a list means: those that reached actor instance `actor`, or all.
#[derive(Deserialize)]
pub(super) struct ForInstance {
    actor: Option<String>,
}

/// `GET /v1/requests[?actor=INSTANCE]`: the last requests (the most recently active first),
/// each with its spans.
pub(super) async fn requests<S: Console>(State(state): State<S>, Query(query): Query<ForInstance>) -> Response {
    Json(state.recent_requests().traces(query.actor.as_deref())).into_response()
}

/// `GET /v1/requests/{trace}`: one request's spans; 404 if it is not (or no longer) kept.
pub(super) async fn request<S: Console>(State(state): State<S>, Path(trace): Path<String>) -> Response {
    match state.recent_requests().trace(&trace) {
        Some(trace) => Json(trace).into_response(),
        None => {
            let error = format!("no request of trace `{trace}` is kept (the console keeps the last ones)");
            (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response()
        }
    }
}
