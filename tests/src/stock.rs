//! The test proxy's actor side, faithful to the stock Spawn proxy where a host can go wrong
//! (read from its source: `lib/actors/actor/entity/lifecycle.ex`, `invocation.ex`,
//! `interface/http.ex`, `caller_consumer.ex`):
//!
//! - activation loads the registration's initial state; a stateful actor with no initial
//!   state and a `state_type` crashes (the proxy builds an empty struct of a module it does
//!   not have), as does an actor registered without `ActorState`; `init`/`setup` run after;
//! - the HTTP status of the host's answer is ignored; an empty body, or one without
//!   `updated_context`, is retried with backoff until the request timeout (metadata
//!   `request-timeout`, 60 s by default), re-posting the same invocation;
//! - an undecodable body, or a response asking for a `checkpoint`, crashes the actor process:
//!   its in-memory state is dropped (this proxy never snapshots, so all of it);
//! - a decoded answer replaces the state if `updated_context.state` is set, and always
//!   replaces the tags;
//! - the built-in `get` actions answer the state without calling the host;
//! - every registration re-runs the warm-up (`caller_consumer.ex:179, 910-965`): each stateful
//!   named (or task) actor that is not running is activated, a store read and its `init` turn;
//! - an active process keeps the definition it was activated with: actions (and timers) are
//!   checked against that copy, not the registry (`entity/supervisor.ex:56-61`,
//!   `invocation.ex:333-370, 421-450`); a spawned instance copies its template at spawn
//!   (`caller_consumer.ex:665-682`);
//! - deactivation (`lifecycle.ex:244-271`, here on demand) and a crash save the last committed
//!   state (`entity.ex:512-517`, `lifecycle.ex:167-180`); activation reads it back;
//! - an asynchronous invoke is a cast: answered at once, run once, its errors dropped
//!   (`caller_consumer.ex:863-866`, `entity.ex:410-433`);
//! - when timers are on ([`crate::TestProxy::fire_timers`]), every activation schedules the
//!   actor's timers keyed by the encoded request, whole definition included, skipping a key
//!   already scheduled, each repeating forever as an async invoke that reactivates the actor
//!   (`lifecycle.ex:71`, `invocation.ex:138-165`, `invocation_scheduler.ex:43-56, 76-93`).
//!
//! Workflows (effects, broadcasts, pipes, forwards) are not run.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use prost::Message;
use spawn_wasm_host::protocol::spawn::{self as pb, actors};
use spawn_wasm_host::sidecar::failure_in;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::ProxyState;

/// The proxy's default request timeout, as in `caller_consumer.ex`.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// First retry delay, doubled after each attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(500);
const GET_ACTIONS: &[&str] = &["get", "Get", "get_state", "getState", "GetState"];
const INIT_ACTIONS: &[&str] = &["init", "Init", "setup", "Setup"];

/// An active actor process: the definition it was activated with, and its in-memory state.
struct Active {
    actor: actors::Actor,
    memory: actors::ActorState,
}

/// One actor process: `Some` while active, `None` before activation, after deactivation or
/// after a crash. Its lock is its mailbox: one turn at a time.
type Process = Arc<tokio::sync::Mutex<Option<Active>>>;

/// The registered actors (templates and spawned instances, by name), their processes, the
/// store, and the timer schedules.
#[derive(Default)]
pub(crate) struct StockActors {
    registered: Mutex<HashMap<String, actors::Actor>>,
    processes: Mutex<HashMap<String, Process>>,
    /// The state saved on deactivation or crash, by actor.
    store: Mutex<HashMap<String, actors::ActorState>>,
    /// Timer schedules, by the encoded timer request (as `InvocationSchedulerState`).
    schedules: Mutex<HashMap<Vec<u8>, tokio::task::AbortHandle>>,
    timers: AtomicBool,
}

/// Why an invocation failed, for the client's `RequestStatus.message`.
type Failed = String;

impl StockActors {
    /// Records a registration (it overwrites earlier entries).
    pub(crate) fn register(&self, request: &pb::RegistrationRequest) {
        let registry = request.actor_system.as_ref().and_then(|system| system.registry.as_ref());
        let mut registered = self.registered.lock().unwrap();
        for (name, actor) in registry.map(|registry| registry.actors.clone()).unwrap_or_default() {
            registered.insert(name, actor);
        }
    }

    /// Forgets everything, as a restarted proxy (its registry and scheduler are in memory).
    pub(crate) fn forget(&self) {
        self.registered.lock().unwrap().clear();
        self.processes.lock().unwrap().clear();
        for (_, schedule) in self.schedules.lock().unwrap().drain() {
            schedule.abort();
        }
    }

    /// Turns timers on (from the next activation) or off (stopping every schedule).
    pub(crate) fn fire_timers(&self, on: bool) {
        self.timers.store(on, Ordering::Release);
        if !on {
            self.schedules.lock().unwrap().drain().for_each(|(_, schedule)| schedule.abort());
        }
    }

