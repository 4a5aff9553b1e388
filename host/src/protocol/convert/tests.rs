use std::collections::HashMap;

use prost::Message;

use super::*;

fn any(type_url: &str, value: &[u8]) -> prost_types::Any {
    prost_types::Any { type_url: type_url.into(), value: value.to_vec() }
}

fn id(name: &str, parent: &str) -> actors::ActorId {
    actors::ActorId { name: name.into(), system: "sys".into(), parent: parent.into() }
}

fn invocation(payload: Option<pb::actor_invocation::Payload>) -> pb::ActorInvocation {
    pb::ActorInvocation {
        actor: Some(id("abs-1", "abs_actor")),
        action_name: "setLanguage".into(),
        current_context: Some(pb::Context {
            state: Some(any("type.googleapis.com/domain.JoeState", b"\x0a\x02go")),
            caller: Some(id("router", "")),
            self_: Some(id("abs-1", "")),
            metadata: HashMap::from([("b".into(), "2".into()), ("a".into(), "1".into())]),
            tags: HashMap::from([("owner".into(), "me".into())]),
        }),
        payload,
        caller: None,
    }
}

fn empty_value() -> wit::Value {
    wit::Value {
        state: None,
        reply: None,
        tags: None,
        broadcast: None,
        effects: vec![],
        routing: None,
        checkpoint: false,
    }
}

/// The response after a trip through protobuf bytes, as the proxy would decode it.
fn on_the_wire(response: pb::ActorInvocationResponse) -> pb::ActorInvocationResponse {
    pb::ActorInvocationResponse::decode(response.encode_to_vec().as_slice()).unwrap()
}

#[test]
fn an_invocation_becomes_the_wit_record() {
    let payload = pb::actor_invocation::Payload::Value(any("type.googleapis.com/domain.Request", b"\x0a\x04rust"));
    let (wit, context) = invocation_to_wit("abs_actor", invocation(Some(payload)));
    assert_eq!(wit.actor, "abs_actor");
    assert_eq!(wit.action, "setLanguage");
    assert_eq!(wit.payload.unwrap().value, b"\x0a\x04rust");
    assert_eq!(wit.state.unwrap().type_url, "type.googleapis.com/domain.JoeState");
    assert_eq!(wit.self_id.parent, "abs_actor");
    assert_eq!(wit.caller.unwrap().name, "router", "the context's caller is used when the invocation has none");
    assert_eq!(wit.metadata, [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())], "sorted");
    assert_eq!(wit.tags, [("owner".to_string(), "me".to_string())]);
    assert_eq!(context.self_id, id("abs-1", "abs_actor"));
}

#[test]
fn noop_absent_and_empty_payloads_are_no_payload() {
    for payload in [
        None,
        Some(pb::actor_invocation::Payload::Noop(pb::Noop {})),
        Some(pb::actor_invocation::Payload::Value(prost_types::Any::default())),
    ] {
        let (wit, _) = invocation_to_wit("joe", invocation(payload));
        assert!(wit.payload.is_none());
    }
    let mut no_state = invocation(None);
    no_state.current_context.as_mut().unwrap().state = Some(prost_types::Any::default());
    assert!(invocation_to_wit("joe", no_state).0.state.is_none(), "an empty Any is no state");
}

#[test]
fn definition_name_prefers_the_parent() {
    assert_eq!(definition_name(&invocation(None)), Some("abs_actor"));
    let mut named = invocation(None);
    named.actor = Some(id("joe", ""));
    assert_eq!(definition_name(&named), Some("joe"));
    assert_eq!(definition_name(&pb::ActorInvocation::default()), None);
}

#[test]
fn a_kept_state_is_unset_and_tags_are_echoed() {
    let (_, context) = invocation_to_wit("abs_actor", invocation(None));
    let response = on_the_wire(response_from_wit(context, empty_value()));
    let updated = response.updated_context.expect("updated_context is always present");
    assert!(updated.state.is_none());
    assert_eq!(updated.tags, HashMap::from([("owner".into(), "me".into())]));
    assert_eq!(response.payload, Some(pb::actor_invocation_response::Payload::Noop(pb::Noop {})));
    assert!(response.workflow.is_none());
    assert_eq!((response.actor_name.as_str(), response.actor_system.as_str()), ("abs-1", "sys"));
}

#[test]
fn new_state_reply_tags_and_checkpoint_are_carried() {
    let (_, context) = invocation_to_wit("abs_actor", invocation(None));
    let value = wit::Value {
        state: Some(wit::Any { type_url: "t/S".into(), value: vec![1] }),
        reply: Some(wit::Any { type_url: "t/R".into(), value: vec![2] }),
        tags: Some(vec![]),
        checkpoint: true,
        ..empty_value()
    };
    let response = on_the_wire(response_from_wit(context, value));
    let updated = response.updated_context.unwrap();
    assert_eq!(updated.state, Some(any("t/S", &[1])));
    assert!(updated.tags.is_empty(), "tags set to empty clear them");
    assert_eq!(response.payload, Some(pb::actor_invocation_response::Payload::Value(any("t/R", &[2]))));
    assert!(response.checkpoint);
}

