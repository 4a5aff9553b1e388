//! The shape every capability has.

use wasmtime_wasi::WasiCtxBuilder;

/// One grantable capability: its TOML value, checked once, applied to every instance.
pub trait Capability {
    /// The key under `[grants]` in a module's TOML, for messages.
    const KEY: &'static str;

    /// Checks the grant against the host when the module loads: a grant that cannot be
    /// honoured rejects the module with a message, instead of failing each call.
    fn check(&self) -> Result<(), String>;

    /// Adds what is granted to a new instance's WASI context.
    fn grant(&self, wasi: &mut WasiCtxBuilder);
}
