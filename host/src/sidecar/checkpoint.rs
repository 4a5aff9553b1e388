//! `checkpoint` in sidecar mode: the current Spawn proxy release crashes the actor call when a
//! response asks for it (its reply becomes the save's result), so the host clears the flag
//! and says so once per action, rather than once per call.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// The actions whose checkpoint was already cleared and logged, by actor.
#[derive(Debug, Default)]
pub(super) struct CheckpointWarnings {
    warned: Mutex<HashMap<String, HashSet<String>>>,
}

impl CheckpointWarnings {
    /// Records that `actor.action` asked for a checkpoint that was cleared; logs a warning the
    /// first time. Returns whether it logged.
    pub(super) fn cleared(&self, actor: &str, action: &str) -> bool {
        let mut warned = self.warned.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Looked up before anything is allocated: after its first call, an action costs nothing.
        let first = !warned.get(actor).is_some_and(|actions| actions.contains(action))
            && warned.entry(actor.to_owned()).or_default().insert(action.to_owned());
        drop(warned);
        if first {
            tracing::warn!(
                actor,
                action,
                "the action asks for a checkpoint, which the Spawn proxy does not support (it crashes the actor \
                 call): cleared; the state is saved at the next snapshot instead (logged once per action)"
            );
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_action() {
        let warnings = CheckpointWarnings::default();
        assert!(warnings.cleared("joe", "saveLanguage"));
        assert!(!warnings.cleared("joe", "saveLanguage"));
        assert!(warnings.cleared("counters", "incrementDurably"));
        assert!(warnings.cleared("joe", "setLanguage"));
    }
}
