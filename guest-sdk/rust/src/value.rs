//! What an action returns: new state, reply, tags and the workflow that follows the turn.

use prost::{Message, Name};

use crate::any::pack;
use crate::bindings::spawn::actor::types::{self as wit, Any};

/// The outcome of an action, built fluently. `Value::new()` keeps the state and sends no
/// reply; each method adds one thing.
///
/// ```
/// # use spawn_wasm_sdk::{Value, Effect};
/// # use domain::{Counter, Reply, Request};
/// let value = Value::new()
///     .state(Counter { value: 2 })
///     .reply(&Reply { response: "ok".into() })
///     .tag("last", "increment")
///     .broadcast("updates", &Counter { value: 2 })
///     .effect(Effect::to("joe", "setLanguage").payload(&Request { language: "rust".into() }))
///     .checkpoint();
/// # let _ = value;
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Value does nothing until the action returns it"]
pub struct Value<S> {
    state: Option<S>,
    reply: Option<Any>,
    tags: Option<Vec<(String, String)>>,
    broadcast: Option<wit::Broadcast>,
    effects: Vec<wit::SideEffect>,
    routing: Option<wit::Routing>,
    checkpoint: bool,
}

impl<S> Default for Value<S> {
    fn default() -> Self {
        Value {
            state: None,
            reply: None,
            tags: None,
            broadcast: None,
            effects: Vec::new(),
            routing: None,
            checkpoint: false,
        }
    }
}

impl<S: Message + Name> Value<S> {
    /// Keep the state, reply nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace the actor's state with `state`.
    pub fn state(mut self, state: S) -> Self {
        self.state = Some(state);
        self
    }

    /// Reply `message` to the caller.
    pub fn reply<M: Message + Name>(mut self, message: &M) -> Self {
        self.reply = Some(pack(message));
        self
    }

    /// Reply nothing (a no-op payload). This is the default.
    pub fn noreply(mut self) -> Self {
        self.reply = None;
        self
    }

    /// Set tag `key` to `value`. The first call starts from an empty set: tags not set
    /// again are dropped. Without any tag call, the actor's tags are kept.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.get_or_insert_with(Vec::new).push((key.into(), value.into()));
        self
    }

    /// Replace all of the actor's tags.
    pub fn tags<K: Into<String>, V: Into<String>>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self {
        self.tags = Some(tags.into_iter().map(|(k, v)| (k.into(), v.into())).collect());
        self
    }

    /// Publish `message` to every actor subscribed to `channel` (this one included, if
    /// subscribed).
    pub fn broadcast<M: Message + Name>(mut self, channel: impl Into<String>, message: &M) -> Self {
        self.broadcast = Some(wit::Broadcast { channel: channel.into(), payload: Some(pack(message)) });
        self
    }

    /// Publish a no-op payload to `channel`.
    pub fn broadcast_noop(mut self, channel: impl Into<String>) -> Self {
        self.broadcast = Some(wit::Broadcast { channel: channel.into(), payload: None });
        self
    }

    /// Run `effect` asynchronously once this turn's state is saved.
    pub fn effect(mut self, effect: Effect) -> Self {
        self.effects.push(effect.0);
        self
    }

    /// Run several effects.
    pub fn effects(mut self, effects: impl IntoIterator<Item = Effect>) -> Self {
        self.effects.extend(effects.into_iter().map(|effect| effect.0));
        self
    }

    /// Invoke `action` on `actor` with this turn's reply; a synchronous caller receives
    /// that actor's reply instead.
    pub fn pipe(mut self, route: Route) -> Self {
        self.routing = Some(wit::Routing::Pipe(route.0));
        self
    }

    /// Invoke `action` on `actor` with this turn's input; a synchronous caller receives
    /// that actor's reply instead.
    pub fn forward(mut self, route: Route) -> Self {
        self.routing = Some(wit::Routing::Forward(route.0));
        self
    }

    /// Persist the state before the reply leaves. The embedded runtime honours it; sidecar
    /// mode clears it, since the Spawn proxy's checkpoint is broken in its current release
    /// (the state is saved at the next snapshot instead).
    pub fn checkpoint(mut self) -> Self {
        self.checkpoint = true;
        self
    }

    /// The WIT record the host receives.
    pub fn into_wit(self) -> wit::Value {
        wit::Value {
            state: self.state.as_ref().map(pack),
            reply: self.reply,
            tags: self.tags,
            broadcast: self.broadcast,
            effects: self.effects,
            routing: self.routing,
            checkpoint: self.checkpoint,
        }
    }
}

/// The target of a pipe or a forward.
#[derive(Debug, Clone)]
pub struct Route(wit::Route);

impl Route {
    /// Action `action` of actor `actor`.
    pub fn to(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Route(wit::Route { actor: actor.into(), action: action.into(), register_ref: None })
    }

    /// Spawn `actor` from the unnamed template `parent` first, if it does not exist.
    pub fn register_ref(mut self, parent: impl Into<String>) -> Self {
        self.0.register_ref = Some(parent.into());
        self
    }
}

/// An asynchronous invocation that runs after the turn (a side effect).
#[derive(Debug, Clone)]
pub struct Effect(wit::SideEffect);

impl Effect {
    /// Invoke `action` on `actor`, with a no-op payload unless [`Effect::payload`] is set.
    pub fn to(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Effect(wit::SideEffect {
            actor: actor.into(),
            action: action.into(),
            payload: None,
            register_ref: None,
            scheduled_to: None,
            metadata: Vec::new(),
        })
    }

    /// The input of the invocation.
    pub fn payload<M: Message + Name>(mut self, message: &M) -> Self {
        self.0.payload = Some(pack(message));
        self
    }

    /// Spawn `actor` from the unnamed template `parent` first, if it does not exist.
    pub fn register_ref(mut self, parent: impl Into<String>) -> Self {
        self.0.register_ref = Some(parent.into());
        self
    }

    /// Run at `unix_ms` (absolute Unix time in milliseconds) rather than now.
    pub fn scheduled_to(mut self, unix_ms: i64) -> Self {
        self.0.scheduled_to = Some(unix_ms);
        self
    }

    /// Run `delay_ms` milliseconds from now.
    pub fn delay_ms(self, delay_ms: u64) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as i64);
        self.scheduled_to(now.saturating_add(delay_ms as i64))
    }

    /// Add request metadata.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.metadata.push((key.into(), value.into()));
        self
    }
}
