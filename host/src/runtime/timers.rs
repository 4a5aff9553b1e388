//! Timer actions: each actor's timers run while the runtime runs, firing (and, if need be,
//! reactivating) it every period, as the proxy's scheduler does.

use std::sync::Arc;
use std::time::Duration;

use super::core::{Inner, Target, Timers};
use crate::protocol::convert::{self, CallSpec};

impl Inner {
    /// Starts the actor's timers on its first activation, or restarts them if its
    /// definition's timers changed; they keep firing (and reactivating it) while the
    /// runtime runs, as the proxy's scheduler does.
    pub(super) fn start_timers(self: &Arc<Self>, target: &Target) {
        let spec = &target.entry.definition().timer_actions;
        let mut timers = self.timers.lock().unwrap();
        if timers.get(&target.id.name).is_some_and(|running| running.spec == *spec) {
            return;
        }
        if let Some(old) = timers.remove(&target.id.name) {
            old.stop.cancel();
        }
        if spec.is_empty() {
            return;
        }
        let stop = self.stopping.child_token();
        for timer in spec {
            let inner = self.clone();
            let id = target.id.clone();
            let action = timer.action.clone();
            let period = Duration::from_millis(u64::from(timer.period_ms));
            let stop = stop.clone();
            self.tasks.spawn(async move {
                let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = ticks.tick() => {}
                        () = stop.cancelled() => return,
                    }
                    // Synchronous: the next tick waits for this one's turn, so that a slow
                    // timer never piles ticks up in the mailbox.
                    let call = CallSpec { actor: id.name.clone(), action: action.clone(), ..CallSpec::default() };
                    let request = convert::invocation_request(&id, call);
                    if let Err(error) = inner.invoke(request).await {
                        tracing::warn!(actor = %id.name, timer = %action, %error, "timer tick failed");
                    }
                }
            });
        }
        timers.insert(target.id.name.clone(), Timers { spec: spec.clone(), stop });
    }
}
