//! The state store's keys on the command line: `SPAWN_STATESTORE_KEY` (the Spawn proxy's
//! variable, the base64 of 32 bytes) and, to rotate, the key it replaces. Neither is ever
//! printed: `Debug` and `config --print` show `(set)`, errors name the option, not the value.

use clap::Args;

use crate::runtime::store::{KeyError, StoreKey, StoreKeys};

/// The variable of the current key, as the Spawn proxy names it.
pub const KEY_ENV: &str = "SPAWN_STATESTORE_KEY";
/// The variable of the key being rotated from.
pub const PREVIOUS_KEY_ENV: &str = "SPAWN_STATESTORE_KEY_PREVIOUS";

/// The keys of the state store.
#[derive(Debug, Args)]
pub struct StoreKeyArgs {
    /// Encrypt every actor state and scheduled call at rest (AES-256-GCM) with this key, the
    /// base64 of 32 random bytes, as the Spawn proxy's statestore does. A database written
    /// with a key refuses to open without it. (Shows in `ps`: prefer the environment or the
    /// configuration file.)
    #[arg(long, env = KEY_ENV, hide_env_values = true, value_name = "BASE64", value_parser = secret)]
    pub statestore_key: Option<Secret>,
    /// The key the database was encrypted with, to rotate to `--statestore-key`: both are
    /// read while the host reseals every value with the new one; then it may be dropped.
    #[arg(long, env = PREVIOUS_KEY_ENV, hide_env_values = true, value_name = "BASE64", value_parser = secret)]
    pub statestore_key_previous: Option<Secret>,
}

/// A secret given on the command line: `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(set)")
    }
}

/// Takes any text: a key is checked later, by an error that does not echo it (clap's would).
fn secret(text: &str) -> Result<Secret, std::convert::Infallible> {
    Ok(Secret(text.to_owned()))
}

/// Why the keys given cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StoreKeyError {
    /// A key is malformed.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A previous key without a new one.
    #[error(
        "{PREVIOUS_KEY_ENV} (--statestore-key-previous) is the key being rotated from: give the new one as {KEY_ENV}"
    )]
    PreviousAlone,
}

impl StoreKeyArgs {
    /// The keys given, checked.
    pub fn keys(&self) -> Result<StoreKeys, StoreKeyError> {
        let parse = |secret: &Option<Secret>, source_name| {
            secret.as_ref().map(|secret| StoreKey::from_base64(&secret.0, source_name)).transpose()
        };
        let keys = StoreKeys {
            current: parse(&self.statestore_key, "SPAWN_STATESTORE_KEY (--statestore-key)")?,
            previous: parse(
                &self.statestore_key_previous,
                "SPAWN_STATESTORE_KEY_PREVIOUS (--statestore-key-previous)",
            )?,
        };
        if keys.previous.is_some() && keys.current.is_none() {
            return Err(StoreKeyError::PreviousAlone);
        }
        Ok(keys)
    }
}
