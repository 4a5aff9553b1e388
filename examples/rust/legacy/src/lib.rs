//! `legacy` (named, stateful), built against `wit/actor.wit` as it was at
//! `spawn:actor@0.1.0` (copied in `wit/`, never to be edited), directly with wit-bindgen:
//! what a component built before WIT 0.2.0 looks like to the host, which refuses it and
//! says how to rebuild it.
//!
//! `remember` stores its input as the state and replies it; `recall` replies the state.

#![allow(missing_docs, reason = "generated bindings")]

wit_bindgen::generate!({ world: "actor", path: "wit" });

use exports::spawn::actor::handler::{ActorDefinition, Error, Guest, Invocation, Value};
use spawn::actor::types::Kind;

struct Legacy;

impl Guest for Legacy {
    fn describe() -> Vec<ActorDefinition> {
        vec![ActorDefinition {
            name: "legacy".into(),
            kind: Kind::Named,
            stateful: true,
            actions: vec!["remember".into(), "recall".into()],
            timer_actions: Vec::new(),
            channels: Vec::new(),
            snapshot_timeout_ms: 0,
            deactivation_timeout_ms: 0,
            min_pool_size: 0,
            max_pool_size: 0,
            state_type: None,
            initial_tags: Vec::new(),
        }]
    }

    fn handle(invocation: Invocation) -> Result<Value, Error> {
        let (state, reply) = match invocation.action.as_str() {
            "remember" => (invocation.payload.clone(), invocation.payload),
            "recall" => (None, invocation.state),
            other => return Err(Error::UnknownAction(other.into())),
        };
        Ok(Value { state, reply, tags: None, broadcast: None, effects: Vec::new(), routing: None, checkpoint: false })
    }

    fn descriptors() -> Vec<u8> {
        Vec::new()
    }
}

export!(Legacy);
