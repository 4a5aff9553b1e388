//! Why an invocation or a spawn failed: the runtime's typed errors, mapped to the client
//! API's answers by the server.

use axum::http::StatusCode;

use crate::protocol::spawn as pb;
use crate::wasm::chain::ChainError;

/// Why an invocation or spawn failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InvokeFailure {
    /// The request names another actor system.
    #[error("unknown actor system `{requested}`: this runtime serves `{served}`")]
    UnknownSystem {
        /// The system requested.
        requested: String,
        /// The system served.
        served: String,
    },
    /// No loaded component provides the actor, and no instance of that name was spawned.
    #[error("Actor {actor} not found on ActorSystem {system}")]
    ActorNotFound {
        /// The actor.
        actor: String,
        /// The system.
        system: String,
    },
    /// The actor's state history does not keep this revision (never written, or pruned).
    #[error("revision {revision} of `{actor}` is not kept (see its history)")]
    RevisionNotFound {
        /// The actor.
        actor: String,
        /// The revision asked for.
        revision: i64,
    },
    /// The actor has no such action.
    #[error("Action [{action}] not found for Actor [{actor}]")]
    ActionNotFound {
        /// The actor.
        actor: String,
        /// The action.
        action: String,
    },
    /// The request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The actor's turn failed (guest error, trap, deadline, memory) or its state could
    /// not be stored. Its state is unchanged.
    #[error("{actor}.{action} failed: {cause}")]
    Failed {
        /// The actor.
        actor: String,
        /// The action.
        action: String,
        /// Why.
        cause: String,
    },
    /// The request's deadline passed before the call answered; whatever it had queued for
    /// it is dropped, and a guest still running for it is interrupted.
    #[error("{actor}.{action} did not answer within the request's deadline")]
    DeadlineExceeded {
        /// The actor.
        actor: String,
        /// The action.
        action: String,
    },
    /// A synchronous invoke cycle or a routing loop, refused or cut.
    #[error(transparent)]
    Loop(#[from] ChainError),
    /// A limit on queued work was reached; the call was refused at once.
    #[error("overloaded: {0}")]
    Overloaded(String),
    /// The runtime is shutting down.
    #[error("the runtime is shutting down")]
    ShuttingDown,
}

/// A reply: the reply `Any`, or `None` for no-reply and async calls.
pub type InvokeResult = Result<Option<prost_types::Any>, InvokeFailure>;

impl InvokeFailure {
    /// The HTTP status and protocol status the client API answers this failure with.
    pub(super) fn classify(&self) -> (StatusCode, pb::Status) {
        match self {
            InvokeFailure::ActorNotFound { .. } => (StatusCode::NOT_FOUND, pb::Status::ActorNotFound),
            InvokeFailure::ActionNotFound { .. } | InvokeFailure::RevisionNotFound { .. } => {
                (StatusCode::NOT_FOUND, pb::Status::Error)
            }
            InvokeFailure::UnknownSystem { .. } | InvokeFailure::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, pb::Status::Error)
            }
            InvokeFailure::Failed { .. } => (StatusCode::INTERNAL_SERVER_ERROR, pb::Status::Error),
            InvokeFailure::DeadlineExceeded { .. } => (StatusCode::GATEWAY_TIMEOUT, pb::Status::Error),
            InvokeFailure::Loop(_) => (StatusCode::LOOP_DETECTED, pb::Status::Error),
            InvokeFailure::Overloaded(_) | InvokeFailure::ShuttingDown => {
                (StatusCode::SERVICE_UNAVAILABLE, pb::Status::Error)
            }
        }
    }
}

/// Why a shutdown did not end with every acknowledged state stored.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// These actors' state could not be stored (name, cause), after retries.
    #[error("the state of {} was not stored: {}", count(.0.len()), names(.0))]
    Unsaved(Vec<(String, String)>),
    /// Some actors did not finish their mailbox and persist within the grace period.
    #[error("some actors did not stop within {0:?}; their state may not be stored")]
    Timeout(std::time::Duration),
}

fn count(actors: usize) -> String {
    if actors == 1 { "1 actor".into() } else { format!("{actors} actors") }
}

fn names(unsaved: &[(String, String)]) -> String {
    unsaved.iter().map(|(actor, cause)| format!("{actor} ({cause})")).collect::<Vec<_>>().join(", ")
}
