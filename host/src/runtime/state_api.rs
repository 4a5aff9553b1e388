//! The client API's state routes (spawn-wasm's own; the proxy has none that works): an
//! actor's current state or one of its kept revisions, and its history, in JSON.
//!
//! - `GET /api/v1/system/{system}/actors/{actor}/state[?revision=N]` →
//!   `{"revision": N, "time_ms": T, "state": <protobuf JSON with "@type", or null>}`
//! - `GET /api/v1/system/{system}/actors/{actor}/state/history` →
//!   `{"revisions": [{"revision", "time_ms", "type_url", "size"}, ...]}`, newest first.
//!
//! Errors answer as the invoke route does in JSON: the HTTP status, and
//! `{"status": {"status": "ACTOR_NOT_FOUND" | "ERROR", "message": ...}}`.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::failure::InvokeFailure;
use super::handle::Runtime;

/// The revision a query asks for (`?revision=N`, the proxy's parameter), if any: a whole
/// number, or a clear 400. Other parameters are ignored, as the proxy does.
pub(super) fn revision(query: Option<&str>) -> Result<Option<i64>, InvokeFailure> {
    let value = query.into_iter().flat_map(|query| query.split('&')).find_map(|pair| pair.strip_prefix("revision="));
    let Some(text) = value else { return Ok(None) };
    let revision = text.parse().map_err(|_| {
        InvokeFailure::BadRequest(format!("revision must be an integer (a revision number), got `{text}`"))
    })?;
    Ok(Some(revision))
}

/// `GET .../actors/{actor}/state[?revision=N]`.
pub(super) async fn state(
    State(runtime): State<Runtime>,
    Path((system, actor)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let answer = async {
        check_system(&runtime, system)?;
        let revision = revision(query.as_deref())?;
        let found = runtime.state_at(&actor, revision).await?;
        let codec = runtime.json_for(&actor);
        let state = found.stored.state.as_ref().map_or(Value::Null, |state| codec.any_to_json(state));
        Ok(json!({"revision": found.stored.revision, "time_ms": found.time_ms, "state": state}))
    };
    respond(answer.await)
}

/// `GET .../actors/{actor}/state/history`.
pub(super) async fn history(State(runtime): State<Runtime>, Path((system, actor)): Path<(String, String)>) -> Response {
    let answer = async {
        check_system(&runtime, system)?;
        let revisions = runtime.state_history(&actor).await?;
        let revisions: Vec<Value> = revisions
            .into_iter()
            .map(|revision| {
                json!({
                    "revision": revision.revision,
                    "time_ms": revision.time_ms,
                    "type_url": revision.type_url,
                    "size": revision.size,
                })
            })
            .collect();
        Ok(json!({ "revisions": revisions }))
    };
    respond(answer.await)
}

fn check_system(runtime: &Runtime, system: String) -> Result<(), InvokeFailure> {
    if system == runtime.system() {
        Ok(())
    } else {
        Err(InvokeFailure::UnknownSystem { requested: system, served: runtime.system().to_owned() })
    }
}

fn respond(answer: Result<Value, InvokeFailure>) -> Response {
    match answer {
        Ok(body) => (StatusCode::OK, Json(body)).into_response(),
        Err(failure) => {
            let (http, status) = failure.classify();
            let body = json!({"status": {"status": status.as_str_name(), "message": failure.to_string()}});
            (http, Json(body)).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revision_is_read_from_the_query() {
        assert_eq!(revision(None).unwrap(), None);
        assert_eq!(revision(Some("other=1")).unwrap(), None);
        assert_eq!(revision(Some("a=b&revision=12")).unwrap(), Some(12));
        let error = revision(Some("revision=x")).unwrap_err().to_string();
        assert!(error.contains("revision must be an integer") && error.contains("`x`"), "{error}");
    }
}
