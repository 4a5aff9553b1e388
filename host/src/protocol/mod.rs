//! The contracts the host speaks: [`spawn`], the Spawn protobuf protocol with the proxy and
//! its clients; [`wit`], the WIT `actor` world with guests; [`invocation`], a turn's input
//! and its lowering to what guests receive; [`convert`] between the two; and [`json`],
//! protobuf as JSON for people, from descriptors the guests export.

pub mod convert;
pub mod invocation;
pub mod json;
pub mod spawn;
pub mod wit;