    /// Stops an actor process, saving its state, as the deactivation timer does.
    pub(crate) async fn deactivate(&self, name: &str) {
        let process = self.process(name);
        let mut slot = process.lock().await;
        if let Some(active) = slot.take() {
            self.store.lock().unwrap().insert(name.to_owned(), active.memory);
        }
    }

    /// Activates what the proxy warms up after a registration: named (or task) actors that are
    /// stateful and have `Metadata` (`caller_consumer.ex:945-965`).
    pub(crate) async fn warm_up(&self, state: &Arc<ProxyState>, host: SocketAddr) {
        let selectable: Vec<String> = self
            .registered
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, actor)| {
                let settings = actor.settings.clone().unwrap_or_default();
                let kind = settings.kind;
                actor.metadata.is_some()
                    && settings.stateful
                    && kind != actors::Kind::Unnamed as i32
                    && kind != actors::Kind::Pooled as i32
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in selectable {
            let process = self.process(&name);
            let mut slot = process.lock().await;
            let _ = self.activate(state, host, &name, &mut slot).await;
        }
    }

    /// Registers the instances of a `SpawnRequest` from their templates.
    pub(crate) fn spawn(&self, request: &pb::SpawnRequest) -> Result<(), Failed> {
        let mut registered = self.registered.lock().unwrap();
        for id in &request.actors {
            let template = registered.get(&id.parent).cloned().ok_or_else(|| format!("no template {}", id.parent))?;
            registered.insert(id.name.clone(), actors::Actor { id: Some(id.clone()), ..template });
        }
        Ok(())
    }

    /// The in-memory state of an actor process, if it is active.
    pub(crate) async fn memory(&self, name: &str) -> Option<actors::ActorState> {
        let process = self.processes.lock().unwrap().get(name).cloned()?;
        process.lock().await.as_ref().map(|active| active.memory.clone())
    }

    fn process(&self, name: &str) -> Process {
        self.processes.lock().unwrap().entry(name.to_owned()).or_default().clone()
    }

    /// The process stops; `terminate` saves its last committed state (`entity.ex:512-517`).
    fn crash(&self, state: &ProxyState, slot: &mut Option<Active>, why: String) -> Failed {
        if let Some(active) = slot.take() {
            let name = active.actor.id.as_ref().map(|id| id.name.clone()).unwrap_or_default();
            self.store.lock().unwrap().insert(name, active.memory);
        }
        state.log.lock().unwrap().crashes.push(why.clone());
        why
    }

    /// Loads the state of an inactive actor (the store, else the registration's initial state),
    /// schedules its timers and runs its init action, as `Lifecycle.init`.
    async fn activate(
        &self,
        state: &Arc<ProxyState>,
        host: SocketAddr,
        name: &str,
        slot: &mut Option<Active>,
    ) -> Result<(), Failed> {
        if slot.is_some() {
            return Ok(());
        }
        let actor =
            self.registered.lock().unwrap().get(name).cloned().ok_or_else(|| format!("Actor {name} not found"))?;
        let settings = actor.settings.clone().unwrap_or_default();
        let Some(initial) = actor.state.clone() else {
            return Err(self.crash(state, slot, format!("{name}: activation with a nil ActorState")));
        };
        let stored = self.store.lock().unwrap().get(name).cloned();
        if settings.stateful && stored.is_none() && initial.state.is_none() && !settings.state_type.is_empty() {
            let why =
                format!("{name}: activation built struct({}), which the proxy does not have", settings.state_type);
            return Err(self.crash(state, slot, why));
        }
        state.log.lock().unwrap().activations.push(name.to_owned());
        let memory = stored.unwrap_or(initial);
        if self.timers.load(Ordering::Acquire) {
            self.schedule_timers(state, &actor);
        }
        let init = actor.actions.iter().find(|action| INIT_ACTIONS.contains(&action.name.as_str())).cloned();
        let active = slot.insert(Active { actor, memory });
        if let Some(init) = init {
            let invocation = Self::invocation(active, &init.name, None, HashMap::new(), None);
            // Errors of the init action are ignored; a decoded answer updates state and tags.
            match self.post(state, host, name, &init.name, &invocation).await {
                Attempt::Answered(response) => Self::apply(active, &response),
                Attempt::Crashed(why) => return Err(self.crash(state, slot, why)),
                Attempt::Retry(_) => {}
            }
        }
        Ok(())
    }

