//! Who may call the routes that read or change actors ([`Access`]): the bearer token beyond
//! loopback, and, since any web page the user opens can send requests to a loopback port,
//! two rules against browsers: a request from another origin (its `Origin` header) is
//! refused, token or not, and without a token so is a request addressed to a name that is
//! not loopback (its `Host` header), which is what a page using DNS rebinding sends.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Who may call the routes that read or change actors (the client API, the console's data,
/// `/v1/modules`). Health and metrics stay open: Kubernetes probes and Prometheus scrapes
/// carry no token, and they reveal no state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    credential: Credential,
    /// Names besides loopback ones that a request without a token may be addressed to,
    /// lowercase, without a trailing dot.
    allowed_hosts: Arc<[Box<str>]>,
}

/// What a request must bear.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Credential {
    /// Nothing: the server is bound to loopback and no token is set.
    Open,
    /// This token (`Authorization: Bearer TOKEN`).
    Token(Arc<str>),
    /// Nothing passes: the server is reachable beyond this host and no token is set (sidecar
    /// mode still serves the proxy, which sends no token, on its own route).
    Closed,
}

/// Why a request is refused, and so its status.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    /// 403: a web page's request (another origin, or a name that is not loopback).
    Forbidden(String),
    /// 401: the token is missing or wrong, or the route is off.
    Unauthorized(&'static str),
}

impl Access {
    /// The access of a server bound to `ip` with `token` (an empty token is none), answering
    /// requests addressed to loopback names and addresses only.
    pub fn new(ip: IpAddr, token: Option<&str>) -> Access {
        let credential = match token.filter(|token| !token.is_empty()) {
            Some(token) => Credential::Token(token.into()),
            None if ip.is_loopback() => Credential::Open,
            None => Credential::Closed,
        };
        Access { credential, allowed_hosts: Arc::from([]) }
    }

    /// The same, also answering requests without a token addressed to `names` (any port), so
    /// that an operator can reach a loopback server under a name of their own (a name in
    /// `/etc/hosts`, a development proxy's).
    pub fn allowing_hosts(self, names: &[String]) -> Access {
        let names = names.iter().map(|name| normal_name(name).into()).collect();
        Access { allowed_hosts: names, ..self }
    }

    /// Whether nobody may call: beyond loopback without a token (standalone refuses to start
    /// so; sidecar serves only the proxy's route).
    pub fn is_closed(&self) -> bool {
        self.credential == Credential::Closed
    }

    /// Why a request with `headers` is refused, or `None`.
    fn refusal(&self, headers: &HeaderMap) -> Option<Refusal> {
        let text = |name| headers.get(name).map(|value: &header::HeaderValue| value.to_str().unwrap_or("(not text)"));
        let host = text(header::HOST);
        if let Some(origin) = text(header::ORIGIN)
            && !host.is_some_and(|host| same_origin(origin, host))
        {
            return Some(Refusal::Forbidden(format!(
                "cross-origin request refused: Origin `{origin}` is not this server's own (http://{}): a web page of \
                 another site may not call this host",
                host.unwrap_or("?")
            )));
        }
        match &self.credential {
            Credential::Open => self.host_refusal(host),
            Credential::Token(token) => {
                let presented =
                    text(header::AUTHORIZATION).and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
                match presented {
                    Some(presented) if same_secret(token.as_bytes(), presented.as_bytes()) => None,
                    Some(_) => Some(Refusal::Unauthorized("the token is not this host's")),
                    None => Some(Refusal::Unauthorized(
                        "this host requires a token: send `Authorization: Bearer TOKEN` \
                         (spawn-wasm's client verbs: --token or SPAWN_WASM_TOKEN)",
                    )),
                }
            }
            Credential::Closed => Some(Refusal::Unauthorized(
                "this host serves beyond loopback without a token, so this route is off: \
                 start it with --token or SPAWN_WASM_TOKEN",
            )),
        }
    }

