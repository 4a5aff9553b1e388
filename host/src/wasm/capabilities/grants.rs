//! `[grants]` of a module's TOML: every capability, and the base every instance starts from.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::capability::Capability;
use super::env::Env;
use super::outbound_hosts::AllowedOutboundHosts;
use super::policy::GrantPolicy;
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

/// A module's effective grants, as people see them: variable names without their values
/// (which may be secrets), directories at their checked host paths, and the outbound
/// patterns with the operator's narrowing (a destination must match both).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GrantsReport {
    /// Names of the environment variables the guest sees.
    pub env: Vec<String>,
    /// Guest path → the canonical host directory it reads.
    pub read_only_dirs: BTreeMap<String, PathBuf>,
    /// The module's outbound patterns.
    pub allowed_outbound_hosts: Vec<String>,
    /// The operator's `--allowed-outbound-hosts`, if set.
    pub narrowed_by_host: Option<Vec<String>>,
}

impl std::fmt::Display for GrantsReport {
    /// One line per kind of grant, `nothing` when none is given.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut granted = false;
        if !self.env.is_empty() {
            writeln!(f, "  grants env: {}", self.env.join(", "))?;
            granted = true;
        }
        for (guest, host) in &self.read_only_dirs {
            writeln!(f, "  grants read-only dir: {guest} = {}", host.display())?;
            granted = true;
        }
        if !self.allowed_outbound_hosts.is_empty() {
            write!(f, "  grants outbound HTTP: {}", self.allowed_outbound_hosts.join(", "))?;
            match &self.narrowed_by_host {
                Some(host) => writeln!(f, " (narrowed by the host to {})", host.join(", "))?,
                None => writeln!(f)?,
            }
            granted = true;
        }
        if !granted {
            writeln!(f, "  grants: nothing")?;
        }
        Ok(())
    }
}

impl Grants {
    /// Checks every grant against the host and the operator's `policy`, settling each to
    /// what was checked.
    pub fn admit(&mut self, policy: &GrantPolicy) -> Result<(), String> {
        self.env.admit(policy)?;
        self.read_only_dirs.admit(policy)?;
        self.allowed_outbound_hosts.admit(policy)
    }

    /// What these grants give under the operator's `policy`, for people (`inspect`,
    /// `/v1/modules`).
    pub fn report(&self, policy: &GrantPolicy) -> GrantsReport {
        let patterns = |hosts: &AllowedOutboundHosts| hosts.patterns().map(ToString::to_string).collect();
        GrantsReport {
            env: self.env.0.keys().cloned().collect(),
            read_only_dirs: self.read_only_dirs.0.clone(),
            allowed_outbound_hosts: patterns(&self.allowed_outbound_hosts),
            narrowed_by_host: policy.outbound_hosts.as_ref().map(patterns),
        }
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