    /// The client API's invoke, dispatched to the host as the stock proxy does.
    pub(crate) async fn invoke(
        &self,
        state: &Arc<ProxyState>,
        host: SocketAddr,
        request: pb::InvocationRequest,
    ) -> (StatusCode, pb::InvocationResponse) {
        match self.invoke_with_retries(state, host, request).await {
            Ok(payload) => (
                StatusCode::OK,
                pb::InvocationResponse {
                    status: Some(pb::RequestStatus { status: pb::Status::Ok as i32, message: String::new() }),
                    payload,
                    ..Default::default()
                },
            ),
            Err(message) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                pb::InvocationResponse {
                    status: Some(pb::RequestStatus { status: pb::Status::Error as i32, message }),
                    ..Default::default()
                },
            ),
        }
    }

    async fn invoke_with_retries(
        &self,
        state: &Arc<ProxyState>,
        host: SocketAddr,
        request: pb::InvocationRequest,
    ) -> Result<Option<pb::invocation_response::Payload>, Failed> {
        let id = request.actor.as_ref().and_then(|actor| actor.id.clone()).unwrap_or_default();
        if !request.register_ref.is_empty() {
            let instance = actors::ActorId { parent: request.register_ref.clone(), ..id.clone() };
            self.spawn(&pb::SpawnRequest { actors: vec![instance] })?;
        }
        let timeout = request
            .metadata
            .get("request-timeout")
            .and_then(|ms| ms.parse().ok())
            .map_or(REQUEST_TIMEOUT, Duration::from_millis);
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.turn(state, host, &id.name, &request).await {
                Turn::Done(result) => return result,
                Turn::Retry(why) if tokio::time::Instant::now() + backoff < deadline => {
                    state.log.lock().unwrap().retries.push(why);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Turn::Retry(why) => return Err(format!("request timeout; last error: {why}")),
            }
        }
    }

    /// An asynchronous invoke, as a cast: one attempt; its failure is dropped, only logged
    /// (`caller_consumer.ex:863-866`, `entity.ex:410-433`), here in [`crate::ProxyLog::dropped`]. A plain function returning a boxed
    /// future, because a timer's cast can activate an actor, which schedules timers.
    pub(crate) fn cast(
        state: Arc<ProxyState>,
        host: SocketAddr,
        request: pb::InvocationRequest,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let name =
                request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| id.name.as_str()).to_owned();
            let why = match state.actors.turn(&state, host, &name, &request).await {
                // The host's failure answer: a reply the proxy drops with the rest.
                Turn::Done(Ok(Some(pb::invocation_response::Payload::Value(reply)))) => match failure_in(&reply) {
                    Some(failure) => format!("{name}.{}: failed turn: {}", request.action_name, failure.message),
                    None => return,
                },
                Turn::Done(Ok(_)) => return,
                Turn::Done(Err(why)) | Turn::Retry(why) => why,
            };
            state.log.lock().unwrap().dropped.push(why);
        })
    }

    /// Schedules `actor`'s timers unless a schedule with the same key exists; each fires
    /// forever, as an async invoke from the actor itself with a no-op payload.
    fn schedule_timers(&self, state: &Arc<ProxyState>, actor: &actors::Actor) {
        for timer in &actor.timer_actions {
            let Some(action) = &timer.action else { continue };
            let request = pb::InvocationRequest {
                system: actor.id.as_ref().map(|id| actors::ActorSystem { name: id.system.clone(), registry: None }),
                actor: Some(actor.clone()),
                action_name: action.name.clone(),
                payload: Some(pb::invocation_request::Payload::Noop(pb::Noop {})),
                r#async: true,
                caller: actor.id.clone(),
                ..Default::default()
            };
            let mut schedules = self.schedules.lock().unwrap();
            let key = request.encode_to_vec();
            if schedules.contains_key(&key) {
                continue;
            }
            let period = Duration::from_millis(u64::try_from(timer.seconds).unwrap_or(0).max(1));
            let state = state.clone();
            let schedule = tokio::spawn(async move {
                let mut next = tokio::time::Instant::now() + period;
                loop {
                    tokio::time::sleep_until(next).await;
                    next += period;
                    let Some(host) = *state.host.borrow() else { continue };
                    tokio::spawn(Self::cast(state.clone(), host, request.clone()));
                }
            });
            schedules.insert(key, schedule.abort_handle());
        }
    }

    /// One attempt of an invocation, in the actor's process.
    async fn turn(
        &self,
        state: &Arc<ProxyState>,
        host: SocketAddr,
        name: &str,
        request: &pb::InvocationRequest,
    ) -> Turn {
        let process = self.process(name);
        let mut slot = process.lock().await;
        if let Err(why) = self.activate(state, host, name, &mut slot).await {
            return Turn::Done(Err(why));
        }
        let active = slot.as_mut().expect("activated");
        let actor = &active.actor;
        let action = request.action_name.as_str();
        let declared = |action: &str| {
            actor.actions.iter().any(|declared| declared.name == action)
                || actor.timer_actions.iter().any(|timer| timer.action.as_ref().is_some_and(|a| a.name == action))
        };
        if GET_ACTIONS.contains(&action) && !GET_ACTIONS.iter().any(|get| declared(get)) {
            let current = active.memory.state.clone();
            return Turn::Done(Ok(current.map(pb::invocation_response::Payload::Value)));
        }
        if !declared(action) {
            return Turn::Done(Err(format!("Action [{action}] not found for Actor [{name}]")));
        }
        let payload = match request.payload.clone() {
            Some(pb::invocation_request::Payload::Value(any)) => Some(pb::actor_invocation::Payload::Value(any)),
            Some(pb::invocation_request::Payload::Noop(noop)) => Some(pb::actor_invocation::Payload::Noop(noop)),
            None => None,
        };
        let invocation = Self::invocation(active, action, payload, request.metadata.clone(), request.caller.clone());
        match self.post(state, host, name, action, &invocation).await {
            Attempt::Retry(why) => Turn::Retry(why),
            Attempt::Crashed(why) => Turn::Done(Err(self.crash(state, &mut slot, why))),
            Attempt::Answered(response) if response.checkpoint => {
                let why = format!("{name}.{action}: checkpoint returned the save's result instead of the reply");
                Turn::Done(Err(self.crash(state, &mut slot, why)))
            }
            Attempt::Answered(response) => {
                Self::apply(active, &response);
                Turn::Done(Ok(response.payload.map(|payload| match payload {
                    pb::actor_invocation_response::Payload::Value(any) => pb::invocation_response::Payload::Value(any),
                    pb::actor_invocation_response::Payload::Noop(noop) => pb::invocation_response::Payload::Noop(noop),
                })))
            }
        }
    }

    fn invocation(
        active: &Active,
        action: &str,
        payload: Option<pb::actor_invocation::Payload>,
        metadata: HashMap<String, String>,
        caller: Option<actors::ActorId>,
    ) -> pb::ActorInvocation {
        let (actor, memory) = (&active.actor, active.memory.clone());
        pb::ActorInvocation {
            actor: actor.id.clone(),
            action_name: action.to_owned(),
            current_context: Some(pb::Context {
                state: memory.state,
                caller: caller.clone(),
                self_: actor.id.clone(),
                metadata,
                tags: memory.tags,
            }),
            payload,
            caller,
        }
    }

    /// The state and tags of a decoded answer, as `Interface.Http.update_state`.
    fn apply(active: &mut Active, response: &pb::ActorInvocationResponse) {
        let memory = &mut active.memory;
        let Some(context) = response.updated_context.as_ref() else { return };
        if let Some(state) = &context.state {
            memory.state = Some(state.clone());
        }
        memory.tags = context.tags.clone();
    }

    /// Posts an invocation to the host and reads the answer as `Interface.Http` does: the
    /// status code is ignored. Like the proxy's HTTP client (Mint), it writes the whole request
    /// before it reads the answer, so a host that closes the connection under a body it does
    /// not want causes a transport error.
    async fn post(
        &self,
        state: &ProxyState,
        host: SocketAddr,
        name: &str,
        action: &str,
        invocation: &pb::ActorInvocation,
    ) -> Attempt {
        state.log.lock().unwrap().host_calls.push((name.to_owned(), action.to_owned()));
        let body = match post_then_read(host, &invocation.encode_to_vec()).await {
            Ok(body) => body,
            Err(error) => return Attempt::Retry(format!("{name}.{action}: transport error {error}")),
        };
        if body.is_empty() {
            return Attempt::Retry(format!("{name}.{action}: no_content"));
        }
        match pb::ActorInvocationResponse::decode(body.as_slice()) {
            Err(error) => Attempt::Crashed(format!("{name}.{action}: undecodable answer ({error})")),
            Ok(response) if response.updated_context.is_none() => {
                Attempt::Retry(format!("{name}.{action}: invalid_content"))
            }
            Ok(response) => Attempt::Answered(Box::new(response)),
        }
    }
}

/// `POST /api/v1/actors/actions` with `body` on a new connection: the whole request is written
/// first, then the answer is read to its end; returns the answer's body.
async fn post_then_read(host: SocketAddr, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let head = format!(
        "POST /api/v1/actors/actions HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/octet-stream\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let split = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "an answer without a complete head"))?;
    let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
    assert!(!head.contains("transfer-encoding: chunked"), "the host answered chunked: {head}");
    Ok(answer.split_off(split + 4))
}

/// How one post to the host ended.
enum Attempt {
    /// A decoded answer with `updated_context`.
    Answered(Box<pb::ActorInvocationResponse>),
    /// Retried by the caller's loop.
    Retry(String),
    /// The actor process crashed.
    Crashed(String),
}

/// How one attempt of an invocation ended.
enum Turn {
    Done(Result<Option<pb::invocation_response::Payload>, Failed>),
    Retry(String),
}