    /// Why a request without a token addressed to `host` (its `Host` header) is refused.
    fn host_refusal(&self, host: Option<&str>) -> Option<Refusal> {
        let Some(host) = host else {
            return Some(Refusal::Forbidden("the request has no Host header: address it to 127.0.0.1".into()));
        };
        // Most requests: a loopback address as written, which needs no normalising.
        if name_of(host).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return None;
        }
        let authority = normal_name(host);
        let name = name_of(&authority);
        if is_loopback_name(name)
            || self.allowed_hosts.iter().any(|allowed| **allowed == *name || **allowed == *authority)
        {
            return None;
        }
        Some(Refusal::Forbidden(format!(
            "Host `{host}` is not a loopback name or address: without a token this host answers only requests \
             addressed to loopback, so that a web page cannot reach it through DNS rebinding. Allow the name with \
             --allowed-host {name} (SPAWN_WASM_ALLOWED_HOSTS, or `allowed-host` in the configuration file), or set \
             a token"
        )))
    }
}

/// `name` lowercase, without the trailing dot of a fully qualified name.
fn normal_name(name: &str) -> String {
    let name = name.trim().to_ascii_lowercase();
    match name.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && port.bytes().all(|byte| byte.is_ascii_digit()) => {
            format!("{}:{port}", host.trim_end_matches('.'))
        }
        _ => name.trim_end_matches('.').to_owned(),
    }
}

/// The name or address of a `Host` value (`name`, `name:port`, `[v6]`, `[v6]:port`).
fn name_of(authority: &str) -> &str {
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split_once(']').map_or(authority, |(address, _)| address);
    }
    match authority.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => authority,
    }
}

