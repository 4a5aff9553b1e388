//! The error an action returns: the WIT `error` variant, with conveniences.

pub use crate::bindings::spawn::actor::types::Error;

impl Error {
    /// A failure of the actor's own logic, with a message for the caller and the logs.
    pub fn failed(message: impl std::fmt::Display) -> Self {
        Error::Failed(message.to_string())
    }
}

/// An action's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
