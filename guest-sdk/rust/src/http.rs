//! Outbound HTTP from an action, through `wasi:http/outgoing-handler`: blocking, whole
//! bodies, for the calls actors make (payment APIs, webhooks, model servers).
//!
//! The host sends a request only to a destination the module's TOML grants:
//!
//! ```toml
//! [grants]
//! allowed_outbound_hosts = ["https://api.example.com", "http://127.0.0.1:*"]
//! ```
//!
//! Anything else fails with an [`HttpError`] whose message is the host's: which
//! destination, and the grant that would allow it. The request ends at the call's
//! deadline and the response body is capped by the host.
//!
//! ```no_run
//! use spawn_wasm_sdk::http;
//!
//! let response = http::get("https://api.example.com/rates?base=EUR")?;
//! assert_eq!(response.status, 200);
//! let text = response.text();
//! # Ok::<(), http::HttpError>(())
//! ```

use wasi::http::outgoing_handler;
use wasi::http::types::{ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, Scheme};
use wasi::io::streams::StreamError;

/// Largest chunk `wasi:io` writes at once.
const WRITE_CHUNK: usize = 4096;
/// Chunk asked for when reading a body.
const READ_CHUNK: u64 = 64 * 1024;

/// Why a request failed: the host's refusal (naming the destination and the grant that
/// would allow it), a network error, or a malformed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}

impl From<ErrorCode> for HttpError {
    fn from(code: ErrorCode) -> Self {
        match code {
            // The host puts its reasons (refusals, caps) here.
            ErrorCode::InternalError(Some(message)) => HttpError(message),
            other => HttpError(format!("{other:?}")),
        }
    }
}

impl From<HttpError> for crate::Error {
    fn from(error: HttpError) -> Self {
        crate::Error::failed(error)
    }
}

/// A response, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, in order, names lowercase.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive), if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, HttpError> {
    send("GET", url, &[], &[])
}

/// `POST url` with `body`, of type `content_type`.
pub fn post(url: &str, content_type: &str, body: &[u8]) -> Result<Response, HttpError> {
    send("POST", url, &[("content-type", content_type.as_bytes())], body)
}

/// Sends `method url` with `headers` and `body` and reads the whole response. `url` is
/// `http://` or `https://`, then host, optional port, path and query.
pub fn send(method: &str, url: &str, headers: &[(&str, &[u8])], body: &[u8]) -> Result<Response, HttpError> {
    let (scheme, authority, path) = split_url(url)?;
    if cfg!(not(target_arch = "wasm32")) {
        return Err(HttpError("outbound HTTP works only inside a component, run by the host".into()));
    }
    let fields: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(name, value)| ((*name).to_owned(), value.to_vec())).collect();
    let fields = Fields::from_list(&fields).map_err(|error| HttpError(format!("bad header: {error:?}")))?;
    let request = OutgoingRequest::new(fields);
    let method = match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "HEAD" => Method::Head,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_owned()),
    };
    let bad_url = || HttpError(format!("`{url}` is not a valid URL"));
    request.set_method(&method).map_err(|()| HttpError(format!("bad method {method:?}")))?;
    request.set_scheme(Some(&scheme)).map_err(|()| bad_url())?;
    request.set_authority(Some(authority)).map_err(|()| bad_url())?;
    request.set_path_with_query(Some(path)).map_err(|()| bad_url())?;
    let outgoing = request.body().map_err(|()| HttpError("the request body was already taken".into()))?;
    let pending = outgoing_handler::handle(request, None)?;
    write_body(outgoing, body)?;
    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(response)) => response?,
        _ => return Err(HttpError("the host gave no response".into())),
    };
    let status = response.status();
    let headers = response.headers().entries();
    let incoming = response.consume().map_err(|()| HttpError("the response body was already taken".into()))?;
    let body = read_body(&incoming)?;
    drop(IncomingBody::finish(incoming));
    Ok(Response { status, headers, body })
}

fn write_body(outgoing: OutgoingBody, body: &[u8]) -> Result<(), HttpError> {
    {
        let stream = outgoing.write().map_err(|()| HttpError("the request body stream was already taken".into()))?;
        for chunk in body.chunks(WRITE_CHUNK) {
            stream.blocking_write_and_flush(chunk).map_err(stream_error)?;
        }
    }
    OutgoingBody::finish(outgoing, None)?;
    Ok(())
}

fn read_body(incoming: &IncomingBody) -> Result<Vec<u8>, HttpError> {
    let stream = incoming.stream().map_err(|()| HttpError("the response body stream was already taken".into()))?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(body),
            Err(error) => return Err(stream_error(error)),
        }
    }
}

fn stream_error(error: StreamError) -> HttpError {
    match error {
        StreamError::Closed => HttpError("the connection closed".into()),
        StreamError::LastOperationFailed(error) => match wasi::http::types::http_error_code(&error) {
            Some(code) => code.into(),
            None => HttpError(error.to_debug_string()),
        },
    }
}

/// `(scheme, authority, path and query)` of `url`.
fn split_url(url: &str) -> Result<(Scheme, &str, &str), HttpError> {
    let (scheme, rest) = url.split_once("://").ok_or_else(|| HttpError(format!("`{url}` has no scheme://")))?;
    let scheme = match scheme {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => return Err(HttpError(format!("`{url}`: the scheme must be http or https, not {other}"))),
    };
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(split);
    if authority.is_empty() {
        return Err(HttpError(format!("`{url}` has no host")));
    }
    Ok((scheme, authority, if path.is_empty() { "/" } else { path }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_scheme_authority_and_path() {
        let (scheme, authority, path) = split_url("https://api.example.com:8443/v1/rates?base=EUR").unwrap();
        assert!(matches!(scheme, Scheme::Https));
        assert_eq!((authority, path), ("api.example.com:8443", "/v1/rates?base=EUR"));
        assert_eq!(split_url("http://127.0.0.1:9").map(|(_, a, p)| (a, p)).unwrap(), ("127.0.0.1:9", "/"));
        assert!(split_url("ftp://x").unwrap_err().0.contains("http or https"));
        assert!(split_url("example.com").unwrap_err().0.contains("no scheme"));
    }

    #[test]
    fn outside_a_component_a_request_says_why_it_cannot_go() {
        assert!(get("http://127.0.0.1:9/").unwrap_err().0.contains("only inside a component"));
    }
}
