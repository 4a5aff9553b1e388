//! `[grants]` of a module's TOML: every capability, and the base every instance starts from.

use serde::Deserialize;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::capability::Capability;
use super::env::Env;
use super::outbound_hosts::AllowedOutboundHosts;
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
    /// Destinations outbound HTTP may reach.
    #[serde(default)]
    pub allowed_outbound_hosts: AllowedOutboundHosts,
}

impl Grants {
    /// Checks every grant against the host.
    pub fn check(&self) -> Result<(), String> {
        self.env.check()?;
        self.read_only_dirs.check()?;
        self.allowed_outbound_hosts.check()
    }

    /// What the interfaces a component imports (`wasi:sockets/tcp@0.2.3`, …) cannot reach
    /// under these grants: each denied interface with the grant that would allow it. Calls
    /// through them fail with WASI's `access-denied` (or find no directory), which cannot
    /// carry a message, so the host says it once, when the component loads.
    pub fn ungranted<'a>(&self, imports: impl IntoIterator<Item = &'a str>) -> Vec<(&'a str, &'static str)> {
        imports
            .into_iter()
            .filter_map(|import| {
                let denied = if import.starts_with("wasi:sockets/") {
                    "network access is not grantable yet; sockets and name lookups are refused"
                } else if import.starts_with("wasi:http/outgoing-handler") && self.allowed_outbound_hosts.is_empty() {
                    "no outbound host is granted: add `allowed_outbound_hosts` under [grants] in the module's TOML"
                } else if import.starts_with("wasi:filesystem/preopens") && self.read_only_dirs.0.is_empty() {
                    "no directory is granted: add `read_only_dirs` under [grants] in the module's TOML"
                } else {
                    return None;
                };
                Some((import, denied))
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denied_imports_are_named_with_the_grant_that_would_allow_them() {
        let imports = [
            "wasi:cli/environment@0.2.3",
            "wasi:sockets/tcp@0.2.3",
            "wasi:http/outgoing-handler@0.2.10",
            "wasi:filesystem/preopens@0.2.3",
            "spawn:actor/runtime@0.2.0",
        ];
        let denied: Vec<&str> = Grants::default().ungranted(imports).into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            denied,
            ["wasi:sockets/tcp@0.2.3", "wasi:http/outgoing-handler@0.2.10", "wasi:filesystem/preopens@0.2.3"]
        );
        let with_dirs =
            Grants { read_only_dirs: ReadOnlyDirs([("/data".into(), "/tmp".into())].into()), ..Grants::default() };
        assert!(with_dirs.ungranted(["wasi:filesystem/preopens@0.2.3"]).is_empty(), "a granted directory is no denial");
        let (_, reason) = Grants::default().ungranted(["wasi:filesystem/preopens@0.2.3"])[0];
        assert!(reason.contains("read_only_dirs"), "{reason}");
        let with_hosts = Grants {
            allowed_outbound_hosts: AllowedOutboundHosts::parse(&["http://127.0.0.1:*"]).unwrap(),
            ..Grants::default()
        };
        assert!(with_hosts.ungranted(["wasi:http/outgoing-handler@0.2.10"]).is_empty(), "a granted host is no denial");
        let (_, reason) = Grants::default().ungranted(["wasi:http/outgoing-handler@0.2.10"])[0];
        assert!(reason.contains("allowed_outbound_hosts"), "{reason}");
    }
}
