//! Sealing of stored values at rest: AES-256-GCM (ring's, the one cryptography backend of
//! the dependency policy), as the Spawn proxy's statestore does with `SPAWN_STATESTORE_KEY`.
//!
//! A sealed value is `0xF1 | key id (8 bytes) | nonce (12 bytes) | ciphertext and tag`: a
//! fresh random nonce per write, and the key id (a one-way fingerprint of the key, not the
//! key) so that a row tells which key sealed it, which is what lets a key change go row by
//! row while the host serves ([`super::reseal`]). The associated data binds each value to its
//! row's identity (actor and save, or scheduled call), so that a value copied to another row
//! does not open. A plain value (a database written without a key) is an encoded protobuf
//! message, whose first byte is never `0xF1` (a field tag of the messages stored, below 16).

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

use super::types::{StateKey, StoreError};

/// First byte of a value sealed by this version.
const SEALED_V1: u8 = 0xF1;
/// [`SEALED_V1`] as the one-byte prefix SQL compares a value's first byte with.
pub(super) const SEALED_PREFIX: &[u8] = &[SEALED_V1];
/// Length of a key id.
const ID_LEN: usize = 8;
/// Length of a sealed value's header: version, key id, nonce.
const HEADER_LEN: usize = 1 + ID_LEN + NONCE_LEN;

/// A key's fingerprint, stored in the clear beside what it sealed: it names the key an
/// operator must give without revealing it (a keyed BLAKE3 derivation, one-way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub(super) [u8; ID_LEN]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// Why a key given by the operator cannot be used. Never holds the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not base64.
    #[error("{source_name} is not base64: give the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")]
    NotBase64 {
        /// Where the key came from (the variable or flag).
        source_name: &'static str,
    },
    /// Not 32 bytes.
    #[error("{source_name} decodes to {length} bytes: AES-256 needs the base64 of exactly 32 bytes")]
    WrongLength {
        /// Where the key came from.
        source_name: &'static str,
        /// The decoded length.
        length: usize,
    },
}

/// An AES-256-GCM key of the store, with its id. `Debug` shows the id only.
#[derive(Clone)]
pub struct StoreKey {
    key: LessSafeKey,
    id: KeyId,
}

impl std::fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StoreKey(id {})", self.id)
    }
}

impl StoreKey {
    /// The key whose base64 is `text` (as the proxy's `SPAWN_STATESTORE_KEY`); `source_name`
    /// names where it came from in the error, which never shows the value.
    pub fn from_base64(text: &str, source_name: &'static str) -> Result<StoreKey, KeyError> {
        let bytes = BASE64.decode(text.trim()).map_err(|_| KeyError::NotBase64 { source_name })?;
        let raw: [u8; 32] =
            bytes.as_slice().try_into().map_err(|_| KeyError::WrongLength { source_name, length: bytes.len() })?;
        Ok(StoreKey::from_bytes(raw))
    }

    fn from_bytes(raw: [u8; 32]) -> StoreKey {
        let derived = blake3::derive_key("spawn-wasm statestore key id v1", &raw);
        let id = KeyId(derived[..ID_LEN].try_into().expect("8 bytes"));
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &raw).expect("a 32-byte AES-256 key"));
        StoreKey { key, id }
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// `plain` sealed with this key, bound to `aad`, under a fresh random nonce.
    pub(super) fn seal(&self, plain: &[u8], aad: &[u8]) -> Vec<u8> {
        let mut nonce = [0; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).expect("the system's random source");
        let mut sealed = Vec::with_capacity(HEADER_LEN + plain.len() + AES_256_GCM.tag_len());
        sealed.push(SEALED_V1);
        sealed.extend_from_slice(&self.id.0);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut sealed[HEADER_LEN..])
            .expect("AES-GCM seals any length the store holds");
        sealed.extend_from_slice(tag.as_ref());
        sealed
    }

    /// The plain value of `sealed` (sealed by this key), if it is authentic for `aad`.
    pub(super) fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = sealed.get(1 + ID_LEN..HEADER_LEN).ok_or(SealError::Forged)?;
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Forged)?;
        let mut body = sealed[HEADER_LEN..].to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(aad), &mut body).map_err(|_| SealError::Forged)?;
        let length = plain.len();
        body.truncate(length);
        Ok(body)
    }
}

/// What sealed a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SealedBy {
    /// Nothing: it is plain.
    Plain,
    /// The key of this id.
    Key(KeyId),
}

/// Which stored value is `stored`: sealed (by which key) or plain. A truncated header counts
/// as sealed by an unknown key, so that it fails to open rather than decode as plain.
pub(super) fn sealed_by(stored: &[u8]) -> SealedBy {
    match stored.first() {
        Some(&SEALED_V1) if stored.len() >= HEADER_LEN => {
            SealedBy::Key(KeyId(stored[1..1 + ID_LEN].try_into().expect("8 bytes")))
        }
        Some(&SEALED_V1) => SealedBy::Key(KeyId([0; ID_LEN])),
        _ => SealedBy::Plain,
    }
}

