//! `wasi:http/outgoing-handler`: outbound HTTP requests.
//!
//! The interface is always linked, so that components whose toolchain imports it (every
//! componentize-js build does, for `fetch`) load and run; each request is refused unless
//! the module is granted outbound HTTP, which no module is yet. A refused request reaches
//! the guest as `HTTP-request-denied`, and the host's log names the interface, the
//! destination and what is missing.

use http::Request;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, WasiHttpView};

/// The interface, for messages.
const INTERFACE: &str = "wasi:http/outgoing-handler";

/// An instance's outbound HTTP: its per-instance state and the hooks `wasi:http` calls.
#[derive(Debug, Default)]
pub struct OutboundHttp;

/// What a refused request's future resolves to.
type Response = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>), Error>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        _options: Option<RequestOptions>,
        _io: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Response> + Send> {
        let uri = request.uri();
        let destination =
            format!("{}://{}", uri.scheme_str().unwrap_or("?"), uri.authority().map_or("?", |a| a.as_str()));
        tracing::warn!(
            target: "guest",
            interface = INTERFACE,
            %destination,
            "outbound HTTP request refused: this module is not granted outbound HTTP"
        );
        Box::new(async { Err(Error::HttpRequestDenied) })
    }
}

/// Links `wasi:http` (types and the outgoing handler) for stores whose state offers it.
pub fn add_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}
