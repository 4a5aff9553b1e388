//! What an actor's turn does: activation (load the state, run `init`), a turn (a built-in
//! or the guest's `handle`, then state, checkpoint, workflow and reply) and persisting.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use super::actions::{GET_STATE_ACTIONS, INIT_ACTIONS, defines};
use super::actor::{Actor, Turn, respond};
use super::core::Inner;
use super::failure::InvokeFailure;
use super::store::StateKey;
use crate::modules::registry::ActorEntry;
use crate::protocol::convert;
use crate::protocol::spawn::actors;
use crate::protocol::wit::types as wit;

impl Inner {
    /// Loads the actor's stored state (or starts it with its initial tags) and runs its
    /// `init` action. Fails with the actor's name and the cause if the state cannot be read.
    pub(super) async fn activate_actor(
        self: &Arc<Self>,
        id: actors::ActorId,
        entry: ActorEntry,
    ) -> Result<Actor, (String, String)> {
        let stored = match self.store.load(StateKey::of(&id)).await {
            Ok(stored) => stored,
            Err(error) => return Err((id.name, error.to_string())),
        };
        let mut actor = Actor::new(id, entry, stored);
        self.init(&mut actor).await;
        Ok(actor)
    }

    /// Stores the actor's state if it changed since it was last stored. On failure the next
    /// attempt comes a snapshot period later.
    pub(super) async fn persist(&self, actor: &mut Actor) -> Result<(), InvokeFailure> {
        if !actor.dirty || !actor.entry.definition().stateful {
            return Ok(());
        }
        match self.store.save(StateKey::of(&actor.id), actor.stored()).await {
            Ok(()) => {
                actor.dirty = false;
                Ok(())
            }
            Err(error) => {
                tracing::error!(actor = %actor.name(), %error, "cannot store the actor's state; will retry");
                actor.dirty_since = Instant::now();
                Err(InvokeFailure::Failed {
                    actor: actor.id.name.clone(),
                    action: "persist".into(),
                    cause: error.to_string(),
                })
            }
        }
    }

    /// Runs the actor's `init`/`setup` action, if it defines one: only its state and tags
    /// count, and a failure is logged and ignored, as the proxy does.
    async fn init(self: &Arc<Self>, actor: &mut Actor) {
        let definition = actor.entry.definition();
        let Some(action) = INIT_ACTIONS.iter().find(|action| defines(definition, action)) else { return };
        let turn =
            Turn { action: (*action).to_owned(), payload: None, metadata: HashMap::new(), caller: None, reply: None };
        match self.run_guest(actor, &turn).await {
            Ok(value) => actor.apply(value.state, value.tags),
            Err(cause) => tracing::warn!(actor = %actor.name(), action, %cause, "init failed; ignored"),
        }
    }

    async fn run_guest(&self, actor: &Actor, turn: &Turn) -> Result<wit::Value, String> {
        let invocation = actor.invocation(turn);
        let dispatcher = self.dispatcher.clone();
        self.executor.run(&actor.entry.module, invocation, dispatcher).await.map_err(|error| error.to_string())
    }

    /// One turn of `actor` (see [`Inner::take_turn`]); it is idle from the end of it.
    pub(super) async fn turn(self: &Arc<Self>, actor: &mut Actor, turn: Turn) {
        self.take_turn(actor, turn).await;
        actor.touch();
    }

    /// One turn: built-ins, or the guest's `handle`, then state, checkpoint, workflow and
    /// the reply (or the routed target's reply).
    async fn take_turn(self: &Arc<Self>, actor: &mut Actor, turn: Turn) {
        if !actor.refresh_entry(&self.modules.registry()) {
            respond(turn.reply, Err(self.not_found(&actor.id.name)));
            return;
        }
        let definition = actor.entry.definition();
        if GET_STATE_ACTIONS.contains(&turn.action.as_str()) && !defines(definition, &turn.action) {
            respond(turn.reply, Ok(actor.state.clone()));
            return;
        }
        let value = match self.run_guest(actor, &turn).await {
            Ok(value) => value,
            Err(cause) => {
                tracing::warn!(actor = %actor.name(), action = %turn.action, "invocation failed: {cause}");
                let failure = InvokeFailure::Failed { actor: actor.id.name.clone(), action: turn.action, cause };
                respond(turn.reply, Err(failure));
                return;
            }
        };
        let before = value.checkpoint.then(|| (actor.state.clone(), actor.tags.clone(), actor.revision, actor.dirty));
        actor.apply(value.state, value.tags);
        if let Some((state, tags, revision, dirty)) = before
            && let Err(failure) = self.persist(actor).await
        {
            // The turn failed: its state must not be saved later by a snapshot either.
            (actor.state, actor.tags, actor.revision, actor.dirty) = (state, tags, revision, dirty);
            respond(turn.reply, Err(failure));
            return;
        }
        let reply = value.reply.map(convert::any_from_wit);
        self.broadcast(&actor.id, value.broadcast);
        self.side_effects(&actor.id, value.effects, &turn.metadata);
        match value.routing {
            None => respond(turn.reply, Ok(reply)),
            Some(wit::Routing::Pipe(route)) => self.route(&actor.id, route, reply, turn.metadata, turn.reply),
            Some(wit::Routing::Forward(route)) => self.route(&actor.id, route, turn.payload, turn.metadata, turn.reply),
        }
    }
}