/// Why a stored value cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// Authentication failed: the value was altered, copied from another row, or sealed by
    /// another key of the same id.
    #[error("it does not authenticate (altered, or copied from another row)")]
    Forged,
    /// Sealed by a key the host was not given.
    #[error("it is sealed with key id {0}, which this host was not given")]
    UnknownKey(KeyId),
    /// Plain in a database whose every value is sealed: written by someone without the key.
    #[error("it is not encrypted, but every value of this database is")]
    Plain,
    /// Sealed, in a database opened without a key.
    #[error("it is encrypted and no key was given")]
    NoKey,
}

/// The keys the store seals with and opens with, and whether plain values are still read
/// (during the pass that encrypts a plain database). Owned by the store's thread.
#[derive(Debug, Clone, Default)]
pub(super) struct Sealing {
    /// Seals every write, and opens what it sealed; `None`: writes stay plain.
    pub(super) current: Option<StoreKey>,
    /// Opens what the previous key sealed, while a rotation's pass is under way.
    pub(super) previous: Option<StoreKey>,
    /// Plain values are read: no key, or a pass from plain under way.
    pub(super) plain_readable: bool,
}

impl Sealing {
    /// No key: values are written and read plain.
    pub(super) fn plain() -> Sealing {
        Sealing { current: None, previous: None, plain_readable: true }
    }

    /// `plain` as it is stored in `row`: sealed with the current key, or as it is without
    /// one (then no associated data is computed).
    pub(super) fn seal(&self, plain: Vec<u8>, row: &Row<'_>) -> Vec<u8> {
        match &self.current {
            Some(key) => key.seal(&plain, &row.aad()),
            None => plain,
        }
    }

    /// The plain value of `stored`, read from `row`.
    pub(super) fn open<'a>(&self, stored: &'a [u8], row: &Row<'_>) -> Result<Cow<'a, [u8]>, SealError> {
        match sealed_by(stored) {
            SealedBy::Plain if self.plain_readable => Ok(Cow::Borrowed(stored)),
            SealedBy::Plain => Err(SealError::Plain),
            SealedBy::Key(id) => {
                let key = [&self.current, &self.previous].into_iter().flatten().find(|key| key.id == id);
                match key {
                    Some(key) => key.open(stored, &row.aad()).map(Cow::Owned),
                    None if self.current.is_none() => Err(SealError::NoKey),
                    None => Err(SealError::UnknownKey(id)),
                }
            }
        }
    }

    /// [`Sealing::open`], its failure a [`StoreError`] naming the row.
    pub(super) fn open_row<'a>(&self, stored: &'a [u8], row: &Row<'_>) -> Result<Cow<'a, [u8]>, StoreError> {
        self.open(stored, row).map_err(|error| StoreError::Sealed { row: row.to_string(), error })
    }

    /// Whether `stored` is as the current key would store it (sealed by it, or plain when
    /// there is none), i.e. needs no resealing.
    pub(super) fn is_current(&self, stored: &[u8]) -> bool {
        match (&self.current, sealed_by(stored)) {
            (Some(key), SealedBy::Key(id)) => key.id == id,
            (None, SealedBy::Plain) => true,
            _ => false,
        }
    }
}

/// The row a stored value is kept in: what a sealed value is bound to (its associated
/// data, so that it opens nowhere else) and how errors name it.
#[derive(Debug, Clone, Copy)]
pub(super) enum Row<'a> {
    /// Save `seq` (revision `revision`) of an actor's state. The ring slot is left out: it
    /// changes when `--state-history` does.
    State { system: &'a str, name: &'a str, parent: &'a str, seq: i64, revision: i64 },
    /// Scheduled call `id` to `actor` of `system`, due at `due_ms`.
    Call { id: i64, system: &'a str, actor: &'a str, due_ms: i64 },
}

impl<'a> Row<'a> {
    /// Save `seq` (revision `revision`) of `key`'s state.
    pub(super) fn state(key: &'a StateKey, seq: i64, revision: i64) -> Row<'a> {
        Row::State { system: &key.system, name: &key.name, parent: &key.parent, seq, revision }
    }

    /// The associated data: the row's identity (another actor, system, parent, save or call
    /// gives other bytes), each text length-prefixed so that no two field lists encode the
    /// same.
    fn aad(&self) -> Vec<u8> {
        let field = |aad: &mut Vec<u8>, text: &str| {
            aad.extend_from_slice(&(text.len() as u64).to_be_bytes());
            aad.extend_from_slice(text.as_bytes());
        };
        match *self {
            Row::State { system, name, parent, seq, revision } => {
                let mut aad = b"spawn-wasm/actor_state/v1".to_vec();
                for text in [system, name, parent] {
                    field(&mut aad, text);
                }
                aad.extend_from_slice(&seq.to_be_bytes());
                aad.extend_from_slice(&revision.to_be_bytes());
                aad
            }
            Row::Call { id, system, actor, due_ms } => {
                let mut aad = b"spawn-wasm/scheduled_call/v1".to_vec();
                aad.extend_from_slice(&id.to_be_bytes());
                field(&mut aad, system);
                field(&mut aad, actor);
                aad.extend_from_slice(&due_ms.to_be_bytes());
                aad
            }
        }
    }
}

impl std::fmt::Display for Row<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Row::State { name, revision, .. } => write!(f, "revision {revision} of `{name}`"),
            Row::Call { id, actor, .. } => write!(f, "scheduled call {id} to `{actor}`"),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A key for tests: 32 bytes of `byte`.
    pub(crate) fn key(byte: u8) -> StoreKey {
        StoreKey::from_bytes([byte; 32])
    }

