//! `caller` (named, stateless): calls and spawns other actors through the runtime, the way
//! an actor uses the host's `invoke` and `spawn` imports.

use domain::{Reply, Request};
use spawn_wasm_sdk::{Actor, Invoke, Value, spawn};

/// `caller`:
/// - `callJoe(Request)`: invokes `joe.setLanguage` and replies joe's `Reply`;
/// - `castJoe(Request)`: invokes `joe.setLanguage` asynchronously, replies `Reply{"sent"}`;
/// - `spawnAbs(Request)`: spawns an `abs_actor` instance named after the language, invokes
///   its `setLanguage`, and replies its `Reply`;
/// - `trace(Request)`: replies `Reply{"TRACE/SPAN"}`, the turn's trace and span ids.
pub fn caller() -> Actor<()> {
    Actor::named("caller")
        .action("callJoe", |request: Request, _| {
            let reply: Reply =
                Invoke::new("joe", "setLanguage").payload(&request).metadata("via", "caller").call_as()?;
            Ok(Value::new().reply(&reply))
        })
        .action("castJoe", |request: Request, _| {
            Invoke::new("joe", "setLanguage").payload(&request).cast()?;
            Ok(Value::new().reply(&Reply { response: "sent".into() }))
        })
        .action("spawnAbs", |request: Request, _| {
            spawn(&request.language, "abs_actor")?;
            let reply: Reply = Invoke::new(request.language.as_str(), "setLanguage").payload(&request).call_as()?;
            Ok(Value::new().reply(&reply))
        })
        .action("trace", |_: Request, ctx| {
            let ids = format!("{}/{}", ctx.trace_id().unwrap_or("none"), ctx.span_id().unwrap_or("none"));
            Ok(Value::new().reply(&Reply { response: ids }))
        })
}

spawn_wasm_sdk::export_actors!(caller(); descriptors = domain::FILE_DESCRIPTOR_SET);
