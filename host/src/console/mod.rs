//! The web console at `/console`: a page for people to see and steer a running host
//! (modules, actors, state, invocations, live charts, the last requests' spans), served from
//! assets embedded in the binary, over small JSON views of what the host knows.
//!
//! The page itself holds no data and is open to all; the JSON it reads is behind the same
//! [`Access`] as the client API, so beyond loopback it needs the token. Standalone mode
//! serves it in full; sidecar mode read-only (modules, requests and metrics: the proxy owns
//! actors).

mod assets;
mod schema;
mod source;
mod views;

pub use source::Console;

use axum::Router;
use axum::routing::get;

use crate::http::{self, Access};

/// The console's routes: its page and assets (open), and its JSON views (`access`):
/// `/v1/console` (mode and system), `/v1/actors`, `/v1/messages` and
/// `/v1/messages/{name}` (a message's fields, for the invoke form), `/v1/requests` and
/// `/v1/requests/{trace}` (the last requests, each as its spans).
pub fn routes<S: Console>(access: Access) -> Router<S> {
    let views = Router::new()
        .route("/v1/console", get(views::about::<S>))
        .route("/v1/actors", get(views::actors::<S>))
        .route("/v1/messages", get(views::messages::<S>))
        .route("/v1/messages/{name}", get(views::message::<S>))
        .route("/v1/requests", get(views::requests::<S>))
        .route("/v1/requests/{trace}", get(views::request::<S>));
    http::guarded(views, access).merge(assets::routes())
}
