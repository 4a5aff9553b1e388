//! The loaded components, kept in step with the actors directory: the live [`set`] (load,
//! validate, swap, with the last error of each rejected file), each swap's immutable
//! [`registry`] snapshot (actor name → module and definition), the directory [`watch`],
//! [`inspect`], what one component provides, for people, and each file's [`status`].

pub mod inspect;
pub mod registry;
pub mod set;
pub mod status;
pub mod watch;
