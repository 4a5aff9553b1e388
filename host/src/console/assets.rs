//! The console's page, script and style, embedded in the binary: nothing to build or
//! download, and the console always matches the host serving it.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// One embedded file: its name under `/console/`, content type and content.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The page, its style, and its JavaScript modules (`console.js` imports the others).
const ASSETS: [Asset; 9] = [
    asset("index.html", "text/html; charset=utf-8", include_str!("assets/index.html")),
    asset("console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
    asset("console.js", JAVASCRIPT, include_str!("assets/console.js")),
    asset("actor.js", JAVASCRIPT, include_str!("assets/actor.js")),
    asset("api.js", JAVASCRIPT, include_str!("assets/api.js")),
    asset("charts.js", JAVASCRIPT, include_str!("assets/charts.js")),
    asset("dom.js", JAVASCRIPT, include_str!("assets/dom.js")),
    asset("form.js", JAVASCRIPT, include_str!("assets/form.js")),
    asset("requests.js", JAVASCRIPT, include_str!("assets/requests.js")),
];

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// Only the console's own files and host: no inline script or style, no framing.
pub(super) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const fn asset(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
    Asset { name, content_type, body }
}

/// `/console` (redirected to `/console/`, so that the page's relative links resolve) and
/// `/console/{file}`.
pub(super) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(|| async { serve("index.html") }))
        .route("/console/{file}", get(|Path(file): Path<String>| async move { serve(&file) }))
}

fn serve(name: &str) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => {
            // Revalidated every load: an upgraded host serves its own assets at once. The
            // page loads nothing but its own files and talks only to its own host; no other
            // site may frame it, and no response is sniffed as another type.
            let headers = [
                (header::CONTENT_TYPE, asset.content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
                (header::X_FRAME_OPTIONS, "DENY"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
                (header::REFERRER_POLICY, "no-referrer"),
            ];
            (headers, asset.body).into_response()
        }
        None => (StatusCode::NOT_FOUND, format!("the console has no file `{name}`")).into_response(),
    }
}
