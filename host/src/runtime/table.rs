//! The table of active actors: one entry each (its mailbox, or the actor itself while it
//! is parked) and the housekeeping schedule. Data and its invariants; what runs actors
//! from it is [`super::scheduler`].
//!
//! It owns its locks: every method takes them, does its work and releases them before
//! returning, calling nothing outside this file meanwhile. Inside, `slots` is taken before
//! `schedule`, never the other way round.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use super::actor::{Actor, Turn};

/// Active actors by instance name, and their housekeeping schedule.
#[derive(Default)]
pub(super) struct ActiveActors {
    slots: Mutex<HashMap<Arc<str>, Slot>>,
    /// When each parked actor next needs housekeeping, earliest first.
    schedule: Mutex<BTreeSet<(Instant, Arc<str>)>>,
    /// Signalled when an entry earlier than every other one is scheduled.
    pub(super) earlier: Notify,
}

/// One active actor.
#[derive(Default)]
struct Slot {
    /// Turns waiting while a task runs the actor.
    mailbox: Mailbox,
    /// The actor, while no task runs it.
    parked: Option<Box<Actor>>,
    /// Its entry in the schedule, if it has one.
    wake_at: Option<Instant>,
}

/// Turns waiting for a running actor: one pointer, and no allocation, while none wait
/// (which is almost always: the table holds one per active actor).
#[derive(Default)]
#[expect(clippy::box_collection, reason = "8 bytes in every table entry instead of the 32 of a VecDeque")]
pub(super) struct Mailbox(Option<Box<VecDeque<Box<Turn>>>>);

impl Mailbox {
    fn push(&mut self, turn: Box<Turn>) {
        self.0.get_or_insert_default().push_back(turn);
    }

    fn pop(&mut self) -> Option<Box<Turn>> {
        self.0.as_mut()?.pop_front()
    }

    /// How many turns wait.
    fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |turns| turns.len())
    }

    fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|turns| turns.is_empty())
    }

    /// Frees what a burst of mail allocated, once it is empty.
    fn shrink(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }

    /// The turns waiting, in order.
    pub(super) fn into_turns(self) -> impl Iterator<Item = Box<Turn>> {
        self.0.into_iter().flat_map(|turns| *turns)
    }
}

/// What became of a turn offered to an actor.
pub(super) enum Offer {
    /// Queued in its running actor's mailbox.
    Queued,
    /// The actor was parked: it is handed over with the turn, for a task to run.
    Run(Box<Actor>, Box<Turn>),
    /// Its mailbox holds `capacity` turns: the turn is given back.
    Full(Box<Turn>),
    /// It is not active: the turn is given back.
    Absent(Box<Turn>),
}

/// What a task running an actor does once its turn is over.
pub(super) enum Next {
    /// Take this turn.
    Turn(Box<Actor>, Box<Turn>),
    /// Nothing: the actor is parked.
    Parked,
    /// The runtime is stopping, or the actor left the table: persist it.
    Stop(Box<Actor>),
}

