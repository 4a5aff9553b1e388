//! A keep-alive HTTP/1.1 load generator: `connections` connections, each sending its next
//! request when the previous answer arrives, for a fixed duration. Bounded in time, aimed at
//! loopback only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Successful requests.
    pub requests: u64,
    /// Successful requests per second.
    pub requests_per_second: f64,
    /// Median latency, in microseconds.
    pub p50_us: u64,
    /// 99th-percentile latency, in microseconds.
    pub p99_us: u64,
    /// Requests answered with a non-2xx status or not at all.
    pub errors: u64,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>9.0} req/s  p50 {:>6} µs  p99 {:>6} µs  errors {}",
            self.requests_per_second, self.p50_us, self.p99_us, self.errors
        )
    }
}

/// One request of a run: the path it is POSTed to and its body (the client API takes its
/// target from the path, so each call names its own).
#[derive(Debug, Clone)]
pub struct Call {
    /// Where it goes, e.g. `/api/v1/system/spawn-system/actors/c-1/invoke`.
    pub path: String,
    /// What it carries.
    pub body: Bytes,
}

/// Runs the load: each connection POSTs `call(connection, i)` as its i-th request.
pub async fn run<F>(addr: SocketAddr, connections: usize, duration: Duration, call: F) -> anyhow::Result<LoadReport>
where
    F: Fn(usize, u64) -> Call + Send + Sync + Clone + 'static,
{
    assert!(addr.ip().is_loopback(), "load is only ever sent to loopback");
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for connection in 0..connections {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(driver);
            let mut histogram = Histogram::<u64>::new(3)?;
            let (mut ok, mut errors) = (0u64, 0u64);
            let mut i = 0u64;
            while Instant::now() < deadline {
                let Call { path, body } = call(connection, i);
                let request = Request::post(format!("http://{addr}{path}"))
                    .header("host", addr.to_string())
                    .header("content-type", "application/octet-stream")
                    .body(Full::new(body))?;
                let sent = Instant::now();
                let response = sender.send_request(request).await?;
                let success = response.status().is_success();
                response.into_body().collect().await?;
                histogram.record(sent.elapsed().as_micros() as u64)?;
                if success {
                    ok += 1
                } else {
                    errors += 1
                }
                i += 1;
            }
            anyhow::Ok((histogram, ok, errors))
        }));
    }
    let mut histogram = Histogram::<u64>::new(3)?;
    let (mut ok, mut errors) = (0u64, 0u64);
    for task in tasks {
        let (part, part_ok, part_errors) = task.await??;
        histogram.add(part)?;
        ok += part_ok;
        errors += part_errors;
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(LoadReport {
        requests: ok,
        requests_per_second: ok as f64 / elapsed,
        p50_us: histogram.value_at_quantile(0.5),
        p99_us: histogram.value_at_quantile(0.99),
        errors,
    })
}

/// One POST on a fresh connection; returns the status code.
pub async fn post_once(addr: SocketAddr, path: &str, body: Bytes) -> anyhow::Result<u16> {
    assert!(addr.ip().is_loopback(), "load is only ever sent to loopback");
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(driver);
    let request = Request::post(format!("http://{addr}{path}"))
        .header("host", addr.to_string())
        .header("content-type", "application/octet-stream")
        .body(Full::new(body))?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// One GET on a fresh connection; returns the body as text (e.g. `/metrics`).
pub async fn get_text(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    assert!(addr.ip().is_loopback(), "load is only ever sent to loopback");
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(driver);
    let request =
        Request::get(format!("http://{addr}{path}")).header("host", addr.to_string()).body(Full::new(Bytes::new()))?;
    let body = sender.send_request(request).await?.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}
