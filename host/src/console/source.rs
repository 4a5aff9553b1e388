//! [`Console`]: what a mode's server state tells the console beyond the operational routes.

use std::collections::BTreeMap;

use crate::http::Operations;
use crate::telemetry::recent::RecentRequests;

/// What the console needs from a mode's server state, beyond the operational routes'.
pub trait Console: Operations {
    /// `standalone` (full console) or `sidecar` (read-only).
    const MODE: &'static str;
    /// The actor system served.
    fn system(&self) -> &str;
    /// The active instances of each actor definition, where this mode knows them
    /// (standalone); `None` where the proxy does (sidecar).
    fn active_instances(&self) -> Option<BTreeMap<String, Vec<String>>>;
    /// The last requests' spans, for the requests view.
    fn recent_requests(&self) -> &RecentRequests;
}
