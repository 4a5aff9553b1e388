//! What a failed turn answers in sidecar mode.
//!
//! The stock Spawn proxy ignores HTTP status codes and reads only the body: an empty body, or
//! one without `updated_context`, makes it re-POST the same invocation with backoff until its
//! request timeout (60 s), re-running the guest each time; bytes it cannot decode crash and
//! restart the proxy's actor process, losing the turn. So a failed turn answers a
//! valid `ActorInvocationResponse` that changes nothing: `updated_context` with the state
//! unset (the proxy keeps it) and the tags echoed, no workflow, no checkpoint, and as payload
//! a `google.rpc.Status` with a code and the cause. The proxy delivers it to the caller as
//! a reply: [`failure_in`] is how our clients (the guests' `invoke` import, the CLI) tell it
//! from one. The HTTP status (400, 404, 413, 500, 504) stays, for people and logs.
//!
//! The one exception is overload (503, past `--max-in-flight` and the wait queue behind it):
//! nothing ran, so it answers an empty body and the proxy retries a synchronous call with
//! backoff (an asynchronous one is lost, hence the queue).
//!
//! The actions route has no middleware: the handler itself bounds the requests in flight and
//! a fallback answers other methods, so that every answer there is one of these.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prost::{Message, Name};

use crate::protocol::convert::ResponseContext;
use crate::protocol::spawn as pb;
use crate::protocol::wit::types as wit;
use crate::wasm::executor::{GuestError, InvokeError};

/// `google.rpc.Status`, the error shape gRPC and Google APIs use: what a failed turn replies.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code` value.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The cause, for people.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Structured details (never set by the host).
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<prost_types::Any>,
}

impl Name for RpcStatus {
    const NAME: &'static str = "Status";
    const PACKAGE: &'static str = "google.rpc";

    fn type_url() -> String {
        format!("type.googleapis.com/{}", Self::full_name())
    }
}

/// The `google.rpc.Code` values the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Code {
    /// The actor's own code failed.
    Unknown = 2,
    /// The payload, state or invocation could not be decoded.
    InvalidArgument = 3,
    /// The turn ran past its deadline.
    DeadlineExceeded = 4,
    /// No such actor or action.
    NotFound = 5,
    /// A limit was hit: memory, reply size, body size.
    ResourceExhausted = 8,
    /// The guest trapped.
    Internal = 13,
}

/// Why a turn failed: the HTTP status and `google.rpc.Code` it answers, and the cause.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Failure {
    pub(super) status: StatusCode,
    pub(super) code: Code,
    pub(super) message: String,
}

impl Failure {
    pub(super) fn new(status: StatusCode, code: Code, message: impl Into<String>) -> Self {
        Failure { status, code, message: message.into() }
    }

    /// The failure a guest call's error answers.
    pub(super) fn of(error: &InvokeError) -> Self {
        let (status, code) = match error {
            InvokeError::Guest(GuestError(wit::Error::UnknownAction(_))) => (StatusCode::NOT_FOUND, Code::NotFound),
            InvokeError::Guest(GuestError(wit::Error::BadPayload(_))) => {
                (StatusCode::BAD_REQUEST, Code::InvalidArgument)
            }
            InvokeError::Guest(GuestError(wit::Error::Failed(_))) => (StatusCode::INTERNAL_SERVER_ERROR, Code::Unknown),
            InvokeError::Deadline(_) | InvokeError::NotStarted => (StatusCode::GATEWAY_TIMEOUT, Code::DeadlineExceeded),
            InvokeError::MemoryLimit(_) | InvokeError::ReplyTooLarge { .. } => {
                (StatusCode::INTERNAL_SERVER_ERROR, Code::ResourceExhausted)
            }
            InvokeError::Trap(_) => (StatusCode::INTERNAL_SERVER_ERROR, Code::Internal),
        };
        Failure::new(status, code, error.to_string())
    }

    /// The answer: logged with actor and action, then the response described in the module
    /// docs. `context` is what the invocation said (none if it could not be read: the tags
    /// then go empty, the one thing such an answer changes).
    pub(super) fn answer(self, actor: &str, action: &str, context: Option<ResponseContext>) -> Response {
        tracing::warn!(actor, action, status = self.status.as_u16(), "invocation failed: {}", self.message);
        let (self_id, tags) = context.map_or((None, HashMap::new()), |context| (Some(context.self_id), context.tags));
        let status = RpcStatus { code: self.code as i32, message: self.message, details: Vec::new() };
        let response = pb::ActorInvocationResponse {
            actor_name: self_id.as_ref().map(|id| id.name.clone()).unwrap_or_default(),
            actor_system: self_id.as_ref().map(|id| id.system.clone()).unwrap_or_default(),
            updated_context: Some(pb::Context {
                state: None,
                caller: None,
                self_: self_id,
                metadata: HashMap::new(),
                tags,
            }),
            payload: Some(pb::actor_invocation_response::Payload::Value(prost_types::Any {
                type_url: RpcStatus::type_url(),
                value: status.encode_to_vec(),
            })),
            workflow: None,
            checkpoint: false,
        };
        answered(self.status, response)
    }
}

/// The content type of every answer but overload's.
const PROTOBUF: &str = "application/octet-stream";

/// An `ActorInvocationResponse` answer with `status`.
pub(super) fn answered(status: StatusCode, response: pb::ActorInvocationResponse) -> Response {
    (status, [(header::CONTENT_TYPE, PROTOBUF)], response.encode_to_vec()).into_response()
}

/// The answer to a request refused by admission (the queue full, or its deadline passed while
/// waiting): 503 with an empty body, which the proxy retries with backoff when the call is
/// synchronous (nothing ran, so retrying is right) and drops when it is asynchronous.
pub(super) fn overloaded(refused: super::admission::Refused) -> Response {
    tracing::warn!("{refused}; answering 503, which the proxy retries if the call is synchronous");
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], Body::empty()).into_response()
}

/// The answer to a method other than POST on the actions route: a failure the proxy can
/// read, like every other answer there.
pub(super) async fn wrong_method() -> Response {
    let message = "the host refused the invocation: the actions route takes POST";
    Failure::new(StatusCode::METHOD_NOT_ALLOWED, Code::InvalidArgument, message).answer("?", "?", None)
}

/// The failure a reply carries, if it is one: how a client of the proxy tells a failed turn
/// (see the module docs) from a reply.
pub fn failure_in(reply: &prost_types::Any) -> Option<RpcStatus> {
    let type_name = reply.type_url.rsplit('/').next()?;
    if type_name != RpcStatus::full_name() {
        return None;
    }
    RpcStatus::decode(reply.value.as_slice()).ok()
}
