//! Reading an invocation's body within `--max-body-bytes`, and within `--header-timeout-ms`
//! of its headers (a body trickled or stalled would otherwise hold its in-flight slot for
//! ever). An oversized body is still read to
//! its end (and discarded) before the answer: the proxy's HTTP client writes a whole request
//! before it reads the answer, so closing the connection under it would be a transport error,
//! which the proxy retries until its request timeout, re-sending the oversized body each time.

use std::pin::Pin;
use std::time::Duration;

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
    /// The body did not arrive in time.
    #[error("the invocation's body did not arrive within {} ms of its headers (--header-timeout-ms)", .within.as_millis())]
    Late {
        /// The bound.
        within: Duration,
    },
    /// The connection failed while the body was read.
    #[error("reading the invocation failed: {0}")]
    Read(#[from] axum::Error),
}

/// The whole body if it is at most `limit` bytes and arrives `within` (a body that came with
/// its headers arms no timer). A body that arrives in one chunk (an invocation almost always
/// does) is returned as that chunk, without a copy.
pub(super) async fn read_within(body: Body, limit: usize, within: Duration) -> Result<Bytes, BodyError> {
    tokio::time::timeout(within, read_limited(body, limit)).await.unwrap_or_else(|_| Err(BodyError::Late { within }))
}

async fn read_limited(mut body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut first: Option<Bytes> = None;
    let mut joined = Vec::new();
    let mut received = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let Ok(chunk) = frame?.into_data() else { continue };
        received = received.saturating_add(chunk.len());
        if received <= limit {
            if first.is_none() && joined.is_empty() {
                first = Some(chunk);
            } else {
                joined.extend_from_slice(&first.take().unwrap_or_default());
                joined.extend_from_slice(&chunk);
            }
        } else if received > DRAIN_LIMIT {
            break;
        } else {
            (first, joined) = (None, Vec::new());
        }
    }
    if received > limit {
        return Err(BodyError::TooLarge { received, limit });
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::task::{Context, Poll};

    use axum::body::HttpBody;
    use hyper::body::Frame;

    use super::*;

    /// A body arriving in the given chunks.
    struct Chunks(VecDeque<Bytes>);

    impl HttpBody for Chunks {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }
    }

    fn body(chunks: &[&'static [u8]]) -> Body {
        Body::new(Chunks(chunks.iter().map(|chunk| Bytes::from_static(chunk)).collect()))
    }

    #[tokio::test]
    async fn a_body_is_read_whole_from_one_chunk_or_many_within_the_limit() {
        assert_eq!(read_limited(body(&[b"one"]), 8).await.unwrap(), "one");
        assert_eq!(read_limited(body(&[b"ab", b"cd", b"ef"]), 8).await.unwrap(), "abcdef");
        assert_eq!(read_limited(body(&[]), 8).await.unwrap(), "");
        let error = read_limited(body(&[b"abcd", b"efgh", b"ij"]), 8).await.unwrap_err();
        assert!(matches!(error, BodyError::TooLarge { received: 10, limit: 8 }), "{error}");
    }
}
