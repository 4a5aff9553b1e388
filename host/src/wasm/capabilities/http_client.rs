//! Sends one outbound request that the policy has allowed: connects only to the addresses
//! it checked (the name is never resolved again, so DNS cannot swap them), TLS verified
//! against the name with the web's root certificates, HTTP/1.1; every step ends at the
//! call's deadline and the response body is capped.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Sleep, timeout_at};
use wasmtime_wasi_http::{Error, WasiBody};

/// A response and the future that drives its connection until the body is read.
pub type Sent = (Response<WasiBody>, Box<dyn Future<Output = Result<(), Error>> + Send>);

/// Where and how one checked request goes.
pub struct Exchange {
    /// The checked addresses, tried in order.
    pub addrs: Vec<SocketAddr>,
    /// The name (or address) the server's certificate must be for; `None` for plain HTTP.
    pub tls: Option<ServerName<'static>>,
    /// When the call's time is up.
    pub deadline: Instant,
    /// The most response body bytes the guest may receive.
    pub max_body: usize,
    /// The instance's slot for one concurrent request, held until the body is done.
    pub permit: OwnedSemaphorePermit,
}

/// Sends `request` as `exchange` says.
pub async fn send(mut request: Request<WasiBody>, exchange: Exchange) -> Result<Sent, Error> {
    // The request line is in origin form: a path, not the absolute URI the guest built.
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
    *request.uri_mut() = Uri::try_from(path).map_err(|_| Error::HttpRequestUriInvalid)?;
    let stream = connect(&exchange.addrs, exchange.deadline).await?;
    match exchange.tls.clone() {
        None => over(stream, request, exchange).await,
        Some(name) => {
            let config = tls_config().ok_or(Error::ConfigurationError)?;
            let tls =
                timeout_at(exchange.deadline.into(), tokio_rustls::TlsConnector::from(config).connect(name, stream))
                    .await
                    .map_err(|_| Error::ConnectionTimeout)?
                    .map_err(Error::Tls)?;
            over(tls, request, exchange).await
        }
    }
}

async fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in addrs {
        match timeout_at(deadline.into(), TcpStream::connect(addr)).await {
            Err(_) => return Err(Error::ConnectionTimeout),
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last = Some(error),
        }
    }
    Err(last.map_or(Error::DestinationNotFound, Error::Connect))
}

/// The HTTP/1.1 exchange over an open `stream`.
async fn over<S>(stream: S, request: Request<WasiBody>, exchange: Exchange) -> Result<Sent, Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let deadline = exchange.deadline.into();
    let (mut sender, conn) = timeout_at(deadline, hyper::client::conn::http1::handshake(TokioIo::new(stream)))
        .await
        .map_err(|_| Error::ConnectionTimeout)??;
    let mut conn = Box::pin(conn);
    let mut conn_done = false;
    // The connection must be driven while the response is awaited.
    let response = timeout_at(deadline, async {
        let send = sender.send_request(request);
        tokio::pin!(send);
        tokio::select! {
            biased;
            response = &mut send => response,
            finished = &mut conn => {
                conn_done = true;
                finished?;
                send.await
            }
        }
    })
    .await
    .map_err(|_| Error::HttpResponseTimeout)??;
    if let Some(length) = response.body().size_hint().exact().filter(|length| *length > exchange.max_body as u64) {
        return Err(over_cap(exchange.max_body, Some(length)));
    }
    let io: Box<dyn Future<Output = Result<(), Error>> + Send> = if conn_done {
        Box::new(std::future::ready(Ok(())))
    } else {
        Box::new(async move {
            timeout_at(deadline, conn).await.map_err(|_| Error::HttpResponseTimeout)?.map_err(Error::from)
        })
    };
    let (parts, incoming) = response.into_parts();
    let body = CappedBody {
        incoming: Some(incoming),
        remaining: exchange.max_body,
        max: exchange.max_body,
        deadline: Box::pin(tokio::time::sleep_until(deadline)),
        _sender: sender,
        _permit: exchange.permit,
    };
    Ok((Response::from_parts(parts, UnsyncBoxBody::new(body)), io))
}

fn over_cap(max: usize, length: Option<u64>) -> Error {
    let length = length.map_or_else(String::new, |length| format!(" ({length} bytes)"));
    Error::InternalError(Some(format!(
        "the response body{length} is over the cap of {max} bytes (limits.max_outbound_response_bytes)"
    )))
}

/// A response body that fails past `max` bytes or past the call's deadline, and frees the
/// instance's request slot when it is dropped. It holds the connection's request sender:
/// hyper closes a connection whose sender is gone, and would cut a body not yet read.
struct CappedBody {
    incoming: Option<Incoming>,
    remaining: usize,
    max: usize,
    deadline: Pin<Box<Sleep>>,
    _sender: hyper::client::conn::http1::SendRequest<WasiBody>,
    _permit: OwnedSemaphorePermit,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let Some(incoming) = self.incoming.as_mut() else { return Poll::Ready(None) };
        match Pin::new(incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let length = frame.data_ref().map_or(0, Bytes::len);
                if length > self.remaining {
                    self.incoming = None;
                    return Poll::Ready(Some(Err(over_cap(self.max, None))));
                }
                self.remaining -= length;
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending if self.deadline.as_mut().poll(cx).is_ready() => {
                self.incoming = None;
                Poll::Ready(Some(Err(Error::HttpResponseTimeout)))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.as_ref().is_none_or(Incoming::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.as_ref().map_or_else(|| SizeHint::with_exact(0), Incoming::size_hint)
    }
}

/// The TLS client configuration every outbound request shares: the web's root
/// certificates (webpki-roots, compiled in, so nothing depends on the machine's store),
/// HTTP/1.1 only.
fn tls_config() -> Option<Arc<rustls::ClientConfig>> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions();
            match builder {
                Ok(builder) => {
                    let mut config = builder.with_root_certificates(roots).with_no_client_auth();
                    config.alpn_protocols = vec![b"http/1.1".to_vec()];
                    Some(Arc::new(config))
                }
                Err(error) => {
                    tracing::error!(%error, "cannot configure TLS; outbound https requests will fail");
                    None
                }
            }
        })
        .clone()
}
