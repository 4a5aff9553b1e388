//! `[grants]` of a module's TOML: every capability, and the base every instance starts from.

use serde::Deserialize;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::capability::Capability;
use super::env::Env;
use super::read_only_dirs::ReadOnlyDirs;
use crate::wasm::guest_output::GuestOutput;

/// Capabilities explicitly granted to a module; each absent key grants nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Environment variables the guest sees.
    #[serde(default)]
    pub env: Env,
    /// Host directories the guest can read.
    #[serde(default)]
    pub read_only_dirs: ReadOnlyDirs,
}

impl Grants {
    /// Checks every grant against the host.
    pub fn check(&self) -> Result<(), String> {
        self.env.check()?;
        self.read_only_dirs.check()
    }

    /// The WASI context of a new instance: the base (no files, environment, arguments,
    /// stdin or sockets; stdout and stderr to the log) plus what is granted.
    pub fn wasi_context(&self, output: &GuestOutput) -> WasiCtx {
        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .stdout(output.stdout())
            .stderr(output.stderr());
        self.env.grant(&mut wasi);
        self.read_only_dirs.grant(&mut wasi);
        wasi.build()
    }
}