impl ActiveActors {
    /// Whether `name` is active.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.slots.lock().unwrap().contains_key(name)
    }

    /// The names of the active actors.
    pub(super) fn names(&self) -> Vec<String> {
        self.slots.lock().unwrap().keys().map(|name| name.to_string()).collect()
    }

    /// Hands `turn` to the active actor `name` (see [`Offer`]).
    pub(super) fn offer(&self, name: &str, turn: Box<Turn>, capacity: usize) -> Offer {
        let mut slots = self.slots.lock().unwrap();
        let Some(slot) = slots.get_mut(name) else { return Offer::Absent(turn) };
        if let Some(actor) = slot.parked.take() {
            return Offer::Run(actor, turn);
        }
        if slot.mailbox.len() >= capacity {
            return Offer::Full(turn);
        }
        slot.mailbox.push(turn);
        Offer::Queued
    }

    /// Adds `name`, being activated, with `first` in its mailbox; returns how many actors
    /// are active. If it became active meanwhile, gives `first` back instead.
    pub(super) fn insert(&self, name: &str, first: Option<Box<Turn>>) -> Result<usize, Option<Box<Turn>>> {
        let mut slots = self.slots.lock().unwrap();
        if slots.contains_key(name) {
            return Err(first);
        }
        let mut slot = Slot::default();
        if let Some(turn) = first {
            slot.mailbox.push(turn);
        }
        slots.insert(name.into(), slot);
        Ok(slots.len())
    }

    /// Removes `name`, whose activation failed; returns its mailbox and how many actors
    /// are active.
    pub(super) fn remove(&self, name: &str) -> Option<(Mailbox, usize)> {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.remove(name)?;
        Some((slot.mailbox, slots.len()))
    }

    /// The actor's next turn, or else parks it (scheduling its housekeeping); when
    /// `stopping`, an actor with nothing left to do leaves the table instead.
    pub(super) fn next(&self, actor: Box<Actor>, stopping: bool) -> Next {
        let mut slots = self.slots.lock().unwrap();
        let Some(slot) = slots.get_mut(actor.name()) else { return Next::Stop(actor) };
        if let Some(turn) = slot.mailbox.pop() {
            return Next::Turn(actor, turn);
        }
        if stopping {
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
        self.schedule(name, slot, due);
        slot.parked = Some(actor);
        Next::Parked
    }

    /// The parked actor `name` if its schedule's entry `at` stands and `care` says it needs
    /// looking after now (else it is scheduled again, when it next will).
    pub(super) fn due_for_care(
        &self,
        name: Arc<str>,
        at: Instant,
        care: impl FnOnce(&Actor) -> bool,
    ) -> Option<Box<Actor>> {
        let mut slots = self.slots.lock().unwrap();
        let slot = slots.get_mut(&*name)?;
        if slot.wake_at != Some(at) {
            return None; // Rescheduled since; the newer entry stands.
        }
        slot.wake_at = None;
        // A running actor is scheduled again when it parks.
        let actor = slot.parked.as_ref()?;
        if care(actor) {
            return slot.parked.take();
        }
        let due = actor.next_housekeeping();
        self.schedule(name, slot, due);
        None
    }

    /// Removes `name` if its mailbox is empty (it is idle: deactivated); returns how many
    /// actors are then active.
    pub(super) fn retire(&self, name: &str) -> Option<usize> {
        let mut slots = self.slots.lock().unwrap();
        if !slots.get(name).is_some_and(|slot| slot.mailbox.is_empty()) {
            return None;
        }
        slots.remove(name);
        Some(slots.len())
    }

    /// How many actors are active, and the parked ones, taken out of their entries (for
    /// shutdown).
    #[expect(clippy::vec_box, reason = "each actor moves on in the box its task runs it in")]
    pub(super) fn unpark_all(&self) -> (usize, Vec<Box<Actor>>) {
        let mut slots = self.slots.lock().unwrap();
        (slots.len(), slots.values_mut().filter_map(|slot| slot.parked.take()).collect())
    }

    /// Schedules the housekeeping of `name` (its table entry `slot`) at `at`, replacing its
    /// previous entry. Called with `slots` held.
    fn schedule(&self, name: Arc<str>, slot: &mut Slot, at: Instant) {
        let mut schedule = self.schedule.lock().unwrap();
        if let Some(previous) = slot.wake_at.take() {
            schedule.remove(&(previous, name.clone()));
        }
        let earliest = schedule.first().is_none_or(|(first, _)| at < *first);
        schedule.insert((at, name));
        slot.wake_at = Some(at);
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Removes the entries due by `now` from the schedule.
    pub(super) fn take_due(&self, now: Instant) -> Vec<(Instant, Arc<str>)> {
        let mut schedule = self.schedule.lock().unwrap();
        let mut due = Vec::new();
        while schedule.first().is_some_and(|(at, _)| *at <= now) {
            due.extend(schedule.pop_first());
        }
        due
    }

    /// When the earliest entry of the schedule is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.schedule.lock().unwrap().first().map(|(at, _)| *at)
    }
}
