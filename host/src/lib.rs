//! spawn-wasm host: serves Spawn actors compiled to WebAssembly components.
//!
//! Layers, each depending only on the ones below it:
//! - [`cli`] parses the command line into a mode's configuration;
//! - [`sidecar`] serves a Spawn proxy (registration, the user-function HTTP server);
//!   [`runtime`] is standalone mode, an embedded single-node Spawn runtime;
//! - [`executor`] runs one actor turn in a sandboxed instance;
//! - [`modules`] keeps the loaded components in step with the actors directory
//!   ([`watch`] follows it, [`cache`] keeps compiled code); [`registry`] is one snapshot of
//!   them and [`module`] loads and validates one component;
//! - [`engine`] configures wasmtime (limits, epoch deadlines, WASI with nothing granted);
//!   [`sandbox`] is what a module may use, [`guest_output`] where its stdout goes;
//! - [`convert`] maps protobuf messages to WIT records and back; [`protocol`] holds the
//!   Spawn protobuf types and [`bindings`] the WIT types.

pub mod bindings;
pub mod build_cli;
pub mod cache;
pub mod cli;
pub mod config_file;
pub mod convert;
pub mod engine;
pub mod executor;
pub mod guest_output;
pub mod http;
pub mod inspect;
pub mod json;
pub mod limiter;
pub mod metrics;
pub mod module;
pub mod modules;
pub mod protocol;
pub mod registry;
pub mod remote;
pub mod runtime;
pub mod sandbox;
pub mod scaffold;
pub mod sidecar;
pub mod watch;
