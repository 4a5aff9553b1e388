//! The table of active actors: one entry each (its mailbox, or the actor itself while it
//! is parked) and the housekeeping schedule. Data and its invariants; what runs actors
//! from it is [`super::scheduler`].

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

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
pub(super) struct Slot {
    /// Turns waiting while a task runs the actor.
    pub(super) mailbox: Mailbox,
    /// The actor, while no task runs it.
    pub(super) parked: Option<Box<Actor>>,
    /// Its entry in the schedule, if it has one.
    pub(super) wake_at: Option<Instant>,
}

/// Turns waiting for a running actor: one pointer, and no allocation, while none wait
/// (which is almost always: the table holds one per active actor).
#[derive(Default)]
#[expect(clippy::box_collection, reason = "8 bytes in every table entry instead of the 32 of a VecDeque")]
pub(super) struct Mailbox(Option<Box<VecDeque<Box<Turn>>>>);

impl Mailbox {
    pub(super) fn push(&mut self, turn: Box<Turn>) {
        self.0.get_or_insert_default().push_back(turn);
    }

    pub(super) fn pop(&mut self) -> Option<Box<Turn>> {
        self.0.as_mut()?.pop_front()
    }

    /// How many turns wait.
    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |turns| turns.len())
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|turns| turns.is_empty())
    }

    /// Frees what a burst of mail allocated, once it is empty.
    pub(super) fn shrink(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }

    pub(super) fn into_turns(self) -> impl Iterator<Item = Box<Turn>> {
        self.0.into_iter().flat_map(|turns| *turns)
    }
}

impl ActiveActors {
    pub(super) fn slots(&self) -> MutexGuard<'_, HashMap<Arc<str>, Slot>> {
        self.slots.lock().unwrap()
    }

    /// Whether `name` is active.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.slots().contains_key(name)
    }

    /// The names of the active actors.
    pub(super) fn names(&self) -> Vec<String> {
        self.slots().keys().map(|name| name.to_string()).collect()
    }

    /// Schedules the housekeeping of `name` (its table entry `slot`) at `at`, replacing its
    /// previous entry.
    pub(super) fn schedule(&self, name: Arc<str>, slot: &mut Slot, at: Instant) {
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
