//! Admission to the actions route: `--max-in-flight` invocations run at once, and a burst
//! above it waits in a bounded queue instead of being refused at once.
//!
//! The proxy never retries asynchronous traffic: side effects, broadcasts, timers, scheduled
//! and async invokes reach the host as ordinary POSTs from a cast, and an error answer is
//! dropped (`lib/actors/actor/entity/entity.ex:410-433`, `entity/invocation.ex:800-869`,
//! `lib/actors/actor/invocation_scheduler.ex:52-53`). A 503 for a short burst would lose them; a wait costs
//! only time. Only past the queue's bound, or once a waiting invocation's deadline has
//! passed, is it refused (503, an empty body: nothing ran, and a synchronous caller retries).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

/// A bounded number of invocations in flight, and a bounded queue of waiting ones.
pub(super) struct Admission {
    in_flight: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

/// Why an invocation was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum Refused {
    /// The queue is full.
    #[error("too many invocations in flight (--max-in-flight) and waiting (--max-queued)")]
    QueueFull,
    /// It waited until its deadline without a slot.
    #[error("waited for a slot (--max-in-flight) until its deadline")]
    Deadline,
}

impl Admission {
    /// `max_in_flight` at once, `max_waiting` more waiting.
    pub(super) fn new(max_in_flight: usize, max_waiting: usize) -> Self {
        Admission { in_flight: Semaphore::new(max_in_flight), waiting: AtomicUsize::new(0), max_waiting }
    }

    /// A slot, at once if one is free; otherwise a place in the queue until a slot frees (in
    /// arrival order) or `deadline` passes.
    pub(super) async fn admit(&self, deadline: Instant) -> Result<SemaphorePermit<'_>, Refused> {
        if let Ok(permit) = self.in_flight.try_acquire() {
            return Ok(permit);
        }
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _place = Place(&self.waiting);
        if queued >= self.max_waiting {
            return Err(Refused::QueueFull);
        }
        match tokio::time::timeout_at(deadline.into(), self.in_flight.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(Refused::Deadline),
        }
    }
}

/// A place in the queue, given back when the wait ends (or its future is dropped).
struct Place<'a>(&'a AtomicUsize);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_burst_waits_and_only_the_queue_bound_refuses() {
        let admission = Admission::new(1, 1);
        let far = Instant::now() + Duration::from_secs(5);
        let first = admission.admit(far).await.unwrap();
        let waiting = admission.admit(far);
        tokio::pin!(waiting);
        assert!(futures_poll_once(waiting.as_mut()).await.is_none(), "the second waits");
        assert_eq!(admission.admit(far).await.unwrap_err(), Refused::QueueFull);
        drop(first);
        assert!(waiting.await.is_ok());
        let held = admission.admit(far).await.unwrap();
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(admission.admit(soon).await.unwrap_err(), Refused::Deadline);
        drop(held);
    }

    async fn futures_poll_once<F: Future + Unpin>(future: F) -> Option<F::Output> {
        tokio::time::timeout(Duration::from_millis(20), future).await.ok()
    }
}
