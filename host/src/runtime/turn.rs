//! What an actor's turn does: activation (load the state, run `init`), a turn (a built-in
//! or the guest's `handle`, then state, checkpoint, workflow and reply) and persisting.

use std::sync::Arc;

use opentelemetry::trace::SpanKind;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::actions::{GET_STATE_ACTIONS, INIT_ACTIONS, defines};
use super::actor::{Actor, Turn, respond};
use super::core::Inner;
use super::failure::{InvokeFailure, InvokeResult};
use super::store::StateKey;
use crate::modules::registry::ActorEntry;
use crate::protocol::convert;
use crate::protocol::spawn::actors;
use crate::protocol::wit::types as wit;
use crate::telemetry::{Span, TraceContext};
use crate::wasm::chain::CallChain;
use crate::wasm::dispatch::put_trace;
use crate::wasm::executor::InvokeError;

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
        let stored = actor.stored();
        let saved = (stored.revision, stored.seq);
        match self.store.save(StateKey::of(&actor.id), stored).await {
            Ok(()) => {
                actor.saved = saved;
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
    pub(super) async fn init(self: &Arc<Self>, actor: &mut Actor) {
        let definition = actor.entry.definition();
        let Some(action) = INIT_ACTIONS.iter().find(|action| defines(definition, action)) else { return };
        let turn = Turn::call((*action).to_owned(), None, CallChain::new(self.new_deadline()));
        match self.run_guest(actor, &turn).await {
            Ok(value) => actor.apply(value.state, value.tags),
            Err(cause) => tracing::warn!(actor = %actor.name(), action, %cause, "init failed; ignored"),
        }
    }

    async fn run_guest(&self, actor: &Actor, turn: &Turn) -> Result<wit::Value, InvokeError> {
        let invocation = actor.invocation(turn);
        let dispatcher = self.dispatcher.clone();
        let chain = turn.chain.clone();
        self.executor.run(&actor.entry.module, invocation, dispatcher, chain).await
    }

    /// The guest's turn, given up (and the guest interrupted) if its caller gives up first.
    /// A turn whose deadline passed before it started did not run: the caller's deadline
    /// passed.
    async fn run_guest_for(
        &self,
        actor: &Actor,
        turn: &Turn,
        reply: &mut Option<oneshot::Sender<InvokeResult>>,
    ) -> Result<wit::Value, InvokeFailure> {
        let failed =
            |cause: String| InvokeFailure::Failed { actor: actor.id.name.clone(), action: turn.action.clone(), cause };
        let outcome = match reply.as_mut() {
            None => self.run_guest(actor, turn).await,
            Some(waiting) => tokio::select! {
                value = self.run_guest(actor, turn) => value,
                () = waiting.closed() => {
                    return Err(failed("its caller gave up (the request's deadline passed); interrupted".into()));
                }
            },
        };
        outcome.map_err(|error| match error {
            InvokeError::NotStarted => {
                InvokeFailure::DeadlineExceeded { actor: actor.id.name.clone(), action: turn.action.clone() }
            }
            error => failed(error.to_string()),
        })
    }

    /// One turn of `actor` (see [`Inner::take_turn`]); it is idle from the end of it.
    pub(super) async fn turn(self: &Arc<Self>, actor: &mut Actor, turn: Turn) {
        self.take_turn(actor, turn).await;
        actor.touch();
    }

    /// One turn: built-ins, or the guest's `handle`, then state, checkpoint, workflow and
    /// the reply (or the routed target's reply).
    async fn take_turn(self: &Arc<Self>, actor: &mut Actor, mut turn: Turn) {
        if let Some(control) = turn.control.take() {
            self.control(actor, control).await;
            return;
        }
        if turn.reply.is_none() {
            // Nobody waits for it, so nobody times it out: its deadline starts now.
            turn.chain = turn.chain.detached(self.new_deadline());
        }
        if turn.reply.as_ref().is_some_and(oneshot::Sender::is_closed) {
            tracing::debug!(actor = %actor.name(), action = %turn.action, "its caller gave up: dropped unrun");
            return;
        }
        if turn.chain.expired() {
            let failure = InvokeFailure::DeadlineExceeded { actor: actor.id.name.clone(), action: turn.action };
            tracing::debug!(%failure, "dropped unrun");
            respond(turn.reply, Err(failure));
            return;
        }
        if !actor.refresh_entry(&self.modules.registry()) {
            respond(turn.reply, Err(self.not_found(&actor.id.name)));
            return;
        }
        let definition = actor.entry.definition();
        if GET_STATE_ACTIONS.contains(&turn.action.as_str()) && !defines(definition, &turn.action) {
            respond(turn.reply, Ok(actor.state.clone()));
            return;
        }
        let mut reply = turn.reply.take();
        let mut span = self.turn_span(actor, &mut turn, reply.is_some());
        let started = std::time::Instant::now();
        let ran = self.run_guest_for(actor, &turn, &mut reply).await;
        span.set("spawn.guest_us", started.elapsed().as_micros() as i64);
        if let Err(failure) = &ran {
            span.fail(failure.to_string());
        }
        let value = match ran {
            Ok(value) if value.effects.len() > self.routing.max_effects => {
                let failure = InvokeFailure::Overloaded(format!(
                    "{}.{} asked for {} side effects; a turn may ask for {}",
                    actor.id.name,
                    turn.action,
                    value.effects.len(),
                    self.routing.max_effects
                ));
                tracing::warn!(%failure, "turn refused; its state is unchanged");
                self.discard(actor);
                respond(reply, Err(failure));
                return;
            }
            Ok(value) => value,
            Err(failure) => {
                let (trace_id, span_id) = (span.context().trace_id, span.context().span_id);
                tracing::warn!(%failure, %trace_id, %span_id, "invocation failed");
                respond(reply, Err(failure));
                return;
            }
        };
        let before = value.checkpoint.then(|| (actor.state.clone(), actor.tags.clone(), actor.revision, actor.dirty));
        actor.apply(value.state, value.tags);
        if let Some((state, tags, revision, dirty)) = before
            && let Err(failure) = self.persist_traced(actor, turn.chain.trace()).await
        {
            span.fail(failure.to_string());
            // The turn failed: its state must not be saved later by a snapshot either.
            (actor.state, actor.tags, actor.revision, actor.dirty) = (state, tags, revision, dirty);
            self.discard(actor);
            respond(reply, Err(failure));
            return;
        }
        let answer = value.reply.map(convert::any_from_wit);
        self.broadcast(&actor.id, &turn.chain, value.broadcast);
        self.side_effects(&actor.id, &turn.chain, value.effects, &turn.metadata);
        match value.routing {
            None => respond(reply, Ok(answer)),
            Some(wit::Routing::Pipe(route)) => self.route(&actor.id, &turn.chain, route, answer, turn.metadata, reply),
            Some(wit::Routing::Forward(route)) => {
                self.route(&actor.id, &turn.chain, route, turn.payload, turn.metadata, reply)
            }
        }
    }

    /// Opens the turn's span (a server span if its caller waits, a consumer span if not)
    /// under the span that sent it, and makes it the parent of what the turn does: its chain
    /// carries it, and the guest sees it as `traceparent` in its metadata.
    fn turn_span(&self, actor: &Actor, turn: &mut Turn, waited: bool) -> Span {
        let kind = if waited { SpanKind::Server } else { SpanKind::Consumer };
        let definition = &actor.entry.definition().name;
        let telemetry = self.executor.engine().telemetry();
        let mut span =
            telemetry.start(|| format!("{definition}.{}", turn.action).into(), kind, Some(turn.chain.trace()));
        span.set_instance(&actor.id.name);
        if span.is_recording() {
            span.set("spawn.actor", definition.clone());
            span.set("spawn.action", turn.action.clone());
            span.set("spawn.module", actor.entry.module.hash.to_string());
            span.set("spawn.queued_us", turn.queued.elapsed().as_micros() as i64);
        }
        put_trace(&mut turn.metadata, span.context());
        turn.chain = turn.chain.with_trace(span.context().clone());
        span
    }

    /// [`Inner::persist`] of a checkpoint, as a span of the turn's trace.
    async fn persist_traced(&self, actor: &mut Actor, trace: &TraceContext) -> Result<(), InvokeFailure> {
        let telemetry = self.executor.engine().telemetry();
        let mut span = telemetry.start(|| "state save".into(), SpanKind::Internal, Some(trace));
        span.set_instance(&actor.id.name);
        let saved = self.persist(actor).await;
        if let Err(failure) = &saved {
            span.fail(failure.to_string());
        }
        saved
    }

    /// A turn the guest ran is discarded (its state and workflow are not taken): the
    /// instance that ran it goes too, so that no later turn meets guest memory that saw it.
    fn discard(&self, actor: &Actor) {
        self.executor.forget_instance(&actor.entry.module, actor.name());
    }
}
