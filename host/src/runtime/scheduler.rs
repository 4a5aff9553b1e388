//! The active actors, and when each one runs.
//!
//! An actor runs one turn at a time. A task runs it only while it has turns to take: when
//! its mailbox empties, the actor is parked in its table entry and the task ends. So an
//! idle actor holds no task, no channel and no timer, only its entry (its state included)
//! and one line in the housekeeping schedule, which tells one task per runtime when to
//! snapshot its state or to deactivate it. This is what keeps a hundred thousand idle
//! actors in a few tens of megabytes.
//!
//! No mail is ever lost: mail is queued or handed to the actor under the table's lock, and
//! an actor leaves the table only under that lock with its mailbox empty.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::time::Instant;

use super::actor::{Actor, Turn};
use super::core::Inner;
use super::failure::InvokeFailure;
use super::table::Slot;

/// What a task running an actor does once its turn is over.
enum Next {
    /// Take this turn.
    Turn(Box<Actor>, Box<Turn>),
    /// Nothing: the actor is parked.
    Parked,
    /// The runtime is stopping: persist the actor (it has left the table).
    Stop(Box<Actor>),
}

impl Inner {
    /// Puts `turn` in the actor's mailbox, activating the actor if needed; an idle actor
    /// gets a task to take it at once. Refused at once if the actor cannot be activated or
    /// its mailbox is full.
    pub(super) fn deliver(self: &Arc<Self>, name: &str, turn: Turn) -> Result<(), InvokeFailure> {
        let turn = Box::new(turn);
        let mut slots = self.active.slots();
        if let Some(slot) = slots.get_mut(name) {
            match slot.parked.take() {
                Some(actor) => {
                    drop(slots);
                    self.tasks.spawn(self.clone().drive(actor, Some(turn)));
                }
                None if slot.mailbox.len() >= self.routing.mailbox_capacity => {
                    return Err(InvokeFailure::Overloaded(format!(
                        "the mailbox of `{name}` holds {} turns, its capacity",
                        self.routing.mailbox_capacity
                    )));
                }
                None => slot.mailbox.push(turn),
            }
            return Ok(());
        }
        self.start_actor(name, &mut slots)?.mailbox.push(turn);
        Ok(())
    }

    /// Activates `name` unless it is active.
    pub(super) fn activate(self: &Arc<Self>, name: &str) -> Result<(), InvokeFailure> {
        let mut slots = self.active.slots();
        if !slots.contains_key(name) {
            self.start_actor(name, &mut slots)?;
        }
        Ok(())
    }

