//! What travels with every call along one request's chain, so that every request ends:
//! its deadline (a nested call gets what is left of its caller's, never a fresh one), the
//! actors waiting on it synchronously (an invoke of one of them is a cycle, refused at once)
//! and the routing hops behind it (pipes, forwards, broadcasts, side effects: a loop of
//! them is cut at a limit).
//!
//! A request's messages form a tree (a broadcast reaches every subscriber, a turn may ask
//! for many side effects), so hops alone do not bound its work: the whole tree also shares
//! one count of the messages it has set in motion.
//!
//! Cloning is cheap: the waiting actors and the hops are shared lists, so a call adds one
//! link to its caller's chain instead of copying it.

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::Poll;
use std::time::Instant;

use crate::protocol::spawn as pb;
use crate::telemetry::TraceContext;

/// `future`'s output, or `Elapsed` at `deadline`. A future that is ready when first polled
/// (a warm turn that awaits no host call: most of them) arms no timer: a timer costs a
/// reference to the runtime's shared timer state, which every worker thread contends for.
pub async fn within<F: Future>(deadline: Instant, future: F) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut future = pin!(future);
    match std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => tokio::time::timeout_at(deadline.into(), future).await,
    }
}

/// How many hops an error names, the latest last.
const HOPS_NAMED: usize = 6;

/// Why a call may not go on along its chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// A synchronous invoke of an actor that is already waiting in the chain: each would
    /// wait for the other until the deadline.
    #[error(
        "invoke cycle {cycle}: each waits for the next, so the call is refused instead of waiting for the deadline"
    )]
    Cycle {
        /// The actors of the cycle, `a → b → a`.
        cycle: String,
    },
    /// More routing hops than the limit: a pipe, forward, broadcast or side-effect loop.
    #[error("routing loop: more than {limit} hops (pipes, forwards, broadcasts, side effects), the last ones {last}")]
    TooManyHops {
        /// The limit.
        limit: u32,
        /// The last hops, `a.act → b.act → …`.
        last: String,
    },
    /// The request has set more messages in motion than the limit (a broadcast or effect
    /// tree that keeps growing).
    #[error(
        "fan-out limit: this request has set {limit} messages in motion (broadcasts, side effects, pipes, forwards, async invokes); {to} dropped"
    )]
    FanOut {
        /// The limit.
        limit: u32,
        /// The message refused, `actor.action`.
        to: String,
    },
}

/// One actor (or `actor.action` hop) of a chain, and the rest of it.
#[derive(Debug)]
struct Link {
    name: String,
    next: Option<Arc<Link>>,
}

fn names(mut link: &Option<Arc<Link>>) -> impl Iterator<Item = &str> {
    std::iter::from_fn(move || {
        let current = link.as_ref()?;
        link = &current.next;
        Some(current.name.as_str())
    })
}

/// The chain of one request, as seen by one call along it.
#[derive(Debug, Clone)]
pub struct CallChain {
    deadline: Instant,
    /// Actors waiting synchronously for this call, innermost first.
    waiting: Option<Arc<Link>>,
    /// Routing hops that led to this call, latest first.
    hops: Option<Arc<Link>>,
    hop_count: u32,
    /// Messages the whole request has set in motion, shared by every call along it.
    messages: Arc<AtomicU32>,
    /// The trace, and the span whatever this call does next is the child of.
    trace: TraceContext,
}

impl CallChain {
    /// The chain of a request that starts here, with nobody waiting in it yet, in a trace
    /// of its own (not sampled).
    pub fn new(deadline: Instant) -> Self {
        CallChain::traced(deadline, TraceContext::root(false))
    }

    /// The chain of a request that starts here, part of `trace`.
    pub fn traced(deadline: Instant, trace: TraceContext) -> Self {
        CallChain { deadline, waiting: None, hops: None, hop_count: 0, messages: Arc::default(), trace }
    }

    /// The trace, and the span what this call does next is the child of.
    pub fn trace(&self) -> &TraceContext {
        &self.trace
    }

    /// The same chain, its calls from now on the children of `trace`'s span.
    pub fn with_trace(&self, trace: TraceContext) -> CallChain {
        CallChain { trace, ..self.clone() }
    }

    /// When the request's time is up, for every call along it.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the request's time is up.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The routing hops behind this call.
    pub fn hops(&self) -> u32 {
        self.hop_count
    }

    /// The chain of a synchronous invoke of `target` by `caller`, who waits for it; a
    /// cycle if `target` is `caller` or already waiting.
    pub fn waiting_on(&self, caller: &str, target: &str) -> Result<CallChain, ChainError> {
        if target == caller || names(&self.waiting).any(|name| name == target) {
            return Err(self.cycle(caller, target));
        }
        let waiting = Some(Arc::new(Link { name: caller.to_owned(), next: self.waiting.clone() }));
        Ok(CallChain { waiting, ..self.clone() })
    }

    /// The chain of a pipe or forward from `from` to `actor.action`, one routing hop further
    /// (see [`CallChain::hop`]); a cycle if `actor` is waiting in the chain, since the routed
    /// call would queue behind the very turn that waits for it.
    pub fn routed(
        &self,
        from: &str,
        actor: &str,
        action: &str,
        max_hops: u32,
        max_messages: u32,
    ) -> Result<CallChain, ChainError> {
        if names(&self.waiting).any(|name| name == actor) {
            return Err(self.cycle(from, actor));
        }
        self.hop(&format!("{actor}.{action}"), max_hops, max_messages)
    }