    /// Two rows, to tell their associated data apart.
    const ROW_A: Row<'static> = Row::Call { id: 1, system: "s", actor: "a", due_ms: 0 };
    const ROW_B: Row<'static> = Row::Call { id: 2, system: "s", actor: "a", due_ms: 0 };

    fn sealing(current: u8) -> Sealing {
        Sealing { current: Some(key(current)), previous: None, plain_readable: false }
    }

    #[test]
    fn a_sealed_value_opens_with_its_key_and_associated_data_only() {
        let one = sealing(1);
        let sealed = one.seal(b"distinctive".to_vec(), &ROW_A);
        assert!(!sealed.windows(11).any(|window| window == b"distinctive"));
        assert_eq!(one.open(&sealed, &ROW_A).unwrap().as_ref(), b"distinctive");
        assert_eq!(one.open(&sealed, &ROW_B).unwrap_err(), SealError::Forged, "another row's data");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(one.open(&altered, &ROW_A).unwrap_err(), SealError::Forged);
        let two = sealing(2);
        assert_eq!(two.open(&sealed, &ROW_A).unwrap_err(), SealError::UnknownKey(key(1).id()));
        assert_eq!(Sealing::plain().open(&sealed, &ROW_A).unwrap_err(), SealError::NoKey);
        // A wrong key posing under the right id still does not open it.
        let impostor = Sealing { current: Some(StoreKey { id: key(1).id, ..key(2) }), ..two };
        assert_eq!(impostor.open(&sealed, &ROW_A).unwrap_err(), SealError::Forged);
    }

    #[test]
    fn every_seal_takes_a_fresh_nonce() {
        let one = sealing(1);
        let first = one.seal(b"same".to_vec(), &ROW_A);
        let second = one.seal(b"same".to_vec(), &ROW_A);
        assert_ne!(first[1 + ID_LEN..HEADER_LEN], second[1 + ID_LEN..HEADER_LEN]);
        assert_ne!(first, second);
    }

    #[test]
    fn plain_values_are_read_only_while_they_may_exist() {
        let plain = [0x0a, 1, 2];
        assert_eq!(Sealing::plain().open(&plain, &ROW_A).unwrap().as_ref(), plain);
        assert_eq!(sealing(1).open(&plain, &ROW_A).unwrap_err(), SealError::Plain);
        let passing = Sealing { plain_readable: true, ..sealing(1) };
        assert_eq!(passing.open(&plain, &ROW_A).unwrap().as_ref(), plain);
        assert!(!passing.is_current(&plain) && Sealing::plain().is_current(&plain));
        let rotating = Sealing { previous: Some(key(2)), ..sealing(1) };
        let old = sealing(2).seal(b"old".to_vec(), &ROW_A);
        assert_eq!(rotating.open(&old, &ROW_A).unwrap().as_ref(), b"old");
        assert!(!rotating.is_current(&old) && rotating.is_current(&rotating.seal(Vec::new(), &ROW_A)));
    }

    #[test]
    fn keys_are_the_base64_of_32_bytes_and_errors_never_show_them() {
        let text = BASE64.encode([7u8; 32]);
        assert_eq!(StoreKey::from_base64(&text, "K").unwrap().id(), key(7).id());
        let short = BASE64.encode([7u8; 16]);
        let error = StoreKey::from_base64(&short, "SPAWN_STATESTORE_KEY").unwrap_err().to_string();
        assert!(error.contains("SPAWN_STATESTORE_KEY decodes to 16 bytes") && !error.contains(&short), "{error}");
        let error = StoreKey::from_base64("not base64!", "SPAWN_STATESTORE_KEY").unwrap_err().to_string();
        assert!(error.contains("is not base64") && !error.contains("not base64!"), "{error}");
        assert_eq!(format!("{:?}", key(7)), format!("StoreKey(id {})", key(7).id()), "Debug shows the id only");
    }

    #[test]
    fn associated_data_tells_rows_apart() {
        let state = |system, name, parent, seq, revision| Row::State { system, name, parent, seq, revision }.aad();
        let a = state("s", "ab", "", 1, 1);
        assert_ne!(a, state("s", "a", "b", 1, 1));
        assert_ne!(a, state("s", "ab", "", 2, 1));
        assert_ne!(a, state("s", "ab", "", 1, 2));
        assert_ne!(ROW_A.aad(), ROW_B.aad());
    }
}