/// `localhost`, a name under `.localhost` (RFC 6761: always loopback), or a loopback address.
fn is_loopback_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `origin` (a browser's `Origin` header) is the server's own, the one a page it
/// served has: `http://HOST` or, behind a TLS ingress, `https://HOST`, where `HOST` is the
/// request's `Host` header. `null` (a sandboxed page, a file) is no server's.
fn same_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(expected: &[u8], presented: &[u8]) -> bool {
    expected.len() == presented.len()
        && expected.iter().zip(presented).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

/// `router` answering 403 to web pages `access` refuses (another origin; without a token, a
/// name that is not loopback) and 401 to requests without its token. Every route that reads
/// or changes actors goes through it, the loopback default included: a browser reaches
/// loopback too.
pub fn guarded<S: Clone + Send + Sync + 'static>(router: Router<S>, access: Access) -> Router<S> {
    router.layer(Guard(Arc::new(access)))
}

/// The layer of [`guarded`]: a plain service around each route rather than a `from_fn`
/// middleware, which clones and boxes the rest of the stack for every request, on the
/// client API's hot path.
#[derive(Clone)]
struct Guard(Arc<Access>);

impl<S> tower_layer::Layer<S> for Guard {
    type Service = Guarded<S>;

    fn layer(&self, inner: S) -> Guarded<S> {
        Guarded { inner, access: self.0.clone() }
    }
}

/// A route behind [`Guard`].
#[derive(Clone)]
struct Guarded<S> {
    inner: S,
    access: Arc<Access>,
}

impl<S> tower_service::Service<Request> for Guarded<S>
where
    S: tower_service::Service<Request, Response = Response, Error = std::convert::Infallible>,
{
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Guarding<S::Future>;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match self.access.refusal(request.headers()) {
            None => Guarding::Passed { future: self.inner.call(request) },
            Some(refusal) => {
                tracing::debug!(path = %request.uri().path(), ?refusal, "request refused");
                Guarding::Refused { response: Some(refused(refusal)) }
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The route's own answer, or the refusal.
    #[project = GuardingProjection]
    enum Guarding<F> {
        Passed { #[pin] future: F },
        Refused { response: Option<Response> },
    }
}

impl<F: Future<Output = Result<Response, std::convert::Infallible>>> Future for Guarding<F> {
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        match self.project() {
            GuardingProjection::Passed { future } => future.poll(cx),
            GuardingProjection::Refused { response } => {
                std::task::Poll::Ready(Ok(response.take().expect("a refused request is answered once")))
            }
        }
    }
}

/// The answer to a refused request: 403 or 401, with `{"error": ...}`.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::Forbidden(refusal) => {
            (StatusCode::FORBIDDEN, axum::Json(serde_json::json!({ "error": refusal }))).into_response()
        }
        Refusal::Unauthorized(refusal) => {
            let body = axum::Json(serde_json::json!({ "error": refusal }));
            (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (header::HeaderName::from_static(name), value.parse().unwrap())).collect()
    }

    fn loopback() -> Access {
        Access::new("127.0.0.1".parse().unwrap(), None)
    }

    #[test]
    fn loopback_without_a_token_is_open_and_elsewhere_closed() {
        assert_eq!(loopback().credential, Credential::Open);
        assert_eq!(Access::new("::1".parse().unwrap(), Some("")).credential, Credential::Open);
        assert!(Access::new("0.0.0.0".parse().unwrap(), None).is_closed());
        assert_eq!(Access::new("0.0.0.0".parse().unwrap(), Some("s")).credential, Credential::Token("s".into()));
    }

    #[test]
    fn only_the_token_passes() {
        let access = Access::new("0.0.0.0".parse().unwrap(), Some("secret"));
        let with = |token: &str| headers(&[("host", "h"), ("authorization", &format!("Bearer {token}"))]);
        assert_eq!(access.refusal(&with("secret")), None);
        assert!(access.refusal(&with("secreT")).is_some());
        assert!(access.refusal(&with("secret2")).is_some());
        let Some(Refusal::Unauthorized(refusal)) = access.refusal(&headers(&[("host", "h")])) else { panic!() };
        assert!(refusal.contains("requires a token"));
        let closed = Access::new("0.0.0.0".parse().unwrap(), None);
        let Some(Refusal::Unauthorized(refusal)) = closed.refusal(&with("secret")) else { panic!() };
        assert!(refusal.contains("--token"));
    }

    #[test]
    fn without_a_token_only_loopback_names_and_allowed_ones_pass() {
        let access = loopback().allowing_hosts(&["Spawn.Test.".into(), "dev.test:8080".into()]);
        for host in [
            "localhost",
            "localhost:9001",
            "LocalHost.",
            "a.b.localhost:1",
            "127.0.0.1",
            "127.9.9.9:80",
            "[::1]",
            "[::1]:9001",
            "spawn.test",
            "spawn.test:9001",
            "dev.test:8080",
        ] {
            assert_eq!(access.refusal(&headers(&[("host", host)])), None, "{host}");
        }
        for host in ["evil.example", "localhost.evil.example", "[::2]:1", "0.0.0.0", "10.0.0.1:9001", "dev.test:8081"] {
            let Some(Refusal::Forbidden(refusal)) = access.refusal(&headers(&[("host", host)])) else {
                panic!("{host}")
            };
            assert!(refusal.contains("--allowed-host"), "{refusal}");
        }
        assert!(access.refusal(&HeaderMap::new()).is_some(), "no Host at all");
    }

    #[test]
    fn another_origin_is_refused_with_or_without_a_token() {
        let token = Access::new("0.0.0.0".parse().unwrap(), Some("s"));
        for access in [loopback(), token] {
            let request = |origin: &str| {
                headers(&[("host", "127.0.0.1:9001"), ("origin", origin), ("authorization", "Bearer s")])
            };
            assert_eq!(access.refusal(&request("http://127.0.0.1:9001")), None);
            assert_eq!(access.refusal(&request("https://127.0.0.1:9001")), None);
            for origin in
                ["http://evil.example", "null", "http://127.0.0.1:9002", "http://127.0.0.1", "ftp://127.0.0.1:9001"]
            {
                let Some(Refusal::Forbidden(refusal)) = access.refusal(&request(origin)) else { panic!("{origin}") };
                assert!(refusal.contains(origin), "{refusal}");
            }
        }
    }
}
