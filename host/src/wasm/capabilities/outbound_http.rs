//! `wasi:http/outgoing-handler`: outbound HTTP requests, allowed per destination.
//!
//! The interface is always linked, so that components whose toolchain imports it (every
//! componentize-js build does, for `fetch`) load and run. A request goes out only if its
//! destination matches the module's `allowed_outbound_hosts` and, when the host sets one,
//! the host's list too (the host can only narrow). The host resolves a name itself, keeps
//! only the addresses the lists allow (one that is not public needs a grant naming it) and
//! connects to those ([`super::http_client`]). A refused request reaches the guest as
//! `internal-error` with the reason and the grant that would allow it, which the host's log
//! repeats. Each instance has a bounded number of requests in flight; each ends at the
//! call's deadline and its response body is capped.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request};
use opentelemetry::trace::SpanKind;
use rustls::pki_types::ServerName;
use tokio::sync::Semaphore;
use tokio::time::timeout_at;
use wasmtime::component::Linker;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks, WasiHttpView};

use super::http_client::{self, Exchange, Sent};
use super::outbound_hosts::{AllowedOutboundHosts, Destination, Host, Scheme};
use super::policy::OwnAddresses;
use super::public_addresses::is_public;
use crate::telemetry::context::{TRACEPARENT, TRACESTATE};
use crate::telemetry::{Span, Telemetry, TraceContext};

/// The interface, for messages.
const INTERFACE: &str = "wasi:http/outgoing-handler";

/// What bounds one instance's outbound requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    /// The most response body bytes one request may bring in.
    pub max_response_bytes: usize,
    /// The most requests one instance may have in flight (a response whose body is not yet
    /// read or dropped counts).
    pub max_requests: usize,
}

/// Which destinations a module's instances may reach.
#[derive(Debug, Clone)]
pub struct OutboundPolicy {
    /// The module's grant.
    pub granted: AllowedOutboundHosts,
    /// The host's narrowing (`--allowed-outbound-hosts`); `None` narrows names nothing and
    /// lets no address that is not public through.
    pub host: Option<AllowedOutboundHosts>,
    /// This host's own listening addresses (and a sidecar's proxy's).
    pub own: OwnAddresses,
}

impl OutboundPolicy {
    /// Whether the lists allow `destination` itself, or why not.
    fn authorize(&self, destination: &Destination) -> Result<(), String> {
        if !self.granted.allows(destination) {
            return Err(format!(
                "outbound HTTP to {destination} is not granted: add \"{destination}\" (or a pattern covering it) to `allowed_outbound_hosts` under [grants] in the module's TOML"
            ));
        }
        if self.host.as_ref().is_some_and(|host| !host.allows(destination)) {
            return Err(format!(
                "outbound HTTP to {destination} is granted by the module but not allowed by the host: add it to the host's --allowed-outbound-hosts"
            ));
        }
        Ok(())
    }

    /// Whether `addr`, which `destination` leads to, may be connected to, or why not: this
    /// host's own address only when the operator's list names it with its port; a public
    /// one always; any other only when both lists allow that address on that port.
    fn address_allowed(&self, destination: &Destination, addr: IpAddr) -> Result<(), String> {
        let target = SocketAddr::new(addr, destination.port);
        let by_address = Destination { host: Host::Addr(addr), ..destination.clone() };
        if self.own.contains(target) {
            if self
                .host
                .as_ref()
                .is_some_and(|host| host.names_address(destination.scheme, addr, Some(destination.port)))
            {
                return Ok(());
            }
            return Err(format!(
                "{target} is this host's own API (or its Spawn proxy's); a guest \
                 reaches actors through the runtime's imports. The operator allows it only by naming \"{by_address}\" in --allowed-outbound-hosts"
            ));
        }
        if is_public(addr) {
            return Ok(());
        }
        if !self.granted.allows_address(destination, addr) {
            return Err(format!(
                "{addr} is not public and is reachable only when granted by address: grant the address itself, e.g. \"{by_address}\""
            ));
        }
        if !self.host.as_ref().is_some_and(|host| host.allows_address(destination, addr)) {
            return Err(format!(
                "{addr} is not public: the module grants it, and the operator allows it only by naming it in --allowed-outbound-hosts too, e.g. \"{by_address}\""
            ));
        }
        Ok(())
    }

