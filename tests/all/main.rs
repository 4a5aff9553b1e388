//! End-to-end tests, one module per area, linked into one test binary so that the host is
//! linked once per test build (as wasmtime's `tests/all` does). Every test runs the real
//! host against real components built from `examples/`, over real HTTP on loopback.

mod access;
mod acknowledged;
mod console;
mod crash;
mod grants;
mod hardening;
mod history;
mod js;
mod lifecycle;
mod loading;
mod loops;
mod official_js;
mod official_python;
mod operations;
mod outbound_http;
mod policy;
mod polyglot;
mod python;
mod reload;
mod sandbox;
mod scaffold;
mod settings;
mod sidecar;
mod standalone;
mod state_encryption;
mod stock_proxy;
mod store_failures;
mod traces;
mod typed_actions;
mod wire;
