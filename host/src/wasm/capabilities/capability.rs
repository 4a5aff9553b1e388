//! The shape every capability has.

use wasmtime_wasi::WasiCtxBuilder;

use super::policy::GrantPolicy;

/// One grantable capability: its TOML value, checked once, applied to every instance.
pub trait Capability {
    /// The key under `[grants]` in a module's TOML, for messages.
    const KEY: &'static str;

    /// Checks the grant against the host and the operator's `policy` when the module loads,
    /// and settles it to what was checked (a directory to its canonical path): a grant that
    /// cannot be honoured, or goes past the policy, rejects the module with a message
    /// instead of failing each call.
    fn admit(&mut self, policy: &GrantPolicy) -> Result<(), String>;

    /// Adds what is granted to a new instance's WASI context.
    fn grant(&self, wasi: &mut WasiCtxBuilder);
}
