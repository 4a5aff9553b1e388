//! What a module's actors are allowed: limits and grants, from the host's defaults and an
//! optional `<name>.toml` beside `<name>.wasm`.
//!
//! Nothing is granted by default. A module's TOML may lower the host's limits (never raise
//! the memory cap past the host's, which sizes the instance pool) and grant explicit
//! environment variables and read-only directories:
//!
//! ```toml
//! [limits]
//! memory_mb = 32            # at most the host's --memory-limit-mb
//! call_timeout_ms = 2000
//! max_reply_bytes = 65536   # reply + new state + workflow payloads of one turn
//! max_table_elements = 10000
//! max_outbound_response_bytes = 1048576  # at most the host's --max-outbound-response-mb
//! max_outbound_requests = 4              # in flight per instance, at most the host's
//!
//! [grants]
//! env = { GREETING = "hello" }              # exactly these variables, these values
//! read_only_dirs = { "/data" = "/srv/data" } # guest path = host directory, read-only
//! allowed_outbound_hosts = ["https://api.example.com", "http://127.0.0.1:*"]
//! ```
//!
//! Unknown keys are rejected, naming the file. Each grant is one module of
//! [`super::capabilities`], and none goes past the operator's ceiling
//! ([`super::capabilities::GrantPolicy`]): a directory must be under `--grantable-dirs`, an
//! address that is not public must be named by `--allowed-outbound-hosts` too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::capabilities::{Grants, OutboundLimits};
use super::limits::Limits;

/// Default cap on what one turn returns (reply, state and workflow payloads).
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 << 20;
/// Default cap on the elements of a guest's tables.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;

/// The contents of a module's TOML file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleSettings {
    /// Limits lower than the host's.
    #[serde(default)]
    pub limits: LimitOverrides,
    /// Capabilities granted to the module's actors.
    #[serde(default)]
    pub grants: Grants,
}

/// Per-module limits; unset ones are the host's.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// Memory cap of one instance, in MiB.
    pub memory_mb: Option<u32>,
    /// Deadline of one call, in milliseconds.
    pub call_timeout_ms: Option<u64>,
    /// Cap on what one turn returns, in bytes.
    pub max_reply_bytes: Option<usize>,
    /// Cap on the elements of a table.
    pub max_table_elements: Option<usize>,
    /// Cap on one outbound HTTP response body, in bytes.
    pub max_outbound_response_bytes: Option<usize>,
    /// Outbound HTTP requests one instance may have in flight.
    pub max_outbound_requests: Option<usize>,
}

/// The sandbox every call of a module runs in.
#[derive(Debug, Clone, PartialEq)]
pub struct Sandbox {
    /// Memory cap of one instance, in bytes.
    pub memory_bytes: usize,
    /// Deadline of one call.
    pub call_timeout: Duration,
    /// Cap on what one turn returns, in bytes.
    pub max_reply_bytes: usize,
    /// Cap on the elements of a table.
    pub max_table_elements: usize,
    /// What bounds each instance's outbound HTTP.
    pub outbound: OutboundLimits,
    /// What the module's actors are granted.
    pub grants: Grants,
}

impl Sandbox {
    /// The host's defaults, nothing granted.
    pub fn defaults(limits: &Limits) -> Sandbox {
        Sandbox {
            memory_bytes: limits.memory_bytes,
            call_timeout: limits.call_timeout,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            outbound: OutboundLimits {
                max_response_bytes: limits.max_outbound_response_bytes,
                max_requests: limits.max_outbound_requests,
            },
            grants: Grants::default(),
        }
    }

    /// The sandbox of the module at `wasm`: the host's defaults, adjusted by the TOML file
    /// beside it if there is one.
    pub fn for_module(wasm: &Path, limits: &Limits) -> Result<Sandbox, String> {
        let file = settings_file(wasm);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Sandbox::defaults(limits)),
            Err(error) => return Err(format!("{}: {error}", file.display())),
        };
        let settings: ModuleSettings = toml::from_str(&text).map_err(|error| format!("{}: {error}", file.display()))?;
        Self::from_settings(settings, limits).map_err(|error| format!("{}: {error}", file.display()))
    }

    fn from_settings(settings: ModuleSettings, limits: &Limits) -> Result<Sandbox, String> {
        let mut sandbox = Sandbox::defaults(limits);
        let overrides = settings.limits;
        if let Some(memory_mb) = overrides.memory_mb {
            let bytes = (memory_mb as usize) << 20;
            if bytes == 0 || bytes > limits.memory_bytes {
                return Err(format!(
                    "limits.memory_mb = {memory_mb} must be between 1 and the host's limit, {} MiB",
                    limits.memory_bytes >> 20
                ));
            }
            sandbox.memory_bytes = bytes;
        }
        if let Some(ms) = overrides.call_timeout_ms {
            let host = limits.call_timeout.as_millis();
            if ms == 0 || u128::from(ms) > host {
                return Err(format!("limits.call_timeout_ms = {ms} must be between 1 and the host's limit, {host} ms"));
            }
            sandbox.call_timeout = Duration::from_millis(ms);
        }
        if let Some(bytes) = overrides.max_reply_bytes {
            if bytes > DEFAULT_MAX_REPLY_BYTES {
                return Err(format!(
                    "limits.max_reply_bytes = {bytes} is above the host's limit, {DEFAULT_MAX_REPLY_BYTES}"
                ));
            }
            sandbox.max_reply_bytes = bytes;
        }
        if let Some(elements) = overrides.max_table_elements {
            if elements > DEFAULT_MAX_TABLE_ELEMENTS {
                return Err(format!(
                    "limits.max_table_elements = {elements} is above the host's limit, {DEFAULT_MAX_TABLE_ELEMENTS}"
                ));
            }
            sandbox.max_table_elements = elements;
        }
        if let Some(bytes) = overrides.max_outbound_response_bytes {
            sandbox.outbound.max_response_bytes =
                at_most("max_outbound_response_bytes", bytes, limits.max_outbound_response_bytes)?;
        }
        if let Some(requests) = overrides.max_outbound_requests {
            sandbox.outbound.max_requests = at_most("max_outbound_requests", requests, limits.max_outbound_requests)?;
        }
        let mut grants = settings.grants;
        grants.admit(&limits.policy)?;
        sandbox.grants = grants;
        Ok(sandbox)
    }
}

