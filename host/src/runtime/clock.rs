//! The runtime's clock: everything that happens at a time (timer ticks and calls scheduled
//! for later) as records in one schedule, which one task serves ([`super::timers`]). A
//! ticking instance costs a record here and an entry per timer, not a task of its own.
//!
//! Data and its rules only; it owns its lock: every method takes it, does its work and
//! releases it before returning, calling nothing else meanwhile.
//!
//! A timer's next tick is scheduled a period after the previous one fired. A tick is not
//! delivered while the previous tick of the same timer is still waiting or running (its
//! [`Ticket`] not yet dropped), so that a slow timer never piles ticks up in a mailbox.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::store::StateStore;
use crate::protocol::wit::types as wit;

/// Everything due at a time, and the timers and scheduled calls behind it.
#[derive(Default)]
pub(super) struct Clock {
    alarms: Mutex<Alarms>,
    /// Signalled when an alarm earlier than every other one is set.
    pub(super) earlier: Notify,
}

#[derive(Default)]
struct Alarms {
    /// By due time; the sequence number keeps equal times apart.
    schedule: BTreeMap<(Instant, u64), Alarm>,
    sequence: u64,
    /// The timers of each instance that has some.
    timers: HashMap<Arc<str>, InstanceTimers>,
    /// Scheduled calls waiting, per actor and in all.
    scheduled_per_actor: HashMap<Arc<str>, usize>,
    scheduled: usize,
}

/// One instance's timers: what they were started from, and which of their ticks is still
/// waiting or running.
struct InstanceTimers {
    spec: Vec<wit::TimerAction>,
    /// Bumped when the spec changes: alarms of an older generation are dropped when due.
    generation: u64,
    busy: Vec<Arc<AtomicBool>>,
}

enum Alarm {
    Tick { name: Arc<str>, timer: usize, generation: u64 },
    Scheduled { id: i64, name: Arc<str> },
}

/// What fell due.
pub(super) enum Due {
    /// Timer action `action` of instance `name`; the ticket marks it busy until dropped.
    Tick { name: Arc<str>, action: String, ticket: Ticket },
    /// Scheduled call `id` (in the store) to instance `name`.
    Scheduled { id: i64, name: Arc<str> },
}

/// Why a call cannot be scheduled.
#[derive(Debug)]
pub(super) enum ScheduleFull {
    /// The actor has `limit` scheduled calls waiting.
    Actor { limit: usize },
    /// The runtime has `limit` scheduled calls waiting.
    All { limit: usize },
}

/// Carried by a turn the clock started, and dropped with it, however the turn ends (run,
/// refused, dropped at shutdown): a timer's tick frees its timer for the next tick; a
/// scheduled call is deleted from the store, unless kept with [`Ticket::keep`].
pub(super) enum Ticket {
    /// A timer tick.
    Tick(Arc<AtomicBool>),
    /// A scheduled call: deleted from `store` when dropped.
    Scheduled { id: i64, store: StateStore },
    /// Nothing to do any more.
    Kept,
}

impl Ticket {
    /// Keeps a scheduled call in the store (to run after a restart, or again later).
    pub(super) fn keep(&mut self) {
        *self = Ticket::Kept;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        match self {
            Ticket::Tick(busy) => busy.store(false, Ordering::Release),
            Ticket::Scheduled { id, store } => store.forget_scheduled(*id),
            Ticket::Kept => {}
        }
    }
}

impl Alarms {
    fn set(&mut self, at: Instant, alarm: Alarm) -> bool {
        self.sequence += 1;
        let earliest = self.schedule.first_key_value().is_none_or(|((first, _), _)| at < *first);
        self.schedule.insert((at, self.sequence), alarm);
        earliest
    }
}

fn period(timer: &wit::TimerAction) -> Duration {
    // A period of 0 would fire in a busy loop; the proxy's shortest useful tick is 1 ms.
    Duration::from_millis(u64::from(timer.period_ms.max(1)))
}

impl Clock {
    /// Runs `spec` as instance `name`'s timers from now on (each first firing a period from
    /// now), unless they run already; an empty `spec` stops them.
    pub(super) fn set_timers(&self, name: &str, spec: &[wit::TimerAction]) {
        let mut alarms = self.alarms.lock().unwrap();
        let generation = match alarms.timers.get(name) {
            Some(running) if running.spec == spec => return,
            Some(running) => running.generation + 1,
            None if spec.is_empty() => return,
            None => 0,
        };
        if spec.is_empty() {
            alarms.timers.remove(name);
            return;
        }
        let name: Arc<str> = Arc::from(name);
        let now = Instant::now();
        let mut earliest = false;
        for (timer, action) in spec.iter().enumerate() {
            earliest |= alarms.set(now + period(action), Alarm::Tick { name: name.clone(), timer, generation });
        }
        let busy = spec.iter().map(|_| Arc::default()).collect();
        alarms.timers.insert(name, InstanceTimers { spec: spec.to_vec(), generation, busy });
        drop(alarms);
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Instances with timers, and records in the schedule (for the metrics and benchmarks).
    pub(super) fn sizes(&self) -> (usize, usize) {
        let alarms = self.alarms.lock().unwrap();
        (alarms.timers.len(), alarms.schedule.len())
    }

    /// Counts a call to be scheduled for `name`, within the bounds; undo with
    /// [`Clock::release`] if it is not stored after all.
    pub(super) fn reserve(&self, name: &str, per_actor: usize, all: usize) -> Result<(), ScheduleFull> {
        let mut alarms = self.alarms.lock().unwrap();
        if alarms.scheduled >= all {
            return Err(ScheduleFull::All { limit: all });
        }
        let waiting = alarms.scheduled_per_actor.get(name).copied().unwrap_or(0);
        if waiting >= per_actor {
            return Err(ScheduleFull::Actor { limit: per_actor });
        }
        count(&mut alarms, name);
        Ok(())
    }

    /// Undoes a [`Clock::reserve`] (or counts a scheduled call gone, once it fell due).
    pub(super) fn release(&self, name: &str) {
        release(&mut self.alarms.lock().unwrap(), name);
    }

    /// Sets the alarm of scheduled call `id` (reserved for `name`) at `at`.
    pub(super) fn schedule(&self, id: i64, name: &str, at: Instant) {
        let earliest = self.alarms.lock().unwrap().set(at, Alarm::Scheduled { id, name: Arc::from(name) });
        if earliest {
            self.earlier.notify_one();
        }
    }

    /// Counts and sets the alarm of a scheduled call kept in the store from before this
    /// start, whatever the bounds (they were checked when it was scheduled).
    pub(super) fn restore(&self, id: i64, name: &str, at: Instant) {
        count(&mut self.alarms.lock().unwrap(), name);
        self.schedule(id, name, at);
    }

    /// When the earliest alarm is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.alarms.lock().unwrap().schedule.first_key_value().map(|((at, _), _)| *at)
    }

