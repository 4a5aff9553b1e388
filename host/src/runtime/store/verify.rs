//! Checking a data directory without starting a host (`spawn-wasm verify`): SQLite's
//! integrity check, the keys given against the key check, and every stored value opened and
//! decoded. Read-only: it changes nothing, so it may check a running host's directory or a
//! backup.

use std::path::Path;

use prost::Message;

use super::copy::{DB_FILE, open_read_only};
use super::keys::{self, StoreKeys};
use super::sealing::{SealedBy, call_aad, sealed_by, state_aad};
use super::types::{StateKey, StoreError};
use crate::protocol::spawn::{self as pb, actors};

/// Most problems a report lists (it counts them all).
const LISTED: usize = 20;

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Stored revisions of actor states.
    pub states: usize,
    /// Calls scheduled for later.
    pub scheduled_calls: usize,
    /// Spawned unnamed instances recorded.
    pub spawned: usize,
    /// Values stored plain (all of them without a key).
    pub plain: usize,
    /// Values sealed with the previous key (a rotation under way).
    pub sealed_by_previous: usize,
    /// Whether the database is encrypted (has a key check).
    pub encrypted: bool,
    /// Values that failed (first [`LISTED`]), and how many in all.
    pub problems: Vec<String>,
    /// How many values failed.
    pub failed: usize,
}

/// Checks the data directory `dir` with `keys`: an error if it cannot be checked at all
/// (no database, the keys refused); otherwise a report, whose `failed` says whether every
/// value opened.
pub fn verify(dir: &Path, keys: &StoreKeys) -> Result<VerifyReport, StoreError> {
    let path = dir.join(DB_FILE);
    let connection = open_read_only(&path)?.ok_or_else(|| StoreError::Directory {
        path: path.clone(),
        error: std::io::Error::new(std::io::ErrorKind::NotFound, "no state database here"),
    })?;
    let mut report = VerifyReport::default();
    let integrity: Vec<String> =
        connection.prepare("PRAGMA integrity_check")?.query_map([], |row| row.get(0))?.collect::<Result<_, _>>()?;
    if integrity != ["ok"] {
        report.failed += integrity.len();
        report.problems.extend(integrity.into_iter().take(LISTED).map(|line| format!("integrity check: {line}")));
    }
    let check = keys::stored_check(&connection)?;
    report.encrypted = check.is_some();
    let sealing = keys::plan(check.as_deref(), keys::has_values(&connection)?, keys)?.sealing;
    let note = |report: &mut VerifyReport, stored: &[u8], outcome: Result<(), String>| {
        match (sealed_by(stored), &sealing.current) {
            (SealedBy::Plain, _) => report.plain += 1,
            (SealedBy::Key(id), Some(current)) if id != current.id() => report.sealed_by_previous += 1,
            _ => {}
        }
        if let Err(problem) = outcome {
            report.failed += 1;
            if report.problems.len() < LISTED {
                report.problems.push(problem);
            }
        }
    };
    let mut states = connection.prepare("SELECT system, name, parent, seq, revision, state FROM actor_state")?;
    let mut rows = states.query([])?;
    while let Some(row) = rows.next()? {
        let key = StateKey { system: row.get(0)?, name: row.get(1)?, parent: row.get(2)? };
        let (seq, revision, stored): (i64, i64, Vec<u8>) = (row.get(3)?, row.get(4)?, row.get(5)?);
        let outcome = sealing
            .open(&stored, &state_aad(&key, seq, revision))
            .map_err(|error| error.to_string())
            .and_then(|plain| actors::ActorState::decode(plain.as_ref()).map(drop).map_err(|error| error.to_string()))
            .map_err(|error| format!("revision {revision} of `{}` ({}): {error}", key.name, key.system));
        report.states += 1;
        note(&mut report, &stored, outcome);
    }
    if keys::table_exists(&connection, "scheduled_call")? {
        let mut calls = connection.prepare("SELECT id, system, actor, due_ms, request FROM scheduled_call")?;
        let mut rows = calls.query([])?;
        while let Some(row) = rows.next()? {
            let (id, system, actor, due_ms, stored): (i64, String, String, i64, Vec<u8>) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
            let outcome = sealing
                .open(&stored, &call_aad(id, &system, &actor, due_ms))
                .map_err(|error| error.to_string())
                .and_then(|plain| {
                    pb::InvocationRequest::decode(plain.as_ref()).map(drop).map_err(|error| error.to_string())
                })
                .map_err(|error| format!("scheduled call {id} to `{actor}`: {error}"));
            report.scheduled_calls += 1;
            note(&mut report, &stored, outcome);
        }
    }
    if keys::table_exists(&connection, "spawned_actor")? {
        let spawned: i64 = connection.query_row("SELECT COUNT(*) FROM spawned_actor", [], |row| row.get(0))?;
        report.spawned = spawned as usize;
    }
    Ok(report)
}