    /// Adds `name` to the table and starts its activation (load the state, run `init`),
    /// after which it takes what its mailbox holds by then.
    fn start_actor<'a>(
        self: &Arc<Self>,
        name: &str,
        slots: &'a mut HashMap<Arc<str>, Slot>,
    ) -> Result<&'a mut Slot, InvokeFailure> {
        if self.stopping.is_cancelled() {
            return Err(InvokeFailure::ShuttingDown);
        }
        let target = self.resolve(name)?;
        self.subscribe(&target);
        self.start_timers(&target);
        let inner = self.clone();
        self.tasks.spawn(async move {
            match inner.activate_actor(target.id, target.entry).await {
                Ok(actor) => inner.drive(Box::new(actor), None).await,
                Err((name, cause)) => inner.fail_activation(&name, &cause),
            }
        });
        let count = slots.len() + 1;
        self.executor.engine().metrics().set_active_actors(count);
        Ok(slots.entry(name.into()).or_default())
    }

    /// The actor's state could not be loaded: it leaves the table and the calls waiting
    /// for it fail.
    fn fail_activation(&self, name: &str, cause: &str) {
        tracing::error!(actor = %name, %cause, "cannot load the actor's state; failing its calls");
        let mut slots = self.active.slots();
        let Some(slot) = slots.remove(name) else { return };
        self.executor.engine().metrics().set_active_actors(slots.len());
        drop(slots);
        for turn in slot.mailbox.into_turns() {
            if let Some(reply) = turn.reply {
                let failure =
                    InvokeFailure::Failed { actor: name.to_owned(), action: turn.action, cause: cause.to_owned() };
                let _ = reply.send(Err(failure));
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
            match self.next_turn(actor) {
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
                    let _ = self.persist(&mut actor).await;
                    return;
                }
            }
        }
    }

    /// The actor's next turn, or else parks it (scheduling its housekeeping).
    fn next_turn(&self, actor: Box<Actor>) -> Next {
        let mut slots = self.active.slots();
        let Some(slot) = slots.get_mut(actor.name()) else { return Next::Stop(actor) };
        if let Some(turn) = slot.mailbox.pop() {
            return Next::Turn(actor, turn);
        }
        if self.stopping.is_cancelled() {
            slots.remove(actor.name());
            return Next::Stop(actor);
        }
        slot.mailbox.shrink();
        let due = actor.next_housekeeping();
        // Only an earlier time is worth a new entry: a late entry finds the actor busy
        // since, and schedules it again then. So most turns end here.
        if slot.wake_at.is_some_and(|at| at <= due) {
            slot.parked = Some(actor);
            return Next::Parked;
        }
        // The schedule names the actor by the table's key.
        let (name, _) = slots.get_key_value(actor.name()).expect("found above");
        let name = name.clone();
        let slot = slots.get_mut(actor.name()).expect("found above");
        self.active.schedule(name, slot, due);
        slot.parked = Some(actor);
        Next::Parked
    }

    /// The housekeeping task: snapshots the state of parked actors whose state changed
    /// a snapshot period ago, and deactivates those idle for their deactivation timeout.
    pub(super) async fn keep_house(self: Arc<Self>) {
        loop {
            let next = self.active.next_due();
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {}
                () = self.active.earlier.notified() => {}
                () = self.stopping.cancelled() => return,
            }
            for (at, name) in self.active.take_due(Instant::now()) {
                self.look_after(name, at);
            }
        }
    }

    /// Handles the schedule's entry `at` for `name`.
    fn look_after(self: &Arc<Self>, name: Arc<str>, at: Instant) {
        let mut slots = self.active.slots();
        let Some(slot) = slots.get_mut(&*name) else { return };
        if slot.wake_at != Some(at) {
            return; // Rescheduled since; the newer entry stands.
        }
        slot.wake_at = None;
        // A running actor is scheduled again when it parks.
        let Some(actor) = slot.parked.as_ref() else { return };
        let now = Instant::now();
        if actor.idle_expired(now) || actor.snapshot_due(now) {
            let actor = slot.parked.take().expect("checked just above");
            drop(slots);
            self.tasks.spawn(self.clone().maintain(actor));
        } else {
            let due = actor.next_housekeeping();
            self.active.schedule(name, slot, due);
        }
    }

    /// Persists the actor; then deactivates it if it is idle and its mailbox is empty,
    /// else lets it take its mail.
    async fn maintain(self: Arc<Self>, mut actor: Box<Actor>) {
        let retire = actor.idle_expired(Instant::now());
        let saved = self.persist(&mut actor).await.is_ok();
        if retire {
            if saved {
                let mut slots = self.active.slots();
                if slots.get(actor.name()).is_some_and(|slot| slot.mailbox.is_empty()) {
                    slots.remove(actor.name());
                    self.executor.engine().metrics().set_active_actors(slots.len());
                    tracing::debug!(actor = %actor.name(), "deactivated after its idle timeout");
                    return;
                }
            }
            // Busy again, or its state could not be saved: it stays, idle afresh.
            actor.touch();
        }
        self.drive(actor, None).await;
    }

    /// Shutdown: every parked actor gets a task that takes what is queued and persists;
    /// running ones do the same when their mailbox empties. Returns how many there were.
    pub(super) fn stop_actors(self: &Arc<Self>) -> usize {
        let (count, parked): (usize, Vec<Box<Actor>>) = {
            let mut slots = self.active.slots();
            (slots.len(), slots.values_mut().filter_map(|slot| slot.parked.take()).collect())
        };
        for actor in parked {
            self.tasks.spawn(self.clone().drive(actor, None));
        }
        count
    }
}