#[test]
fn workflows_map_to_the_proxy_messages() {
    let (_, context) = invocation_to_wit("abs_actor", invocation(None));
    let value = wit::Value {
        broadcast: Some(wit::Broadcast { channel: "test".into(), payload: None }),
        effects: vec![wit::SideEffect {
            actor: "joe".into(),
            action: "setLanguage".into(),
            payload: Some(wit::Any { type_url: "t/R".into(), value: vec![3] }),
            register_ref: Some("abs_actor".into()),
            scheduled_to: Some(1_700_000_000_000),
            metadata: vec![("k".into(), "v".into())],
        }],
        routing: Some(wit::Routing::Pipe(wit::Route {
            actor: "joe".into(),
            action: "setLanguage".into(),
            register_ref: Some("abs_actor".into()),
        })),
        ..empty_value()
    };
    let workflow = on_the_wire(response_from_wit(context, value)).workflow.unwrap();
    let broadcast = workflow.broadcast.unwrap();
    assert_eq!(broadcast.channel_group, "test");
    assert_eq!(broadcast.payload, Some(pb::broadcast::Payload::Noop(pb::Noop {})));
    let request = workflow.effects[0].request.clone().unwrap();
    assert_eq!(request.system.unwrap().name, "sys");
    assert_eq!(request.actor.unwrap().id.unwrap(), id("joe", ""));
    assert_eq!(request.action_name, "setLanguage");
    assert!(request.r#async);
    assert_eq!(request.scheduled_to, 1_700_000_000_000);
    assert_eq!(request.register_ref, "abs_actor");
    assert_eq!(request.caller.unwrap(), id("abs-1", "abs_actor"));
    assert_eq!(request.metadata, HashMap::from([("k".into(), "v".into())]));
    assert_eq!(request.payload, Some(pb::invocation_request::Payload::Value(any("t/R", &[3]))));
    let Some(pb::workflow::Routing::Pipe(pipe)) = workflow.routing else { panic!("expected a pipe") };
    assert_eq!(
        (pipe.actor.as_str(), pipe.action_name.as_str(), pipe.register_ref.as_str()),
        ("joe", "setLanguage", "abs_actor")
    );
}

#[test]
fn a_scheduled_call_is_asynchronous() {
    let call = CallSpec { actor: "joe".into(), action: "hi".into(), scheduled_to: Some(5), ..CallSpec::default() };
    let request = invocation_request(&id("clock", ""), call);
    assert!(request.r#async);
    assert_eq!(request.payload, Some(pb::invocation_request::Payload::Noop(pb::Noop {})));
}

#[test]
fn registration_entries_have_safe_defaults() {
    let definition = wit::ActorDefinition {
        state_type: Some("domain.JoeState".into()),
        initial_tags: vec![("team".into(), "a".into())],
        ..crate::protocol::wit::test_definition("joe")
    };
    let actor = actor_from_definition("sys", &definition);
    assert_eq!(actor.id.unwrap(), id("joe", ""));
    assert_eq!(actor.state.unwrap().tags, HashMap::from([("team".into(), "a".into())]));
    let settings = actor.settings.unwrap();
    let snapshot = settings.snapshot_strategy.unwrap().strategy;
    assert_eq!(
        snapshot,
        Some(actors::actor_snapshot_strategy::Strategy::Timeout(actors::TimeoutStrategy { timeout: 2000 }))
    );
    let deactivation = settings.deactivation_strategy.unwrap().strategy;
    assert_eq!(
        deactivation,
        Some(actors::actor_deactivation_strategy::Strategy::Timeout(actors::TimeoutStrategy { timeout: 10_000 }))
    );
    assert_eq!(settings.state_type, "", "a state type the proxy does not know crashes every activation");
    assert_eq!(actor.timer_actions[0].seconds, 1000);
    assert_eq!(actor.metadata.unwrap().channel_group[0].action, "setLanguage");

    let stateless = wit::ActorDefinition { stateful: false, deactivation_timeout_ms: 500, ..definition };
    let settings = actor_from_definition("sys", &stateless).settings.unwrap();
    assert!(settings.snapshot_strategy.is_none(), "no snapshots for a stateless actor");
    assert_eq!(
        settings.deactivation_strategy.unwrap().strategy,
        Some(actors::actor_deactivation_strategy::Strategy::Timeout(actors::TimeoutStrategy { timeout: 500 }))
    );
}
