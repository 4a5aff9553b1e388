//! The protobuf messages the example actors exchange (package `domain`), shared by the
//! example components and by the tests that call them.

#![allow(missing_docs)] // generated code; the .proto file carries the documentation.

include!(concat!(env!("OUT_DIR"), "/domain.rs"));
