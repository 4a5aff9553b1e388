//! What the store keeps and answers: keys, stored states, revisions, and its errors.

use std::collections::HashMap;
use std::path::PathBuf;

use super::keys::KeyCheckError;
use super::sealing::SealError;
use crate::protocol::spawn::actors;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("state store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored record could not be decoded.
    #[error("state store: corrupt record for `{actor}`: {error}")]
    Corrupt {
        /// The actor whose record is corrupt.
        actor: String,
        /// The decoding error.
        error: prost::DecodeError,
    },
    /// A stored value does not open with the keys given: refused rather than served.
    #[error("state store: cannot read {row}: {error}")]
    Sealed {
        /// Which row.
        row: String,
        /// Why.
        error: SealError,
    },
    /// The keys given do not fit the database; nothing was changed.
    #[error(transparent)]
    Keys(#[from] KeyCheckError),
    /// A backup's destination cannot be used.
    #[error("backup: {path}: {reason}")]
    Destination {
        /// The destination.
        path: PathBuf,
        /// Why not.
        reason: String,
    },
    /// The data directory could not be created.
    #[error("state store: cannot create {path}: {error}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The cause.
        error: std::io::Error,
    },
    /// The database was written by a newer version of spawn-wasm, whose schema this one
    /// does not know: opening it could lose what the newer version stored.
    #[error("state store: the database has schema version {found}; this spawn-wasm knows up to {known}")]
    NewerSchema {
        /// The database's version.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// SQLite rolled back the transaction of a batch (as it does on an I/O error, say):
    /// none of its writes is on disk.
    #[error("state store: the transaction was rolled back; nothing of it was stored")]
    RolledBack,
    /// The store's thread has stopped.
    #[error("state store: closed")]
    Closed,
}

/// Where an actor's state is stored: its system, name and (for unnamed instances) parent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StateKey {
    /// Actor system.
    pub system: String,
    /// Instance name.
    pub name: String,
    /// Template name of an unnamed instance; empty otherwise.
    pub parent: String,
}

impl StateKey {
    /// The key of the actor `id`.
    pub fn of(id: &actors::ActorId) -> Self {
        StateKey { system: id.system.clone(), name: id.name.clone(), parent: id.parent.clone() }
    }
}

/// A stored actor state: tags, the state `Any` and its revision (one per change).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredState {
    /// The state, if the actor has one.
    pub state: Option<prost_types::Any>,
    /// The tags.
    pub tags: HashMap<String, String>,
    /// Incremented on every stored change.
    pub revision: i64,
    /// Which of the actor's saves this is (1, 2, ...; 0 if never stored): its slot in the
    /// ring of kept revisions is `seq % history`. The actor counts its own saves (it is the
    /// only writer of its state), so that a save finds its slot without a query.
    pub seq: i64,
}

/// One stored revision of an actor's state: what it was and when it was written, so that
/// an operator can pick one to look at or to restore.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Revision {
    /// The state and tags of this revision.
    pub stored: StoredState,
    /// When it was written, in Unix milliseconds.
    pub time_ms: i64,
}

/// What a history listing shows of a revision, without its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionSummary {
    /// The revision.
    pub revision: i64,
    /// When it was written, in Unix milliseconds.
    pub time_ms: i64,
    /// The state's type URL; empty if the revision has no state (tags only).
    pub type_url: String,
    /// The size of the state's encoded message, in bytes.
    pub size: usize,
}
