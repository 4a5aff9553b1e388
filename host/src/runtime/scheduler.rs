//! The active actors, and when each one runs.
//!
//! An actor runs one turn at a time. A task runs it only while it has turns to take: when
//! its mailbox empties, the actor is parked in its table entry and the task ends. So an
//! idle actor holds no task, no channel and no timer of its own, only its entry (its state
//! included) and one line in the housekeeping schedule, which tells one task per runtime
//! when to snapshot its state or to deactivate it. This is what keeps a hundred thousand
//! idle actors in a few tens of megabytes.
//!
//! No mail is ever lost: mail is queued or handed to the actor under the table's lock, and
//! an actor leaves the table only under that lock with its mailbox empty. No lock is held
//! while another is taken: an actor's definition is resolved before the table is touched,
//! and if another call activated the actor meanwhile, the turn is offered to it again.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::actor::{Actor, Control, Turn};
use super::core::{Inner, Target};
use super::failure::InvokeFailure;
use super::table::{Next, Offer};

/// How often shutdown tries to store a state that could not be stored, and how long it
/// waits between the tries.
const FINAL_SAVE_RETRIES: [Duration; 2] = [Duration::from_millis(200), Duration::from_secs(1)];

impl Inner {
    /// Puts `turn` in the actor's mailbox, activating the actor if needed; an idle actor
    /// gets a task to take it at once. Refused at once if the actor cannot be activated or
    /// its mailbox is full.
    pub(super) fn deliver(self: &Arc<Self>, name: &str, turn: Turn) -> Result<(), InvokeFailure> {
        self.try_deliver(name, Box::new(turn)).map_err(|(failure, _)| failure)
    }

    /// [`Inner::deliver`], giving the turn back with the reason it was refused.
    pub(super) fn try_deliver(
        self: &Arc<Self>,
        name: &str,
        mut turn: Box<Turn>,
    ) -> Result<(), (InvokeFailure, Box<Turn>)> {
        loop {
            match self.active.offer(name, turn, self.routing.mailbox_capacity) {
                Offer::Queued => return Ok(()),
                Offer::Run(actor, turn) => {
                    self.tasks.spawn(self.clone().drive(actor, Some(turn)));
                    return Ok(());
                }
                Offer::Full(turn) => {
                    let failure = InvokeFailure::Overloaded(format!(
                        "the mailbox of `{name}` holds {} turns, its capacity",
                        self.routing.mailbox_capacity
                    ));
                    return Err((failure, turn));
                }
                Offer::Absent(back) => match self.start_actor(name, Some(back)) {
                    Ok(None) => return Ok(()),
                    // Activated by another call meanwhile: offered to it again.
                    Ok(Some(back)) => turn = back,
                    Err((failure, back)) => return Err((failure, back.expect("given"))),
                },
            }
        }
    }

    /// Activates `name` unless it is active.
    pub(super) fn activate(self: &Arc<Self>, name: &str) -> Result<(), InvokeFailure> {
        if self.active.contains(name) {
            return Ok(());
        }
        self.start_actor(name, None).map(drop).map_err(|(failure, _)| failure)
    }

    /// Adds `name` to the table with `first` in its mailbox and starts its activation (load
    /// the state, run `init`), after which it takes what its mailbox holds by then. Gives
    /// `first` back if `name` was activated meanwhile (`Ok`), or with the reason it cannot
    /// be (`Err`).
    #[expect(clippy::type_complexity, reason = "the turn comes back on either side")]
    fn start_actor(
        self: &Arc<Self>,
        name: &str,
        first: Option<Box<Turn>>,
    ) -> Result<Option<Box<Turn>>, (InvokeFailure, Option<Box<Turn>>)> {
        if self.stopping.is_cancelled() {
            return Err((InvokeFailure::ShuttingDown, first));
        }
        let target = match self.resolve(name) {
            Ok(target) => target,
            Err(failure) => return Err((failure, first)),
        };
        let count = match self.active.insert(name, first) {
            Ok(count) => count,
            Err(back) => return Ok(back),
        };
        self.executor.engine().metrics().set_active_actors(count);
        self.follow(&target);
        let inner = self.clone();
        self.tasks.spawn(async move {
            match inner.activate_actor(target.id, target.entry).await {
                Ok(actor) => inner.drive(Box::new(actor), None).await,
                Err((name, cause)) => inner.fail_activation(&name, &cause),
            }
        });
        Ok(None)
    }

