//! Guest stdout and stderr, written to the host's log line by line, tagged with the actor
//! and action that wrote them, and capped per call so that a chatty guest cannot flood
//! the log.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Bytes of output logged per call and stream; the rest is counted and dropped.
pub const OUTPUT_BUDGET: usize = 16 << 10;
/// Longest line logged as one; longer ones are split.
const MAX_LINE: usize = 4096;

/// Which actor and action are writing, and what is left of this call's budget.
#[derive(Debug, Default)]
struct Label {
    actor: String,
    action: String,
    budget: usize,
    dropped: usize,
    partial: Vec<u8>,
}

/// One of a store's output streams; clones share the same label and budget.
#[derive(Clone)]
pub struct GuestOutput {
    stream: &'static str,
    label: Arc<Mutex<Label>>,
}

impl GuestOutput {
    /// The stream named `stream` ("stdout" or "stderr").
    pub fn new(stream: &'static str) -> Self {
        GuestOutput { stream, label: Arc::default() }
    }

    /// Starts a call: output from now on is tagged `actor`/`action`, with a fresh budget.
    pub fn begin(&self, actor: &str, action: &str) {
        let mut label = self.label.lock().unwrap();
        label.actor.clear();
        label.actor.push_str(actor);
        label.action.clear();
        label.action.push_str(action);
        label.budget = OUTPUT_BUDGET;
        label.dropped = 0;
        label.partial.clear();
    }

    /// Ends a call: logs an unterminated last line and what the budget dropped.
    pub fn finish(&self) {
        let mut label = self.label.lock().unwrap();
        if !label.partial.is_empty() {
            let line = std::mem::take(&mut label.partial);
            self.emit(&label, &line);
        }
        if label.dropped > 0 {
            tracing::warn!(target: "guest", actor = %label.actor, action = %label.action, stream = self.stream,
                dropped_bytes = label.dropped, "guest output over the per-call budget was dropped");
            label.dropped = 0;
        }
    }

    fn emit(&self, label: &Label, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        tracing::info!(target: "guest", actor = %label.actor, action = %label.action, stream = self.stream, "{text}");
    }

    fn write_bytes(&self, mut bytes: &[u8]) {
        let mut label = self.label.lock().unwrap();
        let allowed = bytes.len().min(label.budget);
        label.dropped += bytes.len() - allowed;
        label.budget -= allowed;
        bytes = &bytes[..allowed];
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|byte| *byte == b'\n');
            let take = newline.map_or(bytes.len(), |at| at + 1);
            label.partial.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if newline.is_some() || label.partial.len() >= MAX_LINE {
                let line = std::mem::take(&mut label.partial);
                self.emit(&label, &line);
            }
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.write_bytes(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
