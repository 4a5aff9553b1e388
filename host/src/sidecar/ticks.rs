//! Timer ticks from a proxy that holds an older definition than the host serves.
//!
//! The stock proxy schedules an actor's timers on every activation, from the definition the
//! actor was activated with (`lib/actors/actor/entity/lifecycle.ex:71`,
//! `lib/actors/actor/entity/invocation.ex:138-165`), keyed by the whole encoded request,
//! definition included (`lib/actors/actor/invocation_scheduler.ex:76-93`), and repeats each
//! forever (`:43-56`). After a reload changes an actor, its old timers keep firing next to the
//! new ones, and a timer action the new definition dropped keeps ticking. A tick arrives as an
//! asynchronous invocation with a no-op payload whose caller is the actor itself
//! (`entity/invocation.ex:138-165, 555-567`), and an error answer to it is dropped
//! (`entity/entity.ex:410-433`). So the host answers, at once and with a
//! no-op that changes nothing:
//! - a tick of a timer action the current definition does not have;
//! - a tick that arrives sooner than 9/10 of its period after the previous one run for the
//!   same actor and action (the second schedule of a changed timer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::protocol::spawn as pb;
use crate::protocol::wit::types::ActorDefinition;

/// When each actor's timer action last ran, by actor (instance) and action.
#[derive(Default)]
pub(super) struct Ticks {
    last: Mutex<HashMap<(String, String), Instant>>,
}

/// Why `invocation` of an actor no loaded component provides is answered with a no-op: a
/// tick of a removed actor, which the proxy keeps firing (it cannot unregister).
pub(super) fn skip_unknown(invocation: &pb::ActorInvocation) -> Option<&'static str> {
    is_tick(invocation).then_some("a tick of an actor no longer loaded (the proxy keeps its timers)")
}

/// Entries kept before old ones are pruned.
const MAX_ENTRIES: usize = 4096;

impl Ticks {
    /// Why `invocation` of an actor defined by `definition` is a tick to answer with a no-op
    /// instead of running it, if it is one.
    pub(super) fn skip(&self, definition: &ActorDefinition, invocation: &pb::ActorInvocation) -> Option<&'static str> {
        if !is_tick(invocation) || definition.actions.contains(&invocation.action_name) {
            return None;
        }
        let Some(timer) = definition.timer_actions.iter().find(|timer| timer.action == invocation.action_name) else {
            return Some("a tick of a timer action the actor no longer has (the proxy keeps its old timers)");
        };
        let period = Duration::from_millis(u64::from(timer.period_ms));
        let instance = instance_of(invocation);
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.len() >= MAX_ENTRIES {
            last.retain(|_, at| now.duration_since(*at) < Duration::from_secs(600));
        }
        let previous = last.entry((instance, invocation.action_name.clone())).or_insert(now);
        if *previous < now && now.duration_since(*previous) < period * 9 / 10 {
            return Some("a tick sooner than its period after the previous one (a second schedule of a changed timer)");
        }
        *previous = now;
        None
    }
}

fn instance_of(invocation: &pb::ActorInvocation) -> String {
    invocation.actor.as_ref().map_or("", |id| id.name.as_str()).to_owned()
}

/// Whether `invocation` looks like a timer tick: a no-op payload from the actor itself.
fn is_tick(invocation: &pb::ActorInvocation) -> bool {
    let noop = !matches!(invocation.payload, Some(pb::actor_invocation::Payload::Value(_)));
    let name = invocation.actor.as_ref().map(|id| id.name.as_str());
    let context_caller = invocation.current_context.as_ref().and_then(|context| context.caller.as_ref());
    let caller = invocation.caller.as_ref().or(context_caller).map(|id| id.name.as_str());
    noop && name.is_some_and(|name| !name.is_empty()) && caller == name
}

/// The answer that changes nothing and replies nothing: the state kept, the tags echoed.
pub(super) fn noop_response(invocation: &pb::ActorInvocation) -> pb::ActorInvocationResponse {
    let self_id = invocation.actor.clone().unwrap_or_default();
    let tags = invocation.current_context.as_ref().map(|context| context.tags.clone()).unwrap_or_default();
    pb::ActorInvocationResponse {
        actor_name: self_id.name.clone(),
        actor_system: self_id.system.clone(),
        updated_context: Some(pb::Context {
            state: None,
            caller: None,
            self_: Some(self_id),
            metadata: HashMap::new(),
            tags,
        }),
        payload: Some(pb::actor_invocation_response::Payload::Noop(pb::Noop {})),
        workflow: None,
        checkpoint: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::spawn::actors::ActorId;

    fn tick(action: &str) -> pb::ActorInvocation {
        let joe = ActorId { name: "joe".into(), system: "sys".into(), parent: String::new() };
        pb::ActorInvocation {
            actor: Some(joe.clone()),
            action_name: action.into(),
            payload: Some(pb::actor_invocation::Payload::Noop(pb::Noop {})),
            caller: Some(joe),
            ..Default::default()
        }
    }

    #[test]
    fn ticks_of_gone_timers_and_second_schedules_are_skipped() {
        let definition = crate::protocol::wit::test_definition("joe");
        let ticks = Ticks::default();
        assert!(ticks.skip(&definition, &tick("gone")).unwrap().contains("no longer has"));
        assert_eq!(ticks.skip(&definition, &tick("hi")), None, "the first tick runs");
        assert!(ticks.skip(&definition, &tick("hi")).unwrap().contains("sooner than its period"));
        assert_eq!(ticks.skip(&definition, &tick("setLanguage")), None, "an action is not a timer");
        let from_elsewhere = pb::ActorInvocation { caller: None, ..tick("gone") };
        assert_eq!(ticks.skip(&definition, &from_elsewhere), None, "not a tick: the actor's own answer");
        assert!(skip_unknown(&tick("hi")).is_some());
        assert_eq!(skip_unknown(&from_elsewhere), None);
    }

    #[test]
    fn a_noop_answer_keeps_state_and_tags() {
        let mut invocation = tick("gone");
        let tags = HashMap::from([("team".to_owned(), "a".to_owned())]);
        invocation.current_context = Some(pb::Context { tags: tags.clone(), ..Default::default() });
        let response = noop_response(&invocation);
        let context = response.updated_context.unwrap();
        assert_eq!((context.state, context.tags), (None, tags));
        assert_eq!(response.payload, Some(pb::actor_invocation_response::Payload::Noop(pb::Noop {})));
    }
}
