//! Asking a freshly loaded component what it provides: its actor definitions, its
//! protobuf descriptors, and (if it exports `signatures`) the message types of its actions.

use wasmtime::component::{Component, ComponentExportIndex};

use super::chain::CallChain;
use super::engine::ActorEngine;
use super::host::{HostState, Turn};
use super::sandbox::Sandbox;
use crate::protocol::spawn::actors;
use crate::protocol::wit::{self as bindings, ActionSignature, SIGNATURES_INTERFACE, WIT_VERSION, types as wit};

/// What a component says about itself.
pub(super) struct Described {
    pub(super) definitions: Vec<wit::ActorDefinition>,
    pub(super) descriptors: Vec<u8>,
    /// Empty for a component built for the `actor` world (no `signatures` export).
    pub(super) signatures: Vec<ActionSignature>,
}

/// The `signatures` function a component exports, if it was built for a WIT version that
/// has it.
pub(super) fn signatures_export(component: &Component) -> Option<ComponentExportIndex> {
    let interface = component.get_export_index(None, format!("{SIGNATURES_INTERFACE}@{WIT_VERSION}").as_str())?;
    component.get_export_index(Some(&interface), "signatures")
}

/// Calls `describe`, `descriptors` and, if `signatures` is given, that export, in one fresh
/// instance within the module's call timeout.
pub(super) async fn describe(
    engine: &ActorEngine,
    pre: &bindings::ActorPre<HostState>,
    signatures: Option<ComponentExportIndex>,
    sandbox: &Sandbox,
) -> wasmtime::Result<Described> {
    let deadline = std::time::Instant::now() + sandbox.call_timeout;
    let turn = Turn {
        self_id: actors::ActorId::default(),
        action: "describe".into(),
        dispatcher: None,
        chain: CallChain::new(deadline),
    };
    let mut store = engine.store(turn, sandbox, deadline);
    let call = async {
        let instance = pre.instance_pre().instantiate_async(&mut store).await?;
        let actor = bindings::Actor::new(&mut store, &instance)?;
        let definitions = actor.spawn_actor_handler().call_describe(&mut store).await?;
        let descriptors = actor.spawn_actor_handler().call_descriptors(&mut store).await?;
        let signatures = match signatures {
            Some(export) => {
                let function = instance.get_typed_func::<(), (Vec<ActionSignature>,)>(&mut store, &export)?;
                function.call_async(&mut store, ()).await?.0
            }
            None => Vec::new(),
        };
        wasmtime::Result::Ok(Described { definitions, descriptors, signatures })
    };
    let described = tokio::time::timeout(sandbox.call_timeout, call)
        .await
        .map_err(|_| wasmtime::format_err!("timed out"))
        .and_then(|described| described);
    store.data().finish_output();
    described
}

/// Rejects signatures naming an actor or action the definitions do not have, or an action
/// twice: a tool or client trusting them would be misled.
pub(super) fn check_signatures(
    definitions: &[wit::ActorDefinition],
    signatures: &[ActionSignature],
) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for signature in signatures {
        let (actor, action) = (signature.actor.as_str(), signature.action.as_str());
        let Some(definition) = definitions.iter().find(|definition| definition.name == actor) else {
            return Err(format!("a signature names actor `{actor}`, which the component does not define"));
        };
        let defined = definition.actions.iter().any(|name| name == action)
            || definition.timer_actions.iter().any(|timer| timer.action == action);
        if !defined {
            return Err(format!("actor `{actor}`: a signature names action `{action}`, which it does not define"));
        }
        if !seen.insert((actor, action)) {
            return Err(format!("actor `{actor}`: action `{action}` has two signatures"));
        }
        for name in [&signature.input, &signature.output].into_iter().flatten() {
            if name.is_empty() || name.starts_with('.') || name.contains('/') {
                return Err(format!(
                    "actor `{actor}`: action `{action}` names message `{name}`; give a full protobuf name such as `domain.Request`"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::wit::test_definition;

    fn signature(actor: &str, action: &str, input: Option<&str>) -> ActionSignature {
        ActionSignature { actor: actor.into(), action: action.into(), input: input.map(Into::into), output: None }
    }

    #[test]
    fn signatures_must_name_defined_actions_once_with_full_message_names() {
        let definitions = [test_definition("joe")];
        let good = [signature("joe", "setLanguage", Some("domain.Request")), signature("joe", "hi", None)];
        check_signatures(&definitions, &good).unwrap();
        let rejection = |signatures: &[ActionSignature]| check_signatures(&definitions, signatures).unwrap_err();
        assert!(rejection(&[signature("bob", "x", None)]).contains("actor `bob`"));
        assert!(rejection(&[signature("joe", "fly", None)]).contains("action `fly`"));
        let twice = [signature("joe", "hi", None), signature("joe", "hi", None)];
        assert!(rejection(&twice).contains("two signatures"));
        let url = [signature("joe", "hi", Some("type.googleapis.com/domain.Request"))];
        assert!(rejection(&url).contains("full protobuf name"));
    }
}