/// `value` of `limits.key` if it is between 1 and the host's `limit`.
fn at_most(key: &str, value: usize, limit: usize) -> Result<usize, String> {
    if value == 0 || value > limit {
        return Err(format!("limits.{key} = {value} must be between 1 and the host's limit, {limit}"));
    }
    Ok(value)
}

/// The settings file of the module at `wasm`: the same name with `.toml`.
pub fn settings_file(wasm: &Path) -> PathBuf {
    wasm.with_extension("toml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::capabilities::{AllowedOutboundHosts, GrantPolicy};

    fn parse(text: &str) -> Result<Sandbox, String> {
        parse_under(text, &Limits::default())
    }

    fn parse_under(text: &str, limits: &Limits) -> Result<Sandbox, String> {
        let settings: ModuleSettings = toml::from_str(text).map_err(|error| error.to_string())?;
        Sandbox::from_settings(settings, limits)
    }

    #[test]
    fn no_settings_means_the_host_defaults_and_no_grants() {
        assert_eq!(parse("").unwrap(), Sandbox::defaults(&Limits::default()));
    }

    #[test]
    fn limits_can_be_lowered_and_grants_given_within_the_policy() {
        let text = "[limits]\nmemory_mb = 16\ncall_timeout_ms = 250\nmax_reply_bytes = 1024\n\
             [grants]\nenv = { GREETING = \"hi\" }\nread_only_dirs = { \"/data\" = \"/tmp\" }\n";
        let refused = parse(text).unwrap_err();
        assert!(refused.contains("grants.read_only_dirs") && refused.contains("--grantable-dirs"), "{refused}");
        let policy = GrantPolicy { dir_roots: vec!["/tmp".into()], ..GrantPolicy::default() };
        let sandbox = parse_under(text, &Limits { policy, ..Limits::default() }).unwrap();
        assert_eq!(sandbox.memory_bytes, 16 << 20);
        assert_eq!(sandbox.call_timeout, Duration::from_millis(250));
        assert_eq!(sandbox.max_reply_bytes, 1024);
        assert_eq!(sandbox.grants.env.0["GREETING"], "hi");
        assert_eq!(sandbox.grants.read_only_dirs.0["/data"], PathBuf::from("/tmp"));
    }

    #[test]
    fn bad_settings_are_rejected_with_a_reason() {
        assert!(parse("[limits]\nmemory_mb = 100000\n").unwrap_err().contains("host's limit"));
        assert!(parse("[limits]\ncall_timeout_ms = 0\n").unwrap_err().contains("between 1 and"));
        assert!(parse("[limits]\ncall_timeout_ms = 999999\n").unwrap_err().contains("host's limit"));
        assert!(parse("[limits]\nmax_reply_bytes = 999999999\n").unwrap_err().contains("host's limit"));
        assert!(parse("[limits]\nmax_outbound_requests = 0\n").unwrap_err().contains("between 1 and"));
        assert!(parse("[limits]\nmax_outbound_response_bytes = 999999999\n").unwrap_err().contains("host's limit"));
        let bad_host = parse("[grants]\nallowed_outbound_hosts = [\"example.com\"]\n").unwrap_err();
        assert!(bad_host.contains("`example.com` is not an outbound host pattern"), "{bad_host}");
        let loopback = parse("[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n").unwrap_err();
        assert!(
            loopback.contains("not a public address") && loopback.contains("--allowed-outbound-hosts"),
            "{loopback}"
        );
        let operator = GrantPolicy {
            outbound_hosts: Some(AllowedOutboundHosts::parse(&["http://127.0.0.1:8080"]).unwrap()),
            ..GrantPolicy::default()
        };
        let named = parse_under(
            "[grants]\nallowed_outbound_hosts = [\"http://127.0.0.1:*\"]\n",
            &Limits { policy: operator, ..Limits::default() },
        );
        assert!(named.is_ok(), "the operator's list names the address (its port narrows later): {named:?}");
        assert!(parse("[limits]\nfuel = 3\n").unwrap_err().contains("unknown field `fuel`"));
        assert!(parse("[network]\nallow = true\n").unwrap_err().contains("unknown field `network`"));
        assert!(parse("[grants]\nread_only_dirs = { \"data\" = \"/tmp\" }\n").unwrap_err().contains("absolute"));
        assert!(
            parse("[grants]\nread_only_dirs = { \"/d\" = \"/no/such/dir\" }\n")
                .unwrap_err()
                .contains("not a directory")
        );
    }
}
