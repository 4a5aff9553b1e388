//! Which keys a database needs, checked before anything is changed: a database written with
//! a key refuses to open without it or with another one, naming the problem.
//!
//! The row `key-check` of `store_secret` holds a known marker sealed with the database's
//! key, and what a pass under way still has to reseal: plain values (a plain database opened
//! with a key) and values of the previous key (a rotation). Being sealed, that list cannot be
//! changed without the key (to have plain values read again, say). A database without the
//! row is plain.

use rusqlite::{Connection, OptionalExtension};

use super::schema::table_exists;
use super::sealing::{KeyId, SEALED_PREFIX, SealedBy, Sealing, StoreKey, sealed_by};
use super::types::StoreError;

const MARKER: &[u8] = b"spawn-wasm key check v1";
const AAD: &[u8] = b"spawn-wasm/key-check/v1";

/// The keys the operator gave: the one to seal with, and, to rotate, the one it replaces.
#[derive(Debug, Clone, Default)]
pub struct StoreKeys {
    /// `SPAWN_STATESTORE_KEY`: every value is sealed with it; `None` keeps a plain database
    /// plain (an encrypted one refuses to open).
    pub current: Option<StoreKey>,
    /// The key being rotated from: read until every value is resealed with `current`.
    pub previous: Option<StoreKey>,
}

/// Why the keys given do not fit the database. Nothing was changed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyCheckError {
    /// The database is encrypted and no key was given.
    #[error(
        "the state database is encrypted (key id {found}) and no key was given: set SPAWN_STATESTORE_KEY \
         (or --statestore-key, or `statestore-key` in the configuration file) to its key"
    )]
    KeyRequired {
        /// The database's key id.
        found: KeyId,
    },
    /// The key given is not the database's.
    #[error(
        "the state database is encrypted with key id {found}, but SPAWN_STATESTORE_KEY has key id {given}: it is \
         not this database's key (to rotate to a new key, give the database's as --statestore-key-previous)"
    )]
    WrongKey {
        /// The database's key id.
        found: KeyId,
        /// The id of the key given.
        given: KeyId,
    },
    /// The key's id matches but its check does not open: a wrong key, or an altered check.
    #[error("the state database's key check (key id {id}) does not open with the key given: wrong key, or altered")]
    CheckFailed {
        /// The key id.
        id: KeyId,
    },
    /// A rotation is under way and its previous key was not given.
    #[error(
        "the state database is being re-encrypted from key id {previous}, and some values are still sealed with \
         it: give that key as --statestore-key-previous (SPAWN_STATESTORE_KEY_PREVIOUS) until the pass ends"
    )]
    PreviousRequired {
        /// The previous key's id.
        previous: KeyId,
    },
    /// A second rotation asked while the first is under way.
    #[error(
        "the state database is still being re-encrypted from key id {pending}: restart with that key as \
         --statestore-key-previous and its new key until the pass ends, then rotate from key id {given}"
    )]
    RotationUnfinished {
        /// The key the unfinished pass reseals from.
        pending: KeyId,
        /// The previous key given now.
        given: KeyId,
    },
    /// No key check, but encrypted values: the check was deleted (to have plain values read
    /// again, say) or lost; either way the database is not as this host left it.
    #[error(
        "the state database holds encrypted values but no key check: it was altered or damaged; nothing was \
         changed (start from a backup, or check it with `spawn-wasm verify`)"
    )]
    CheckMissing,
}

/// What a pass under way still has to reseal, as the key check records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Pending {
    plain: bool,
    previous: Option<KeyId>,
}

impl Pending {
    fn any(self) -> bool {
        self.plain || self.previous.is_some()
    }

    fn encode(self) -> Vec<u8> {
        let mut record = MARKER.to_vec();
        record.push(u8::from(self.plain) | (u8::from(self.previous.is_some()) << 1));
        record.extend(self.previous.iter().flat_map(|id| id.0));
        record
    }

    fn decode(record: &[u8]) -> Option<Pending> {
        let rest = record.strip_prefix(MARKER)?;
        let (&flags, previous) = rest.split_first()?;
        let previous = if flags & 2 != 0 { Some(KeyId(previous.try_into().ok()?)) } else { None };
        Some(Pending { plain: flags & 1 != 0, previous })
    }
}

