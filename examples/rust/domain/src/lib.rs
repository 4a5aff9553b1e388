//! The protobuf messages the example actors exchange (package `domain`), shared by the
//! example components and by the tests that call them.

#![allow(missing_docs)] // generated code; the .proto file carries the documentation.

include!(concat!(env!("OUT_DIR"), "/domain.rs"));

/// The encoded `google.protobuf.FileDescriptorSet` of these messages, which components embed
/// so that the host can show them as JSON.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/domain.fds"));
