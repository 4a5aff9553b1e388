//! What standalone mode is started with.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::http::HttpLimits;
use crate::wasm::limits::Limits;

/// Everything standalone mode needs to start.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// The directory of `.wasm` components.
    pub actors_dir: PathBuf,
    /// The directory of the state database.
    pub data_dir: PathBuf,
    /// Where to serve the client API.
    pub listen: SocketAddr,
    /// The actor system this runtime serves.
    pub system: String,
    /// Limits for every guest call.
    pub limits: Limits,
    /// Sync every commit to disk (survives power loss, not only process crashes).
    pub fsync: bool,
    /// Follow changes of the actors directory.
    pub watch: bool,
    /// Limits on the wire.
    pub http: HttpLimits,
}