    /// Takes what is due by `now`: each timer's next tick is set a period later (a tick
    /// whose previous one is still busy is skipped); a timer whose spec changed since is
    /// dropped; a scheduled call stops counting toward the bounds.
    pub(super) fn take_due(&self, now: Instant) -> Vec<Due> {
        let mut alarms = self.alarms.lock().unwrap();
        let mut due = Vec::new();
        while alarms.schedule.first_key_value().is_some_and(|((at, _), _)| *at <= now) {
            let (_, alarm) = alarms.schedule.pop_first().expect("checked above");
            match alarm {
                Alarm::Tick { name, timer, generation } => {
                    let Some(timers) = alarms.timers.get(&name).filter(|timers| timers.generation == generation) else {
                        continue;
                    };
                    let spec = &timers.spec[timer];
                    let (action, next, busy) = (spec.action.clone(), now + period(spec), timers.busy[timer].clone());
                    if !busy.swap(true, Ordering::AcqRel) {
                        due.push(Due::Tick { name: name.clone(), action, ticket: Ticket::Tick(busy) });
                    }
                    alarms.set(next, Alarm::Tick { name, timer, generation });
                }
                Alarm::Scheduled { id, name } => {
                    release(&mut alarms, &name);
                    due.push(Due::Scheduled { id, name });
                }
            }
        }
        due
    }
}

fn count(alarms: &mut Alarms, name: &str) {
    alarms.scheduled += 1;
    *alarms.scheduled_per_actor.entry(Arc::from(name)).or_default() += 1;
}

fn release(alarms: &mut Alarms, name: &str) {
    alarms.scheduled = alarms.scheduled.saturating_sub(1);
    if let Some(waiting) = alarms.scheduled_per_actor.get_mut(name) {
        *waiting -= 1;
        if *waiting == 0 {
            alarms.scheduled_per_actor.remove(name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timer(action: &str, period_ms: u32) -> wit::TimerAction {
        wit::TimerAction { action: action.into(), period_ms }
    }

    fn ticks(due: &[Due]) -> Vec<String> {
        due.iter()
            .filter_map(|due| match due {
                Due::Tick { name, action, .. } => Some(format!("{name}.{action}")),
                Due::Scheduled { .. } => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_timer_ticks_every_period_but_never_while_its_last_tick_is_busy() {
        let clock = Clock::default();
        clock.set_timers("a", &[timer("tick", 100)]);
        assert!(clock.take_due(Instant::now()).is_empty(), "the first tick comes a period later");
        tokio::time::advance(Duration::from_millis(100)).await;
        let first = clock.take_due(Instant::now());
        assert_eq!(ticks(&first), ["a.tick"]);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert!(clock.take_due(Instant::now()).is_empty(), "the first tick's turn is still busy");
        drop(first);
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(ticks(&clock.take_due(Instant::now())), ["a.tick"]);
        assert_eq!(clock.sizes(), (1, 1), "one record per timer");
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_spec_replaces_the_old_schedule_and_an_empty_one_stops_it() {
        let clock = Clock::default();
        clock.set_timers("a", &[timer("tick", 100)]);
        clock.set_timers("a", &[timer("tock", 150)]);
        clock.set_timers("a", &[timer("tock", 150)]);
        tokio::time::advance(Duration::from_millis(150)).await;
        assert_eq!(ticks(&clock.take_due(Instant::now())), ["a.tock"], "the old timer does not tick as well");
        clock.set_timers("a", &[]);
        tokio::time::advance(Duration::from_millis(1000)).await;
        assert!(clock.take_due(Instant::now()).is_empty());
        assert_eq!(clock.sizes(), (0, 0));
    }

    #[test]
    fn scheduled_calls_are_bounded_per_actor_and_in_all() {
        let clock = Clock::default();
        assert!(clock.reserve("a", 2, 3).is_ok());
        assert!(clock.reserve("a", 2, 3).is_ok());
        assert!(matches!(clock.reserve("a", 2, 3), Err(ScheduleFull::Actor { limit: 2 })));
        assert!(clock.reserve("b", 2, 3).is_ok());
        assert!(matches!(clock.reserve("c", 2, 3), Err(ScheduleFull::All { limit: 3 })));
        clock.release("a");
        assert!(clock.reserve("c", 2, 3).is_ok());
    }
}
