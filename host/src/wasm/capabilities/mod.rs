//! What a module's TOML can grant its actors, one module per capability.
//!
//! Every standard WASI 0.2 interface is linked (cli, clocks, random, filesystem, sockets,
//! http), so that what mainstream toolchains build loads; what an interface can reach is
//! denied unless granted. Every instance starts from [`grants`]'s base, which grants nothing
//! but the standard streams (to the host's log), clocks and randomness. Each capability module holds its
//! `[grants]` key (the TOML config), checks it against the host when the module loads,
//! and adds what it grants to each new instance's WASI context. The operator's ceiling over
//! all of them is [`policy`]. Adding a capability is one
//! new module here implementing [`Capability`] and one field in [`Grants`].

mod capability;
mod env;
mod grants;
mod http_client;
mod outbound_hosts;
mod outbound_http;
mod policy;
mod public_addresses;
mod read_only_dirs;

pub use capability::Capability;
pub use env::Env;
pub use grants::{Grants, GrantsReport};
pub use outbound_hosts::{AllowedOutboundHosts, OutboundPattern};
pub use outbound_http::{OutboundHttp, OutboundLimits, OutboundPolicy, add_to_linker as add_http_to_linker};
pub use policy::{GrantPolicy, OwnAddresses, grantable_dir};
pub use read_only_dirs::ReadOnlyDirs;
