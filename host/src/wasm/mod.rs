//! The sandbox guests run in, and running them: the wasmtime [`engine`] and its per-module
//! [`sandbox`] (host [`limits`], [`capabilities`] granted, the memory [`limiter`], guest
//! output to the log), loading one component ([`module`], asking it what it provides with
//! `describe`, and the compiled-code [`cache`]), and the [`executor`], which runs one actor turn in a warm or fresh instance.
//! [`host`] is a store's state and our imports as the guest sees them; [`dispatch`] is
//! where its calls to other actors go, each carrying its request's [`chain`].

pub mod cache;
pub mod capabilities;
pub mod chain;
mod describe;
pub mod dispatch;
pub mod engine;
pub mod executor;
pub mod guest_output;
pub mod host;
pub mod limiter;
pub mod limits;
pub mod module;
pub mod sandbox;
mod warm;
