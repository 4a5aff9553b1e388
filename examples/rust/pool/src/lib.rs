//! `pool` (pooled, stateless): echoes a language. Standalone mode serves a pooled actor as a
//! named one; sidecar mode refuses it at load, since the Spawn proxy does not support the kind.

use domain::{Reply, Request};
use spawn_wasm_sdk::{Actor, Value};

/// `pool`: `echo(Request) -> Reply` with the request's language.
pub fn pool() -> Actor<()> {
    Actor::pooled("pool")
        .action("echo", |request: Request, _| Ok(Value::new().reply(&Reply { response: request.language })))
}

spawn_wasm_sdk::export_actors!(pool(); descriptors = domain::FILE_DESCRIPTOR_SET);
