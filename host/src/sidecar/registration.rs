//! The `RegistrationRequest` that announces our actors to the proxy.

use std::collections::HashMap;

use crate::protocol::convert;
use crate::protocol::spawn::{self as pb, actors};
use crate::protocol::wit::types as wit;

/// The registration of `definitions` in `system`, with the `service_info` the proxy
/// requires. A `task` actor is registered as `named` (see `refresh::warn_task_actors`).
pub fn registration_request<'a>(
    system: &str,
    definitions: impl IntoIterator<Item = &'a wit::ActorDefinition>,
) -> pb::RegistrationRequest {
    let actors: HashMap<String, actors::Actor> = definitions
        .into_iter()
        .map(|definition| {
            let mut actor = convert::actor_from_definition(system, definition);
            if let Some(settings) = actor.settings.as_mut() {
                settings.kind = super::refresh::registered_kind(settings.kind()) as i32;
            }
            (definition.name.clone(), actor)
        })
        .collect();
    pb::RegistrationRequest {
        service_info: Some(pb::ServiceInfo {
            service_name: "spawn-wasm".into(),
            service_version: env!("CARGO_PKG_VERSION").into(),
            service_runtime: "wasmtime".into(),
            support_library_name: "spawn-wasm-host".into(),
            support_library_version: env!("CARGO_PKG_VERSION").into(),
            protocol_major_version: pb::PROTOCOL_MAJOR_VERSION,
            protocol_minor_version: pb::PROTOCOL_MINOR_VERSION,
        }),
        actor_system: Some(actors::ActorSystem {
            name: system.to_owned(),
            registry: Some(actors::Registry { actors }),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_actor_is_registered_as_named() {
        let task = wit::ActorDefinition { kind: wit::Kind::Task, ..crate::protocol::wit::test_definition("job") };
        let unnamed = wit::ActorDefinition { kind: wit::Kind::Unnamed, ..crate::protocol::wit::test_definition("abs") };
        let request = registration_request("sys", [&task, &unnamed]);
        let actors = request.actor_system.unwrap().registry.unwrap().actors;
        assert_eq!(actors["job"].settings.as_ref().unwrap().kind(), actors::Kind::Named);
        assert_eq!(actors["abs"].settings.as_ref().unwrap().kind(), actors::Kind::Unnamed);
    }
}
