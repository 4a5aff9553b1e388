//! Declaring an actor: its settings, and the typed handlers of its actions and timers.

use prost::{Message, Name};

use crate::any::unpack_parts;
use crate::bindings::exports::spawn::actor::signatures::ActionSignature;
use crate::bindings::spawn::actor::types::{self as wit, ActorDefinition, Invocation, Kind};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::invocation;
use crate::value::Value;

type Handler = Box<dyn Fn(Invocation) -> Result<wit::Value> + Send + Sync>;

/// An actor whose state is an `S` (use `()` for a stateless actor): its settings and
/// handlers. Build one with [`Actor::named`] or [`Actor::unnamed`], then export it with
/// [`export_actors!`](crate::export_actors).
pub struct Actor<S> {
    definition: ActorDefinition,
    /// The message types of its actions, from their handlers' types.
    signatures: Vec<ActionSignature>,
    /// By action name; a few per actor, so a scan beats hashing.
    handlers: Vec<(String, Handler)>,
    _state: std::marker::PhantomData<fn() -> S>,
}

impl<S: Message + Name + Default + 'static> Actor<S> {
    fn new(name: &str, kind: Kind) -> Self {
        let stateful = std::any::TypeId::of::<S>() != std::any::TypeId::of::<()>();
        Actor {
            definition: ActorDefinition {
                name: name.to_owned(),
                kind,
                stateful,
                actions: Vec::new(),
                timer_actions: Vec::new(),
                channels: Vec::new(),
                snapshot_timeout_ms: 0,
                deactivation_timeout_ms: 0,
                min_pool_size: 0,
                max_pool_size: 0,
                state_type: stateful.then(S::full_name),
                initial_tags: Vec::new(),
            },
            signatures: Vec::new(),
            handlers: Vec::new(),
            _state: std::marker::PhantomData,
        }
    }

    /// A named actor: one instance, addressed by `name`. Stateful unless `S` is `()`.
    pub fn named(name: &str) -> Self {
        Self::new(name, Kind::Named)
    }

    /// An unnamed actor: a template whose instances are spawned under their own names.
    pub fn unnamed(name: &str) -> Self {
        Self::new(name, Kind::Unnamed)
    }

    /// A pooled actor (stateless instances). Standalone serves it as named; sidecar mode
    /// refuses it, since the Spawn proxy does not support the kind.
    pub fn pooled(name: &str) -> Self {
        Self::new(name, Kind::Pooled)
    }

    /// Declare the actor stateless even though it has a state type.
    pub fn stateless(mut self) -> Self {
        self.definition.stateful = false;
        self
    }

    /// Subscribe to `topic`: a broadcast there invokes `action`.
    pub fn channel(mut self, topic: &str, action: &str) -> Self {
        let channel = wit::Channel { topic: topic.to_owned(), action: action.to_owned() };
        self.definition.channels.push(channel);
        self
    }

    /// Persist changed state every `ms` milliseconds (default 2000).
    pub fn snapshot_timeout(mut self, ms: u64) -> Self {
        self.definition.snapshot_timeout_ms = ms;
        self
    }

    /// Deactivate the actor after `ms` milliseconds (default 10000): of idleness standalone,
    /// after activation whatever the activity with the Spawn proxy (see `wit/actor.wit`).
    pub fn deactivation_timeout(mut self, ms: u64) -> Self {
        self.definition.deactivation_timeout_ms = ms;
        self
    }

    /// Pool bounds of a pooled actor.
    pub fn pool_size(mut self, min: u32, max: u32) -> Self {
        self.definition.min_pool_size = min;
        self.definition.max_pool_size = max;
        self
    }

    /// A tag every instance starts with.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.definition.initial_tags.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Handle action `name` with an input of type `I`. A no-op payload arrives as
    /// `I::default()`; a payload of another type is rejected before `handler` runs.
    ///
    /// The action declares `I` as its input type (none if `I` is `()`), so that clients may
    /// send its input as a bare JSON object; declare what it replies with
    /// [`Actor::returns`].
    pub fn action<I, F>(mut self, name: &str, handler: F) -> Self
    where
        I: Message + Name + Default + 'static,
        F: Fn(I, &Context<S>) -> Result<Value<S>> + Send + Sync + 'static,
    {
        self.definition.actions.push(name.to_owned());
        let typed = std::any::TypeId::of::<I>() != std::any::TypeId::of::<()>();
        self.signatures.push(ActionSignature {
            actor: self.definition.name.clone(),
            action: name.to_owned(),
            input: typed.then(I::full_name),
            output: None,
        });
        self.handle_with(
            name,
            Box::new(move |invocation| {
                let input = match invocation.payload {
                    Some(any) => {
                        let (type_url, value) = invocation::any(&invocation.data, any)?;
                        unpack_parts::<I>(type_url, value)?
                    }
                    None => I::default(),
                };
                let context = Context::from_invocation(invocation)?;
                handler(input, &context).map(Value::into_wit)
            }),
        )
    }

    /// Declare that the action added last replies an `R` (shown by `spawn-wasm inspect`
    /// and `/v1/modules`; the reply itself is whatever the handler's [`Value::reply`] gives).
    pub fn returns<R: Name>(mut self) -> Self {
        if let Some(signature) = self.signatures.last_mut() {
            signature.output = Some(R::full_name());
        }
        self
    }

    /// Run `handler` every `period_ms` milliseconds while the actor is active.
    pub fn timer<F>(mut self, name: &str, period_ms: u32, handler: F) -> Self
    where
        F: Fn(&Context<S>) -> Result<Value<S>> + Send + Sync + 'static,
    {
        let timer = wit::TimerAction { action: name.to_owned(), period_ms };
        self.definition.timer_actions.push(timer);
        self.handle_with(
            name,
            Box::new(move |invocation| {
                let context = Context::from_invocation(invocation)?;
                handler(&context).map(Value::into_wit)
            }),
        )
    }

    /// Runs `handler` for action `name`, instead of any handler it had.
    fn handle_with(mut self, name: &str, handler: Handler) -> Self {
        match self.handlers.iter_mut().find(|(action, _)| action == name) {
            Some((_, existing)) => *existing = handler,
            None => self.handlers.push((name.to_owned(), handler)),
        }
        self
    }

    /// This actor's definition, as the host sees it.
    pub fn definition(&self) -> &ActorDefinition {
        &self.definition
    }

    /// The message types of its actions, as the host sees them.
    pub fn signatures(&self) -> &[ActionSignature] {
        &self.signatures
    }

    /// Runs one invocation, as the host would. Useful to unit-test actors natively.
    pub fn handle(&self, invocation: Invocation) -> Result<wit::Value> {
        let action = invocation::text(&invocation.data, invocation.action)?;
        match self.handlers.iter().find(|(name, _)| name == action) {
            Some((_, handler)) => handler(invocation),
            None => Err(Error::UnknownAction(format!("actor `{}` has no action `{action}`", self.definition.name))),
        }
    }
}

/// An actor with its state type erased, so that actors of different state types can be
/// exported together.
pub trait AnyActor: Send + Sync {
    /// See [`Actor::definition`].
    fn definition(&self) -> &ActorDefinition;
    /// See [`Actor::signatures`].
    fn signatures(&self) -> &[ActionSignature];
    /// See [`Actor::handle`].
    fn handle(&self, invocation: Invocation) -> Result<wit::Value>;
}

impl<S: Message + Name + Default + 'static> AnyActor for Actor<S> {
    fn definition(&self) -> &ActorDefinition {
        Actor::definition(self)
    }

    fn signatures(&self) -> &[ActionSignature] {
        Actor::signatures(self)
    }

    fn handle(&self, invocation: Invocation) -> Result<wit::Value> {
        Actor::handle(self, invocation)
    }
}