    /// The addresses to connect to for an allowed `destination`: its own address, or what
    /// its name resolves to, keeping only allowed ones; or why there are none.
    async fn addresses(&self, destination: &Destination, deadline: Instant) -> Result<Vec<SocketAddr>, Refusal> {
        let resolved: Vec<SocketAddr> = match &destination.host {
            Host::Addr(addr) => vec![SocketAddr::new(*addr, destination.port)],
            Host::Name(name) => timeout_at(deadline.into(), tokio::net::lookup_host((name.as_str(), destination.port)))
                .await
                .map_err(|_| Refusal::Error(Error::DnsTimeout))?
                .map_err(|error| Refusal::Error(Error::DnsError { rcode: Some(error.to_string()), info_code: None }))?
                .collect(),
        };
        let mut refusal = None;
        let allowed: Vec<SocketAddr> = resolved
            .iter()
            .copied()
            .filter(|addr| {
                self.address_allowed(destination, addr.ip()).map_err(|reason| refusal.get_or_insert(reason)).is_ok()
            })
            .collect();
        if allowed.is_empty() {
            let reason = refusal.unwrap_or_else(|| "no address".into());
            return Err(Refusal::Denied(match &destination.host {
                Host::Name(name) => {
                    let list: Vec<String> = resolved.iter().map(|addr| addr.ip().to_string()).collect();
                    format!("outbound HTTP to {destination} refused: {name} resolves to {}; {reason}", list.join(", "))
                }
                Host::Addr(_) => format!("outbound HTTP to {destination} refused: {reason}"),
            }));
        }
        Ok(allowed)
    }
}

/// Why a request did not go out.
enum Refusal {
    /// The lists do not allow it: the message says which grant would.
    Denied(String),
    /// Resolving or reaching it failed.
    Error(Error),
}

/// An instance's outbound HTTP: the module's policy and limits, the current call's
/// deadline, and the hooks `wasi:http` calls.
pub struct OutboundHttp {
    policy: OutboundPolicy,
    limits: OutboundLimits,
    deadline: Instant,
    in_flight: Arc<Semaphore>,
    telemetry: Arc<Telemetry>,
    /// The current turn's span: each request is a span under it, named in its
    /// `traceparent` header.
    trace: TraceContext,
}

impl OutboundHttp {
    /// The outbound HTTP of a new instance whose first call ends at `deadline`, in `trace`.
    pub fn new(
        policy: OutboundPolicy,
        limits: OutboundLimits,
        deadline: Instant,
        telemetry: Arc<Telemetry>,
        trace: TraceContext,
    ) -> OutboundHttp {
        let in_flight = Arc::new(Semaphore::new(limits.max_requests));
        OutboundHttp { policy, limits, deadline, in_flight, telemetry, trace }
    }

    /// A warm instance's next call ends at `deadline`, in `trace`.
    pub fn rearm(&mut self, deadline: Instant, trace: TraceContext) {
        self.deadline = deadline;
        self.trace = trace;
    }
}

/// The future a request's hook returns.
type Response = Result<Sent, Error>;

fn refuse(destination: &str, reason: String) -> Error {
    tracing::warn!(target: "guest", interface = INTERFACE, %destination, "outbound HTTP request refused: {reason}");
    Error::InternalError(Some(reason))
}

/// The destination of a request that `wasi:http` built (it always sets scheme and
/// authority).
fn destination_of(request: &Request<WasiBody>) -> Option<Destination> {
    let uri = request.uri();
    let scheme = if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        Scheme::Https
    } else if uri.scheme() == Some(&http::uri::Scheme::HTTP) {
        Scheme::Http
    } else {
        return None;
    };
    let host = Host::parse(uri.host()?);
    Some(Destination { port: uri.port_u16().unwrap_or(scheme.default_port()), scheme, host })
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        mut request: Request<WasiBody>,
        _options: Option<RequestOptions>,
        _io: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Response> + Send> {
        let Some(destination) = destination_of(&request) else {
            return Box::new(std::future::ready(Err(Error::HttpRequestUriInvalid)));
        };
        if let Err(reason) = self.policy.authorize(&destination) {
            return Box::new(std::future::ready(Err(refuse(&destination.to_string(), reason))));
        }
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            let reason = format!(
                "outbound HTTP to {destination} refused: this instance already has {} requests in flight (limits.max_outbound_requests)",
                self.limits.max_requests
            );
            return Box::new(std::future::ready(Err(refuse(&destination.to_string(), reason))));
        };
        let (policy, deadline, max_body) = (self.policy.clone(), self.deadline, self.limits.max_response_bytes);
        let mut span = self.traced(&mut request);
        Box::new(async move {
            let sent = Self::exchange(request, destination, policy, deadline, max_body, permit).await;
            match &sent {
                Ok((response, _)) => span.set("http.response.status_code", i64::from(response.status().as_u16())),
                Err(error) => span.fail(error.to_string()),
            }
            sent
        })
    }
}