    /// The cycle of `caller` calling `target`, which waits in this chain (or is `caller`).
    fn cycle(&self, caller: &str, target: &str) -> ChainError {
        let mut cycle: Vec<&str> = names(&self.waiting).take_while(|name| *name != target).collect();
        cycle.reverse();
        let mut path = vec![target];
        path.extend(cycle);
        if caller != target {
            path.push(caller);
        }
        path.push(target);
        ChainError::Cycle { cycle: path.join(" → ") }
    }

    /// The chain of `request`, a synchronous invoke made by a turn of this chain (see
    /// [`CallChain::waiting_on`]).
    pub fn invoked(&self, request: &pb::InvocationRequest) -> Result<CallChain, ChainError> {
        self.waiting_on(caller_of(request), target_of(request))
    }

    /// The chain one routing hop (to `to`, e.g. `actor.action`) further, within `max_hops`
    /// hops and `max_messages` messages for the whole request.
    pub fn hop(&self, to: &str, max_hops: u32, max_messages: u32) -> Result<CallChain, ChainError> {
        let hops = Some(Arc::new(Link { name: to.to_owned(), next: self.hops.clone() }));
        if self.hop_count >= max_hops {
            let mut last: Vec<&str> = names(&hops).take(HOPS_NAMED).collect();
            last.reverse();
            return Err(ChainError::TooManyHops { limit: max_hops, last: last.join(" → ") });
        }
        if self.messages.fetch_add(1, Ordering::Relaxed) >= max_messages {
            return Err(ChainError::FanOut { limit: max_messages, to: to.to_owned() });
        }
        Ok(CallChain { hops, hop_count: self.hop_count + 1, ..self.clone() })
    }

    /// The chain of a message nobody waits for (a broadcast, a side effect, an async
    /// invoke): its hops go on, with a deadline of its own and no waiting actors.
    pub fn detached(&self, deadline: Instant) -> CallChain {
        CallChain { deadline, waiting: None, ..self.clone() }
    }
}

/// Whether `request` waits for its reply (neither async nor scheduled).
pub fn is_synchronous(request: &pb::InvocationRequest) -> bool {
    !request.r#async && request.scheduled_to == 0
}

/// The actor `request` invokes (empty if it names none).
pub fn target_of(request: &pb::InvocationRequest) -> &str {
    request.actor.as_ref().and_then(|actor| actor.id.as_ref()).map_or("", |id| &id.name)
}

/// The actor that makes `request` (empty if it names none).
fn caller_of(request: &pb::InvocationRequest) -> &str {
    request.caller.as_ref().map_or("", |caller| &caller.name)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn within_answers_a_ready_future_even_past_its_deadline_and_times_out_a_pending_one() {
        let past = Instant::now() - Duration::from_millis(1);
        assert_eq!(within(past, async { 7 }).await.unwrap(), 7, "ready when first polled: no timer, no timeout");
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(within(soon, std::future::pending::<()>()).await.is_err());
        let later = Instant::now() + Duration::from_secs(5);
        let slow = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            8
        };
        assert_eq!(within(later, slow).await.unwrap(), 8, "pending at first, then done before the deadline");
    }

    fn chain() -> CallChain {
        CallChain::new(Instant::now() + Duration::from_secs(1))
    }

    #[test]
    fn an_invoke_of_a_waiting_actor_is_a_cycle_named_in_order() {
        let a_waits = chain().waiting_on("a", "b").unwrap();
        let b_waits = a_waits.waiting_on("b", "c").unwrap();
        assert_eq!(
            b_waits.waiting_on("c", "a").unwrap_err().to_string().split(':').next().unwrap(),
            "invoke cycle a → b → c → a"
        );
        assert!(chain().waiting_on("a", "a").unwrap_err().to_string().starts_with("invoke cycle a → a"));
        assert!(b_waits.waiting_on("c", "d").is_ok(), "a new actor is no cycle");
    }

    #[test]
    fn a_route_to_a_waiting_actor_is_a_cycle_and_to_any_other_a_hop() {
        let b_turn = chain().waiting_on("a", "b").unwrap();
        let error = b_turn.routed("b", "a", "go", 32, 100).unwrap_err().to_string();
        assert!(error.starts_with("invoke cycle a → b → a"), "{error}");
        assert_eq!(b_turn.routed("b", "c", "go", 32, 100).unwrap().hops(), 1);
        assert!(chain().routed("a", "a", "go", 32, 100).is_ok(), "a forward to itself by an actor nobody waits on");
    }

    #[test]
    fn hops_stop_at_the_limit_naming_the_last_ones() {
        let mut hopped = chain();
        for n in 0..3 {
            hopped = hopped.hop(&format!("a{n}.go"), 3, 100).unwrap();
        }
        let error = hopped.hop("a3.go", 3, 100).unwrap_err().to_string();
        assert!(error.contains("more than 3 hops") && error.contains("a0.go → a1.go → a2.go → a3.go"), "{error}");
    }

    #[test]
    fn a_request_tree_shares_one_message_count() {
        let root = chain();
        let left = root.hop("a.go", 32, 3).unwrap();
        let right = root.hop("b.go", 32, 3).unwrap();
        assert!(left.hop("c.go", 32, 3).is_ok());
        let error = right.hop("d.go", 32, 3).unwrap_err();
        assert_eq!(error, ChainError::FanOut { limit: 3, to: "d.go".into() });
    }

    #[test]
    fn a_detached_message_keeps_its_hops_but_not_its_waiters_or_deadline() {
        let later = Instant::now() + Duration::from_secs(60);
        let chain = chain().waiting_on("a", "b").unwrap().hop("b.go", 32, 100).unwrap().detached(later);
        assert_eq!((chain.hops(), chain.deadline()), (1, later));
        assert!(chain.waiting_on("b", "a").is_ok(), "nobody waits on a detached message");
    }
}
