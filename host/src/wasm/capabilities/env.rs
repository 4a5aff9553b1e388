//! `env`: environment variables the guest sees, exactly these, with these values. The
//! host's own environment is never passed through.

use std::collections::BTreeMap;

use serde::Deserialize;
use wasmtime_wasi::WasiCtxBuilder;

use super::capability::Capability;
use super::policy::GrantPolicy;

/// `env = { NAME = "value" }`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Env(pub BTreeMap<String, String>);

impl Capability for Env {
    const KEY: &'static str = "env";

    fn admit(&mut self, _policy: &GrantPolicy) -> Result<(), String> {
        match self.0.keys().find(|name| name.is_empty() || name.contains(['=', '\0'])) {
            Some(name) => Err(format!("grants.{}: `{name}` is not a valid variable name", Self::KEY)),
            None => Ok(()),
        }
    }

    fn grant(&self, wasi: &mut WasiCtxBuilder) {
        for (name, value) in &self.0 {
            wasi.env(name, value);
        }
    }
}