/// How the store opens a database with the keys given.
#[derive(Debug)]
pub(super) struct Plan {
    /// What the store's thread seals and opens with.
    pub sealing: Sealing,
    /// A new key check to write (before any value is resealed), if it changes.
    pub check: Option<Vec<u8>>,
    /// The current key, if some values are not sealed with it yet: a pass must reseal them.
    pub reseal: Option<StoreKey>,
}

/// How to open `connection`'s database with `keys` (see [`plan`]). Without a key check, a
/// database is plain, unless some value is sealed: then its check was deleted, which is
/// refused (looked for only when a key is given, as only then would plain values be read
/// and resealed).
pub(super) fn plan_for(connection: &Connection, keys: &StoreKeys) -> Result<Plan, StoreError> {
    let check = stored_check(connection)?;
    if check.is_none() && keys.current.is_some() && has_sealed_values(connection)? {
        return Err(KeyCheckError::CheckMissing.into());
    }
    Ok(plan(check.as_deref(), has_values(connection)?, keys)?)
}

/// Whether some value of `connection`'s database is sealed (a full scan).
fn has_sealed_values(connection: &Connection) -> rusqlite::Result<bool> {
    for (table, column) in [("actor_state", "state"), ("scheduled_call", "request")] {
        let sealed = format!("SELECT EXISTS (SELECT 1 FROM {table} WHERE substr({column}, 1, 1) = ?1)");
        if table_exists(connection, table)? && connection.query_row(&sealed, [SEALED_PREFIX], |row| row.get(0))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `connection`'s database holds any value (a state or a scheduled call).
fn has_values(connection: &Connection) -> rusqlite::Result<bool> {
    for table in ["actor_state", "scheduled_call"] {
        if table_exists(connection, table)?
            && connection.query_row(&format!("SELECT EXISTS (SELECT 1 FROM {table})"), [], |row| row.get(0))?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The key check stored in `connection`'s database, if it has one.
pub(super) fn stored_check(connection: &Connection) -> Result<Option<Vec<u8>>, StoreError> {
    if !table_exists(connection, "store_secret")? {
        return Ok(None);
    }
    Ok(connection
        .query_row("SELECT value FROM store_secret WHERE name = 'key-check'", [], |row| row.get(0))
        .optional()?)
}

/// How to open a database whose key check is `check` (`has_values`: it holds values, which
/// are plain if it has no check) with `keys`; refuses keys that do not fit it.
pub(super) fn plan(check: Option<&[u8]>, has_values: bool, keys: &StoreKeys) -> Result<Plan, KeyCheckError> {
    let found = check.map(|check| match sealed_by(check) {
        SealedBy::Key(id) => (id, check),
        SealedBy::Plain => (KeyId([0; 8]), check),
    });
    let Some(current) = &keys.current else {
        return match found {
            Some((found, _)) => Err(KeyCheckError::KeyRequired { found }),
            None => Ok(Plan { sealing: Sealing::plain(), check: None, reseal: None }),
        };
    };
    let open = |key: &StoreKey, check: &[u8]| {
        let opened = key.open(check, AAD).ok();
        opened.and_then(|record| Pending::decode(&record)).ok_or(KeyCheckError::CheckFailed { id: key.id() })
    };
    let previous = keys.previous.as_ref();
    let (pending, rewrite) = match found {
        None => (Pending { plain: has_values, previous: None }, true),
        Some((found, check)) if found == current.id() => {
            let pending = open(current, check)?;
            match pending.previous {
                Some(needed) if previous.is_none_or(|key| key.id() != needed) => {
                    return Err(KeyCheckError::PreviousRequired { previous: needed });
                }
                _ => (pending, false),
            }
        }
        Some((found, check)) => {
            let Some(previous) = previous.filter(|key| key.id() == found) else {
                return Err(KeyCheckError::WrongKey { found, given: current.id() });
            };
            let old = open(previous, check)?;
            if let Some(pending) = old.previous {
                return Err(KeyCheckError::RotationUnfinished { pending, given: found });
            }
            (Pending { plain: old.plain, previous: Some(found) }, true)
        }
    };
    if previous.is_some() && pending.previous.is_none() {
        tracing::warn!("--statestore-key-previous is not needed: no value of the state database is sealed with it");
    }
    let sealing = Sealing {
        current: Some(current.clone()),
        previous: previous.filter(|_| pending.previous.is_some()).cloned(),
        plain_readable: pending.plain,
    };
    let check = rewrite.then(|| current.seal(&pending.encode(), AAD));
    Ok(Plan { sealing, check, reseal: pending.any().then(|| current.clone()) })
}

/// The key check of a database every value of which is sealed with `current`.
pub(super) fn finished(current: &StoreKey) -> Vec<u8> {
    current.seal(&Pending::default().encode(), AAD)
}

/// Writes `check` as the database's key check.
pub(super) fn write(connection: &Connection, check: &[u8]) -> rusqlite::Result<()> {
    connection.execute("INSERT OR REPLACE INTO store_secret (name, value) VALUES ('key-check', ?1)", [check]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::super::sealing::tests::key;
    use super::*;

    fn keys(current: Option<u8>, previous: Option<u8>) -> StoreKeys {
        StoreKeys { current: current.map(key), previous: previous.map(key) }
    }

    #[test]
    fn a_plain_database_opened_with_a_key_is_encrypted_by_a_pass() {
        let plan = plan(None, true, &keys(Some(1), None)).unwrap();
        assert!(plan.reseal.is_some() && plan.sealing.plain_readable);
        let check = plan.check.unwrap();
        // Restarted during the pass: plain values are still read, the pass goes on.
        let again = super::plan(Some(&check), true, &keys(Some(1), None)).unwrap();
        assert!(again.reseal.is_some() && again.sealing.plain_readable && again.check.is_none());
        // Finished: plain values are refused.
        let done = super::plan(Some(&finished(&key(1))), true, &keys(Some(1), None)).unwrap();
        assert!(done.reseal.is_none() && !done.sealing.plain_readable);
        // A new database needs no pass.
        assert!(super::plan(None, false, &keys(Some(1), None)).unwrap().reseal.is_none());
    }

    #[test]
    fn a_missing_or_wrong_key_is_refused_by_name() {
        let check = finished(&key(1));
        let id = key(1).id();
        assert_eq!(plan(Some(&check), true, &keys(None, None)).unwrap_err(), KeyCheckError::KeyRequired { found: id });
        assert_eq!(
            plan(Some(&check), true, &keys(Some(2), None)).unwrap_err(),
            KeyCheckError::WrongKey { found: id, given: key(2).id() }
        );
        let mut altered = check.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(plan(Some(&altered), true, &keys(Some(1), None)).unwrap_err(), KeyCheckError::CheckFailed { id });
    }

    #[test]
    fn a_rotation_reads_both_keys_until_its_pass_ends() {
        let check = finished(&key(1));
        let rotation = plan(Some(&check), true, &keys(Some(2), Some(1))).unwrap();
        assert!(rotation.reseal.is_some() && rotation.sealing.previous.is_some() && !rotation.sealing.plain_readable);
        let during = rotation.check.unwrap();
        assert_eq!(
            plan(Some(&during), true, &keys(Some(2), None)).unwrap_err(),
            KeyCheckError::PreviousRequired { previous: key(1).id() }
        );
        assert!(plan(Some(&during), true, &keys(Some(2), Some(1))).unwrap().reseal.is_some());
        assert_eq!(
            plan(Some(&during), true, &keys(Some(3), Some(2))).unwrap_err(),
            KeyCheckError::RotationUnfinished { pending: key(1).id(), given: key(2).id() }
        );
    }

    #[test]
    fn a_deleted_key_check_is_refused_while_encrypted_values_remain() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::schema::prepare(&mut connection).unwrap();
        let insert = "INSERT INTO actor_state (system, name, parent, slot, seq, revision, state, updated_at_ms)
                      VALUES ('s', ?1, '', 1, 1, 1, ?2, 0)";
        connection.execute(insert, rusqlite::params!["plain", [0x0a_u8, 0]]).unwrap();
        // A plain database opened with a key: encrypted by a pass.
        assert!(plan_for(&connection, &keys(Some(1), None)).unwrap().reseal.is_some());
        let sealed = key(1).seal(b"value", b"row");
        connection.execute(insert, rusqlite::params!["sealed", sealed]).unwrap();
        let refused = plan_for(&connection, &keys(Some(1), None)).unwrap_err();
        assert!(matches!(refused, StoreError::Keys(KeyCheckError::CheckMissing)), "{refused}");
    }
}
