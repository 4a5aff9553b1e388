//! What the host tells people about each file of the actors directory (`GET /v1/modules`,
//! the console): what the serving version provides and is granted, or why the latest
//! version was rejected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::modules::inspect::{ActionReport, action_reports};
use crate::wasm::capabilities::{GrantPolicy, GrantsReport};
use crate::wasm::module::ActorModule;

/// What the host knows about one file of the actors directory (`GET /v1/modules`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FileStatus {
    /// The file.
    pub file: PathBuf,
    /// Short content hash of the version serving, if one is.
    pub hash: Option<String>,
    /// The actors the serving version provides.
    pub actors: Vec<String>,
    /// Each of those actors' actions, with the message types they declare.
    pub actions: BTreeMap<String, Vec<ActionReport>>,
    /// When the serving version was loaded (Unix ms).
    pub loaded_at_ms: Option<i64>,
    /// The serving version's size on disk, in bytes.
    pub size_bytes: Option<u64>,
    /// How long loading the serving version took (compiling, or reading the code cache), in ms.
    pub load_ms: Option<u64>,
    /// What the serving version is granted, under the operator's policy.
    pub grants: Option<GrantsReport>,
    /// Why the latest version of the file was rejected, if it was.
    pub last_error: Option<String>,
}

impl FileStatus {
    /// The status of `path` once `module`, its new version, serves (loaded in `load_ms`).
    pub fn serving(path: &Path, module: &ActorModule, policy: &GrantPolicy, load_ms: u64) -> FileStatus {
        FileStatus {
            file: path.to_owned(),
            hash: Some(module.hash.clone()),
            actors: module.actor_names().map(str::to_owned).collect(),
            actions: module
                .definitions
                .iter()
                .map(|definition| (definition.name.clone(), action_reports(module, definition)))
                .collect(),
            loaded_at_ms: Some(unix_ms()),
            size_bytes: std::fs::metadata(path).ok().map(|metadata| metadata.len()),
            load_ms: Some(load_ms),
            grants: Some(module.sandbox.grants.report(policy)),
            last_error: None,
        }
    }
}

/// Now, in milliseconds since the Unix epoch.
fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis() as i64)
}
