//! `joe` (named, stateful) and `abs_actor` (unnamed, stateful): they collect languages.
//! One component providing two actors.

use domain::{JoeState, Reply, Request};
use spawn_wasm_sdk::{Actor, Context, Result, Value};

/// Appends the requested language and replies all of them, comma-separated.
fn set_language(request: Request, ctx: &Context<JoeState>) -> Result<Value<JoeState>> {
    let mut state = ctx.state_or_default();
    state.languages.push(request.language);
    let reply = Reply { response: state.languages.join(",") };
    Ok(Value::new().state(state).reply(&reply))
}

/// `joe`: named, stateful; subscribed to channel `test`; says hi every second.
pub fn joe() -> Actor<JoeState> {
    Actor::named("joe")
        .channel("test", "setLanguage")
        .action("setLanguage", set_language)
        .returns::<Reply>()
        .action("saveLanguage", |request, ctx| Ok(set_language(request, ctx)?.checkpoint()))
        .returns::<Reply>()
        .timer("hi", 1000, |ctx| {
            let value = Value::new().noreply();
            Ok(match ctx.state() {
                Some(state) if !state.languages.is_empty() => value,
                _ => value.state(JoeState { languages: vec!["python".into()] }),
            })
        })
}

/// `abs_actor`: the unnamed template of joe-like instances, subscribed to channel `test`
/// like joe once active. Instances are cheap to bring back, so they deactivate after one
/// idle second.
pub fn abs_actor() -> Actor<JoeState> {
    Actor::unnamed("abs_actor")
        .deactivation_timeout(1_000)
        .channel("test", "setLanguage")
        .action("setLanguage", set_language)
}

spawn_wasm_sdk::export_actors!(joe(), abs_actor(); descriptors = domain::FILE_DESCRIPTOR_SET);

#[cfg(test)]
mod tests {
    use super::*;
    use spawn_wasm_sdk::testing::{TestInvocation, reply_as, state_as};

    #[test]
    fn set_language_appends_and_replies_the_list() {
        let invocation = TestInvocation::new("joe", "setLanguage")
            .state(&JoeState { languages: vec!["erlang".into()] })
            .payload(&Request { language: "rust".into() })
            .build();
        let value = joe().handle(invocation).unwrap();
        assert_eq!(reply_as::<Reply>(&value).unwrap().response, "erlang,rust");
        assert_eq!(state_as::<JoeState>(&value).unwrap().languages, ["erlang", "rust"]);
        assert!(!value.checkpoint);
    }

    #[test]
    fn save_language_checkpoints() {
        let invocation = TestInvocation::new("joe", "saveLanguage").payload(&Request { language: "go".into() }).build();
        assert!(joe().handle(invocation).unwrap().checkpoint);
    }

    #[test]
    fn hi_seeds_an_empty_state_and_keeps_a_full_one() {
        let value = joe().handle(TestInvocation::new("joe", "hi").build()).unwrap();
        assert_eq!(state_as::<JoeState>(&value).unwrap().languages, ["python"]);
        assert!(value.reply.is_none());
        let full = TestInvocation::new("joe", "hi").state(&JoeState { languages: vec!["c".into()] }).build();
        assert!(joe().handle(full).unwrap().state.is_none());
    }
}
