//! What happens at a time: the [`Clock`](super::clock::Clock)'s task delivers timer ticks
//! and calls scheduled for later when they fall due.
//!
//! Timers fire every period for as long as the runtime runs, reactivating their actor if
//! it was deactivated, as the proxy's do; each ticking instance is a record in the clock,
//! not a task. A call scheduled for later (`scheduled_to`) is stored before it is
//! acknowledged and forgotten once its turn is over, so that it survives a restart, even a
//! `kill -9` (it may then run twice: at least once, never lost); one due while the runtime
//! was down runs at once after the next start.

use std::sync::Arc;
use std::time::Duration;

use prost::Message;
use tokio::time::Instant;

use super::actor::Turn;
use super::clock::{Due, ScheduleFull, Ticket};
use super::core::Inner;
use super::failure::InvokeFailure;
use super::invoke::unix_ms;
use crate::protocol::spawn as pb;
use crate::wasm::chain::CallChain;

/// How long a scheduled call that could not be delivered (a full mailbox, a store that
/// failed) waits before it is tried again.
const RETRY_SCHEDULED: Duration = Duration::from_secs(1);

/// The instant of `unix_ms`, or now if it has passed.
fn instant_of(unix_ms_then: i64) -> Instant {
    let ahead = unix_ms_then.saturating_sub(unix_ms()).max(0);
    Instant::now() + Duration::from_millis(ahead as u64)
}

impl Inner {
    /// The clock's task: delivers what falls due until the runtime stops.
    pub(super) async fn keep_time(self: Arc<Self>) {
        while self.wait_for(self.clock.next_due(), &self.clock.earlier).await {
            let due = self.clock.take_due(Instant::now());
            self.count_clock();
            for due in due {
                match due {
                    Due::Tick { name, action, ticket } => self.tick(&name, action, ticket),
                    Due::Scheduled { id, name } => {
                        self.tasks.spawn(self.clone().run_scheduled(id, name));
                    }
                }
            }
        }
    }

    /// Publishes what the clock holds (instances with timers, records) in the metrics.
    pub(super) fn count_clock(&self) {
        let (instances, records) = self.clock.sizes();
        self.executor.engine().metrics().set_clock(instances, records);
    }

    /// Delivers a timer's tick, a message nobody waits for (a failed tick is logged by its
    /// turn; the next one comes a period later).
    fn tick(self: &Arc<Self>, name: &str, action: String, ticket: Ticket) {
        let mut turn = Turn::call(action, None, CallChain::new(self.new_deadline()));
        turn.ticket = Some(ticket);
        if let Err(failure) = self.deliver(name, turn) {
            tracing::warn!(actor = %name, %failure, "timer tick not delivered");
        }
    }

    /// Keeps `request` (to instance `name`) for its `scheduled_to`; answers once it is
    /// stored, or refused past the bounds on waiting calls.
    pub(super) async fn schedule(&self, name: &str, request: pb::InvocationRequest) -> Result<(), InvokeFailure> {
        let (per_actor, all) = (self.routing.max_scheduled_per_actor, self.routing.max_scheduled);
        self.clock.reserve(name, per_actor, all).map_err(|full| {
            InvokeFailure::Overloaded(match full {
                ScheduleFull::Actor { limit } => {
                    format!("`{name}` has {limit} scheduled calls waiting, the limit (--max-scheduled-per-actor)")
                }
                ScheduleFull::All { limit } => {
                    format!("{limit} scheduled calls are waiting, the limit (--max-scheduled)")
                }
            })
        })?;
        let due_ms = request.scheduled_to;
        match self.store.schedule_call(&self.system, name, due_ms, request.encode_to_vec()).await {
            Ok(id) => {
                self.clock.schedule(id, name, instant_of(due_ms));
                self.count_clock();
                Ok(())
            }
            Err(error) => {
                self.clock.release(name);
                Err(InvokeFailure::Failed {
                    actor: name.to_owned(),
                    action: request.action_name,
                    cause: format!("cannot keep the scheduled call: {error}"),
                })
            }
        }
    }

    /// At start: the scheduled calls kept in the store, each at its time (late ones at
    /// once). Returns how many there are.
    pub(super) async fn restore_scheduled(&self) -> Result<usize, super::store::StoreError> {
        let kept = self.store.scheduled_calls(&self.system).await?;
        for (id, name, due_ms) in &kept {
            self.clock.restore(*id, name, instant_of(*due_ms));
        }
        Ok(kept.len())
    }

    /// Delivers scheduled call `id`, due now, as a message nobody waits for. It stays in
    /// the store until its turn is over (its ticket), or while it cannot be delivered yet.
    async fn run_scheduled(self: Arc<Self>, id: i64, name: Arc<str>) {
        let request = match self.store.scheduled_call(id).await {
            Ok(Some(bytes)) => match pb::InvocationRequest::decode(bytes.as_slice()) {
                Ok(request) => request,
                Err(error) => {
                    tracing::error!(actor = %name, id, %error, "a stored scheduled call cannot be decoded; dropped");
                    self.store.forget_scheduled(id);
                    return;
                }
            },
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(actor = %name, id, %error, "cannot read a scheduled call; trying again");
                self.clock.restore(id, &name, Instant::now() + RETRY_SCHEDULED);
                return;
            }
        };
        let mut turn = Turn::from_request(request, CallChain::new(self.new_deadline()));
        turn.ticket = Some(Ticket::Scheduled { id, store: self.store.clone() });
        match self.try_deliver(&name, Box::new(turn)) {
            Ok(()) => {}
            Err((failure @ InvokeFailure::Overloaded(_), mut turn)) => {
                tracing::warn!(actor = %name, %failure, "a scheduled call waits for room in the mailbox");
                if let Some(ticket) = turn.ticket.as_mut() {
                    ticket.keep();
                }
                self.clock.restore(id, &name, Instant::now() + RETRY_SCHEDULED);
            }
            Err((InvokeFailure::ShuttingDown, mut turn)) => {
                // Kept in the store: it runs after the next start.
                if let Some(ticket) = turn.ticket.as_mut() {
                    ticket.keep();
                }
            }
            Err((failure, _)) => {
                tracing::warn!(actor = %name, %failure, "a scheduled call cannot run; dropped");
            }
        }
    }
}
