//! spawn-wasm host: serves Spawn actors compiled to WebAssembly components.
//!
//! Layers, each depending only on the ones below it (see `docs/architecture.md`):
//! - [`cli`]: the command line, one module per verb;
//! - [`sidecar`] serves a Spawn proxy (registration, the user-function HTTP server);
//!   [`runtime`] is standalone mode, an embedded single-node Spawn runtime;
//! - [`console`]: the web console, its page and JSON views, served by both modes;
//! - [`http`]: what both modes' servers share (limits on the wire, draining, the
//!   operational routes);
//! - [`modules`]: the loaded components, kept in step with the actors directory;
//! - [`wasm`]: the sandbox and running guests in it (engine, capabilities, executor);
//! - [`protocol`]: the Spawn protobuf types, the WIT types, conversions, JSON;
//! - [`metrics`]: the process's Prometheus metrics, recorded by every layer;
//! - [`telemetry`]: trace context and OpenTelemetry spans, opened by every layer.

pub mod cli;
pub mod console;
pub mod http;
pub mod metrics;
pub mod modules;
pub mod protocol;
pub mod runtime;
pub mod sidecar;
pub mod telemetry;
pub mod wasm;
