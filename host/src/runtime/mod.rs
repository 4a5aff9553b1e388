//! Standalone mode: an embedded, single-node Spawn runtime.
//!
//! It does in-process what the Spawn proxy does for a cluster: it activates actors, gives
//! each one a mailbox so that it runs one turn at a time, keeps their state in an embedded
//! database (write-behind snapshots, write-through checkpoints), runs timers, pub/sub
//! channels and workflows, and serves the proxy's client API so that existing Spawn
//! clients work unchanged. Past one node, use sidecar mode and the real proxy.
//!
//! [`core::Inner`] is the state one runtime shares; each module below adds the methods of
//! one job to it, and none of them imports another's methods' module:
//! - [`invoke`]: an invocation's way in; [`spawning`]: unnamed instances;
//! - [`scheduler`] runs actors from the [`table`] of active ones (mailboxes, parking,
//!   housekeeping); [`turn`] is what one turn does to an [`actor`]; [`workflow`] what it asks
//!   for next (broadcast, side effects, pipe, forward);
//! - [`timers`] serves the [`clock`] (timer ticks, calls scheduled for later); [`channels`]
//!   keeps subscriptions of the instances followed; [`reload`] follows the module set;
//! - [`spawned`]: the registry of spawned instances;
//! - [`revisions`]: state history and restore;
//! - [`handle`] is the public face, [`standalone`] wires it to a store, a watcher and the
//!   client API [`server`] (with [`state_api`] and [`backup_api`]).

mod actions;
mod actor;
mod backup_api;
mod channels;
mod clock;
mod config;
mod core;
mod data_lock;
mod dispatcher;
mod failure;
mod handle;
mod invoke;
mod reload;
mod revisions;
mod scheduler;
mod server;
mod spawned;
mod spawning;
mod standalone;
mod state_api;
pub mod store;
mod table;
mod timers;
mod turn;
mod workflow;

pub use config::{DEFAULT_STATE_HISTORY, RoutingLimits, RuntimeConfig};
pub use data_lock::{DataDirError, LOCK_FILE};
pub use failure::{InvokeFailure, InvokeResult, ShutdownError};
pub use handle::Runtime;
pub use standalone::Standalone;
pub use store::{Revision, RevisionSummary};
