//! `read_only_dirs`: host directories the guest can read, at the paths it sees them.
//! Nothing outside them is reachable (cap-std resolves every path inside its directory).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

use super::capability::Capability;
use super::policy::GrantPolicy;

/// `read_only_dirs = { "/guest/path" = "/host/dir" }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct ReadOnlyDirs(pub BTreeMap<String, PathBuf>);

impl Capability for ReadOnlyDirs {
    const KEY: &'static str = "read_only_dirs";

    /// Each host directory must exist and be allowed by the operator's policy; it is kept
    /// as its canonical path, so that a symbolic link changed later does not move the grant.
    fn admit(&mut self, policy: &GrantPolicy) -> Result<(), String> {
        for (guest, host) in &mut self.0 {
            if !guest.starts_with('/') {
                return Err(format!("grants.{}: guest path `{guest}` must be absolute", Self::KEY));
            }
            if !host.is_dir() {
                return Err(format!("grants.{}: `{}` is not a directory", Self::KEY, host.display()));
            }
            *host = policy.admit_dir(host).map_err(|reason| format!("grants.{}: {reason}", Self::KEY))?;
        }
        Ok(())
    }

    fn grant(&self, wasi: &mut WasiCtxBuilder) {
        for (guest, host) in &self.0 {
            if let Err(error) = wasi.preopened_dir(host, guest, FsPerms::ReadOnly) {
                tracing::error!(dir = %host.display(), %error, "cannot grant a read-only directory; the guest will not see it");
            }
        }
    }
}
