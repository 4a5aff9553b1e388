//! `POST /v1/backup` (spawn-wasm's own, guarded like the client API): a consistent copy of
//! the state database, written while the host serves, on the host's machine.
//!
//! Body `{"dest": "/absolute/dir"}` (a directory that does not exist or is empty, outside
//! the data directory); answer `{"file", "bytes", "ms"}`, or `{"error": ...}` with 400 for
//! a destination that cannot be used and 500 for a failed copy.

use std::path::PathBuf;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::handle::Runtime;
use super::store::StoreError;

#[derive(serde::Deserialize)]
struct BackupRequest {
    dest: PathBuf,
}

/// `POST /v1/backup`.
pub(super) async fn backup(State(runtime): State<Runtime>, body: Bytes) -> Response {
    let request: BackupRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            let message = format!("the body must be {{\"dest\": \"/absolute/dir\"}}: {error}");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response();
        }
    };
    match runtime.inner.store.backup(request.dest).await {
        Ok(report) => {
            tracing::info!(file = %report.file.display(), bytes = report.bytes, ms = report.elapsed.as_millis() as u64, "state store backed up");
            let body = json!({"file": report.file, "bytes": report.bytes, "ms": report.elapsed.as_millis() as u64});
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(error) => {
            let status = match error {
                StoreError::Destination { .. } => StatusCode::BAD_REQUEST,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            tracing::warn!(%error, "backup failed");
            (status, Json(json!({ "error": error.to_string() }))).into_response()
        }
    }
}
