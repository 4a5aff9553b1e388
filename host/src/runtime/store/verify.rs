//! Checking a data directory without starting a host (`spawn-wasm verify`): SQLite's
//! integrity check, the keys given against the key check, and every stored value opened and
//! decoded. Read-only: it changes nothing, so it may check a running host's directory or a
//! backup.

use std::path::Path;

use prost::Message;

use super::copy::{DB_FILE, open_read_only};
use super::keys::{self, StoreKeys};
use super::schema::table_exists;
use super::sealing::{Row, SealedBy, sealed_by};
use super::types::StoreError;
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
    /// Whether SQLite's integrity check passed (its findings are among the problems).
    pub integrity_ok: bool,
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
    report.integrity_ok = integrity == ["ok"];
    if !report.integrity_ok {
        report.failed += integrity.len();
        report.problems.extend(integrity.into_iter().take(LISTED).map(|line| format!("integrity check: {line}")));
    }
    report.encrypted = keys::stored_check(&connection)?.is_some();
    let sealing = keys::plan_for(&connection, keys)?.sealing;
    let note = |report: &mut VerifyReport, stored: &[u8], outcome: Result<(), String>| {
        match sealed_by(stored) {
            SealedBy::Plain => report.plain += 1,
            SealedBy::Key(id) if sealing.previous.as_ref().is_some_and(|previous| previous.id() == id) => {
                report.sealed_by_previous += 1
            }
            SealedBy::Key(_) => {}
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
        let (system, name, parent): (String, String, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let (seq, revision, stored): (i64, i64, Vec<u8>) = (row.get(3)?, row.get(4)?, row.get(5)?);
        let row = Row::State { system: &system, name: &name, parent: &parent, seq, revision };
        let outcome = sealing
            .open(&stored, &row)
            .map_err(|error| error.to_string())
            .and_then(|plain| actors::ActorState::decode(plain.as_ref()).map(drop).map_err(|error| error.to_string()))
            .map_err(|error| format!("{row} ({system}): {error}"));
        report.states += 1;
        note(&mut report, &stored, outcome);
    }
    if table_exists(&connection, "scheduled_call")? {
        let mut calls = connection.prepare("SELECT id, system, actor, due_ms, request FROM scheduled_call")?;
        let mut rows = calls.query([])?;
        while let Some(row) = rows.next()? {
            let (id, system, actor, due_ms, stored): (i64, String, String, i64, Vec<u8>) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?);
            let row = Row::Call { id, system: &system, actor: &actor, due_ms };
            let outcome = sealing
                .open(&stored, &row)
                .map_err(|error| error.to_string())
                .and_then(|plain| {
                    pb::InvocationRequest::decode(plain.as_ref()).map(drop).map_err(|error| error.to_string())
                })
                .map_err(|error| format!("{row}: {error}"));
            report.scheduled_calls += 1;
            note(&mut report, &stored, outcome);
        }
    }
    if table_exists(&connection, "spawned_actor")? {
        let spawned: i64 = connection.query_row("SELECT COUNT(*) FROM spawned_actor", [], |row| row.get(0))?;
        report.spawned = spawned as usize;
    }
    Ok(report)
}
