//! Reading an invocation's body within `--max-body-bytes`. An oversized body is still read to
//! its end (and discarded) before the answer: the proxy's HTTP client writes a whole request
//! before it reads the answer, so closing the connection under it would be a transport error,
//! which the proxy retries until its request timeout, re-sending the oversized body each time.

use std::pin::Pin;

use axum::body::{Body, Bytes, HttpBody};

/// How much of an oversized body is read and discarded at most; beyond it the connection is
/// closed (a body this large is not the proxy's: its own limit is 8 MB).
const DRAIN_LIMIT: usize = 256 << 20;

/// Why a body was not read.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// More bytes than the limit.
    #[error("the invocation is {received} bytes or more, over the limit of {limit} (--max-body-bytes)")]
    TooLarge {
        /// What arrived (until the end, or until reading stopped).
        received: usize,
        /// The limit.
        limit: usize,
    },
    /// The connection failed while the body was read.
    #[error("reading the invocation failed: {0}")]
    Read(#[from] axum::Error),
}

/// The whole body if it is at most `limit` bytes.
pub(super) async fn read_within(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut data = Vec::new();
    let mut received = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(chunk) = frame?.into_data() else { continue };
        received = received.saturating_add(chunk.len());
        if received <= limit {
            data.extend_from_slice(&chunk);
        } else if received > DRAIN_LIMIT {
            break;
        } else {
            data = Vec::new();
        }
    }
    if received > limit {
        return Err(BodyError::TooLarge { received, limit });
    }
    Ok(Bytes::from(data))
}
