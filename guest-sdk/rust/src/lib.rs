//! Write [Spawn](https://github.com/eigr/spawn) actors in Rust and compile them to
//! WebAssembly components that the `spawn-wasm` host serves.
//!
//! An actor is a name, settings, and typed handlers. State, inputs and replies are prost
//! messages; the SDK packs them as `google.protobuf.Any` with the type URL
//! `type.googleapis.com/<package>.<Message>`. One component may export several actors.
//!
//! ```
//! use domain::{Counter, Increment};
//! use spawn_wasm_sdk::{Actor, Context, Result, Value};
//!
//! /// `increment(Increment)`: adds `by` to the counter and replies the new value.
//! fn increment(input: Increment, ctx: &Context<Counter>) -> Result<Value<Counter>> {
//!     let counter = Counter { value: ctx.state_or_default().value + input.by };
//!     Ok(Value::new().state(counter).reply(&counter))
//! }
//!
//! fn counter() -> Actor<Counter> {
//!     Actor::named("counter").action("increment", increment)
//! }
//!
//! // The component's entry points: describe() and handle() for every listed actor.
//! spawn_wasm_sdk::export_actors!(counter());
//!
//! // Actors are plain Rust: test them natively with the `testing` helpers.
//! use spawn_wasm_sdk::testing::{TestInvocation, reply_as, state_as};
//! let value = counter()
//!     .handle(TestInvocation::new("counter", "increment").state(&Counter { value: 40 }).payload(&Increment { by: 2 }).build())
//!     .unwrap();
//! assert_eq!(reply_as::<Counter>(&value), Some(Counter { value: 42 }));
//! assert_eq!(state_as::<Counter>(&value), Some(Counter { value: 42 }));
//! ```
//!
//! Build the component with `cargo build --release --target wasm32-wasip2` (the crate is a
//! `cdylib`) and drop the `.wasm` file in the host's actors directory.

extern crate self as spawn_wasm_sdk;

mod actor;
mod any;
pub mod bindings;
mod client;
mod context;
mod error;
pub mod http;
mod invocation;
pub mod testing;
mod value;

pub use actor::{Actor, AnyActor};
pub use any::{pack, same_type, unpack};
pub use bindings::spawn::actor::types::Any;
pub use client::{Invoke, Level, log, spawn};
pub use context::{ActorId, Context};
pub use error::{Error, Result};
pub use prost;
pub use value::{Effect, Route, Value};

/// Exports the listed actors as this component's `handler`: `describe` lists their
/// definitions and `handle` dispatches each invocation to the actor it names. Use it once
/// per component, with expressions that build [`Actor`]s; they are built once per instance.
///
/// Optionally, after a `;`, `descriptors = BYTES` gives the encoded
/// `google.protobuf.FileDescriptorSet` of your messages (a build script can write it with
/// `prost_build::Config::file_descriptor_set_path`), so that the host can show states and
/// replies as JSON: `export_actors!(counter(); descriptors = domain::FILE_DESCRIPTOR_SET);`
#[macro_export]
macro_rules! export_actors {
    ($($actor:expr),+ $(,)?) => {
        $crate::export_actors!($($actor),+ ; descriptors = &[]);
    };
    ($($actor:expr),+ $(,)? ; descriptors = $descriptors:expr) => {
        struct __SpawnWasmActors;

        fn __spawn_wasm_actors() -> &'static [::std::boxed::Box<dyn $crate::AnyActor>] {
            static ACTORS: ::std::sync::OnceLock<::std::vec::Vec<::std::boxed::Box<dyn $crate::AnyActor>>> =
                ::std::sync::OnceLock::new();
            ACTORS.get_or_init(|| {
                ::std::vec![$(::std::boxed::Box::new($actor) as ::std::boxed::Box<dyn $crate::AnyActor>),+]
            })
        }

        impl $crate::__private::Guest for __SpawnWasmActors {
            fn describe() -> ::std::vec::Vec<$crate::__private::ActorDefinition> {
                $crate::__private::describe(__spawn_wasm_actors())
            }

            fn handle(
                invocation: $crate::__private::Invocation,
            ) -> ::std::result::Result<$crate::__private::WitValue, $crate::Error> {
                $crate::__private::handle(__spawn_wasm_actors(), invocation)
            }

            fn descriptors() -> ::std::vec::Vec<u8> {
                let descriptors: &[u8] = $descriptors;
                descriptors.to_vec()
            }
        }

        impl $crate::__private::SignaturesGuest for __SpawnWasmActors {
            fn signatures() -> ::std::vec::Vec<$crate::__private::ActionSignature> {
                $crate::__private::signatures(__spawn_wasm_actors())
            }
        }

        // Only a WebAssembly build exports the component's entry points; a native build
        // (unit tests of the actors) has nothing to export.
        #[cfg(target_family = "wasm")]
        $crate::bindings::__export_handler!(__SpawnWasmActors with_types_in $crate::bindings);
    };
}

#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen::rt;

    pub use crate::bindings::exports::spawn::actor::handler::Guest;
    pub use crate::bindings::exports::spawn::actor::signatures::{ActionSignature, Guest as SignaturesGuest};
    pub use crate::bindings::spawn::actor::types::{ActorDefinition, Invocation, Value as WitValue};
    use crate::{AnyActor, Error};

    pub fn describe(actors: &[Box<dyn AnyActor>]) -> Vec<ActorDefinition> {
        actors.iter().map(|actor| actor.definition().clone()).collect()
    }

    pub fn signatures(actors: &[Box<dyn AnyActor>]) -> Vec<ActionSignature> {
        actors.iter().flat_map(|actor| actor.signatures().iter().cloned()).collect()
    }

    pub fn handle(actors: &[Box<dyn AnyActor>], invocation: Invocation) -> Result<WitValue, Error> {
        match actors.get(invocation.actor as usize) {
            Some(actor) => actor.handle(invocation),
            None => Err(Error::Failed(format!("this component has no actor number {}", invocation.actor))),
        }
    }
}