    /// From its activation on, `target` keeps its channel subscriptions and its timers.
    pub(super) fn follow(&self, target: &Target) {
        let definition = target.entry.definition();
        self.channels.follow(&target.id.name, definition);
        if !definition.timer_actions.is_empty() {
            self.clock.set_timers(&target.id.name, &definition.timer_actions);
            self.count_clock();
        }
    }

    /// The actor's state could not be loaded: it leaves the table and the calls (and
    /// control messages) waiting for it fail with the cause.
    fn fail_activation(&self, name: &str, cause: &str) {
        tracing::error!(actor = %name, %cause, "cannot load the actor's state; failing its calls");
        let Some((mailbox, count)) = self.active.remove(name) else { return };
        self.executor.engine().metrics().set_active_actors(count);
        for mut turn in mailbox.into_turns() {
            let failure = |action: &str| InvokeFailure::Failed {
                actor: name.to_owned(),
                action: action.to_owned(),
                cause: cause.to_owned(),
            };
            match turn.control.take() {
                Some(Control::Flush(reply)) => {
                    let _ = reply.send(Err(failure("state")));
                }
                Some(Control::Restore(_, reply)) => {
                    let _ = reply.send(Err(failure("restore")));
                }
                None => {
                    if let Some(reply) = turn.reply.take() {
                        let _ = reply.send(Err(failure(&turn.action)));
                    }
                }
            }
        }
    }

    /// Runs the actor's turns, `first` and then its mailbox's, until it is empty.
    async fn drive(self: Arc<Self>, mut actor: Box<Actor>, mut first: Option<Box<Turn>>) {
        loop {
            if let Some(turn) = first.take() {
                self.turn(&mut actor, *turn).await;
                // A busy actor's turns can all complete without waiting on anything: yield
                // now and then, so that it never holds a worker thread from other tasks.
                tokio::task::coop::consume_budget().await;
            }
            match self.active.next(actor, self.stopping.is_cancelled()) {
                Next::Turn(mut same, turn) => {
                    // Housekeeping only sees parked actors: one whose mailbox never empties
                    // takes its snapshots here, between turns.
                    if same.snapshot_due(Instant::now()) {
                        let _ = self.persist(&mut same).await;
                    }
                    (actor, first) = (same, Some(turn));
                }
                Next::Parked => return,
                Next::Stop(mut actor) => {
                    self.persist_finally(&mut actor).await;
                    return;
                }
            }
        }
    }

    /// Shutdown's save of an actor, tried again a few times; an actor whose state still
    /// could not be stored is named in [`Inner::unsaved`], so that shutdown reports it.
    async fn persist_finally(&self, actor: &mut Actor) {
        let mut retries = FINAL_SAVE_RETRIES.iter();
        loop {
            match self.persist(actor).await {
                Ok(()) => return,
                Err(failure) => match retries.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => {
                        self.unsaved.lock().unwrap().push((actor.name().to_owned(), failure.to_string()));
                        return;
                    }
                },
            }
        }
    }

    /// The housekeeping task: snapshots the state of parked actors whose state changed
    /// a snapshot period ago, and deactivates those idle for their deactivation timeout.
    pub(super) async fn keep_house(self: Arc<Self>) {
        while self.wait_for(self.active.next_due(), &self.active.earlier).await {
            let now = Instant::now();
            for (at, name) in self.active.take_due(now) {
                let care = |actor: &Actor| actor.idle_expired(now) || actor.snapshot_due(now);
                if let Some(actor) = self.active.due_for_care(name, at, care) {
                    self.tasks.spawn(self.clone().maintain(actor));
                }
            }
        }
    }

    /// Persists the actor; then deactivates it if it is idle and its mailbox is empty,
    /// else lets it take its mail.
    async fn maintain(self: Arc<Self>, mut actor: Box<Actor>) {
        let retire = actor.idle_expired(Instant::now());
        let saved = self.persist(&mut actor).await.is_ok();
        if retire {
            if saved && let Some(count) = self.active.retire(actor.name()) {
                self.executor.engine().metrics().set_active_actors(count);
                tracing::debug!(actor = %actor.name(), "deactivated after its idle timeout");
                return;
            }
            // Busy again, or its state could not be saved: it stays, idle afresh.
            actor.touch();
        }
        self.drive(actor, None).await;
    }

    /// Shutdown: every parked actor gets a task that takes what is queued and persists;
    /// running ones do the same when their mailbox empties. Returns how many there were.
    pub(super) fn stop_actors(self: &Arc<Self>) -> usize {
        let (count, parked) = self.active.unpark_all();
        for actor in parked {
            self.tasks.spawn(self.clone().drive(actor, None));
        }
        count
    }
}