impl OutboundHttp {
    /// Opens the request's span and names it in the request's `traceparent` (and passes
    /// the trace's `tracestate` on), replacing what the guest set.
    fn traced(&self, request: &mut Request<WasiBody>) -> Span {
        let method = request.method();
        let mut span = self.telemetry.start(|| format!("HTTP {method}").into(), SpanKind::Client, Some(&self.trace));
        if span.is_recording() {
            span.set("http.request.method", method.to_string());
            span.set("url.full", request.uri().to_string());
        }
        let context = span.context();
        let headers = request.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&context.traceparent()) {
            headers.insert(TRACEPARENT, value);
        }
        headers.remove(TRACESTATE);
        if let Some(value) = context.state.as_deref().and_then(|state| HeaderValue::from_str(state).ok()) {
            headers.insert(TRACESTATE, value);
        }
        span
    }

    /// Resolves `destination` (within `policy`) and sends `request` there.
    async fn exchange(
        request: Request<WasiBody>,
        destination: Destination,
        policy: OutboundPolicy,
        deadline: Instant,
        max_body: usize,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Response {
        let addrs = match policy.addresses(&destination, deadline).await {
            Ok(addrs) => addrs,
            Err(Refusal::Denied(reason)) => return Err(refuse(&destination.to_string(), reason)),
            Err(Refusal::Error(error)) => return Err(error),
        };
        let tls = match (&destination.scheme, &destination.host) {
            (Scheme::Http, _) => None,
            (Scheme::Https, Host::Addr(addr)) => Some(ServerName::from(*addr)),
            (Scheme::Https, Host::Name(name)) => {
                Some(ServerName::try_from(name.clone()).map_err(|_| Error::HttpRequestUriInvalid)?)
            }
        };
        http_client::send(request, Exchange { addrs, tls, deadline, max_body, permit }).await
    }
}

/// Links `wasi:http` (types and the outgoing handler) for stores whose state offers it.
pub fn add_to_linker<T: WasiHttpView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::time::Duration;

    use http_body_util::{BodyExt, Empty};

    use super::*;

    fn request(addr: SocketAddr) -> Request<WasiBody> {
        let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
        Request::get(format!("http://{addr}/")).body(body).unwrap()
    }

    #[tokio::test]
    async fn requests_beyond_the_instance_bound_are_refused_at_once_and_a_slot_frees_when_one_ends() {
        // A server that accepts and never answers: the first request stays in flight.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let loopback = AllowedOutboundHosts::parse(&["http://127.0.0.1:*"]).unwrap();
        let policy = OutboundPolicy { granted: loopback.clone(), host: Some(loopback), own: OwnAddresses::default() };
        let limits = OutboundLimits { max_response_bytes: 1024, max_requests: 1 };
        let trace = TraceContext::root(false);
        let mut http =
            OutboundHttp::new(policy, limits, Instant::now() + Duration::from_secs(10), Arc::default(), trace);
        let io = || Box::new(std::future::ready(Ok(()))) as Box<dyn Future<Output = Result<(), Error>> + Send>;

        let first = Pin::from(http.send_request(request(addr), None, io()));
        let second = Pin::from(http.send_request(request(addr), None, io())).await;
        match second {
            Err(Error::InternalError(Some(reason))) => {
                assert!(reason.contains("already has 1 requests in flight"), "{reason}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
        drop(first);
        assert_eq!(http.in_flight.available_permits(), 1, "the ended request's slot is free again");
    }

    #[test]
    fn own_and_private_addresses_need_the_operators_list() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let own_api = Destination { scheme: Scheme::Http, host: Host::Addr(loopback), port: 8800 };
        let elsewhere = Destination { port: 8801, ..own_api.clone() };
        let own = OwnAddresses::default();
        own.add(["127.0.0.1:8800".parse().unwrap()]);
        let policy = |host: Option<&[&str]>| OutboundPolicy {
            granted: AllowedOutboundHosts::parse(&["http://127.0.0.1:*", "http://*:*"]).unwrap(),
            host: host.map(|list| AllowedOutboundHosts::parse(list).unwrap()),
            own: own.clone(),
        };

        let unnamed = policy(None).address_allowed(&elsewhere, loopback).unwrap_err();
        assert!(unnamed.contains("--allowed-outbound-hosts"), "{unnamed}");
        assert!(policy(Some(&["http://127.0.0.1:*"])).address_allowed(&elsewhere, loopback).is_ok());

        let wildcard = policy(Some(&["http://127.0.0.1:*"])).address_allowed(&own_api, loopback).unwrap_err();
        assert!(wildcard.contains("own API") && wildcard.contains("\"http://127.0.0.1:8800\""), "{wildcard}");
        assert!(policy(Some(&["http://127.0.0.1:8800"])).address_allowed(&own_api, loopback).is_ok());

        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let outside = Destination { host: Host::Addr(public), ..elsewhere.clone() };
        assert!(policy(None).address_allowed(&outside, public).is_ok(), "a public address needs nothing more");
    }
}
