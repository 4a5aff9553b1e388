//! Actions every actor has without defining them, and looking actions up in a definition.

use super::failure::InvokeFailure;
use crate::protocol::wit::types as wit;

/// The built-in actions that answer the stored state unless the actor defines one of them.
pub(super) const GET_STATE_ACTIONS: [&str; 5] = ["get", "Get", "get_state", "getState", "GetState"];
/// The actions run on every activation, if the actor defines one.
pub(super) const INIT_ACTIONS: [&str; 4] = ["init", "Init", "setup", "Setup"];

/// Rejects an action the actor does not define (the built-in get-state actions always
/// exist).
pub(super) fn check_action(definition: &wit::ActorDefinition, actor: &str, action: &str) -> Result<(), InvokeFailure> {
    if defines(definition, action) || GET_STATE_ACTIONS.contains(&action) {
        Ok(())
    } else {
        Err(InvokeFailure::ActionNotFound { actor: actor.to_owned(), action: action.to_owned() })
    }
}

/// Whether the actor's definition declares `action` (as an action or a timer).
pub(super) fn defines(definition: &wit::ActorDefinition, action: &str) -> bool {
    definition.actions.iter().any(|name| name == action)
        || definition.timer_actions.iter().any(|timer| timer.action == action)
}
