//! What guests write: stdout, stderr and the `log` import, to the host's log, tagged with
//! the actor and action that wrote it.
//!
//! A guest cannot flood the log or forge a line in it:
//! - the three share one budget per call, in bytes and in lines; past it, output is
//!   counted and dropped, and one line at the end of the call says how much;
//! - each actor also has a rate across its calls (a token bucket), so that many short
//!   calls cannot add up to a flood either;
//! - control characters, newlines included, are escaped, so that guest text never starts
//!   a line of its own or moves the terminal's cursor.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::telemetry::{SpanId, TraceContext, TraceId};

/// Bytes of output logged per call, all streams together; the rest is counted and dropped.
pub const OUTPUT_BUDGET: usize = 16 << 10;
/// Lines logged per call, all streams together.
pub const LINE_BUDGET: usize = 256;
/// What one actor may log per second across its calls (its burst is one call's budget).
pub const BYTES_PER_SECOND: usize = 64 << 10;
/// Longest line logged as one; longer ones are split.
const MAX_LINE: usize = 4096;
/// Actors whose rate is remembered; beyond it, those with a full bucket are forgotten.
const RATES_KEPT: usize = 4096;

/// The level of a guest's `log` call, as the host logs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Finest detail.
    Trace,
    /// Detail.
    Debug,
    /// Normal events.
    Info,
    /// Something off.
    Warn,
    /// A failure.
    Error,
}

/// Where a line came from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Stdout,
    Stderr,
    Log(Level),
}

/// Each actor's output rate across calls: bytes it may still write, refilled over time.
#[derive(Debug, Default)]
pub struct OutputRates {
    buckets: Mutex<HashMap<String, (usize, Instant)>>,
}

impl OutputRates {
    /// What `actor` may write in its next call: its bucket, refilled since it last wrote.
    fn allowance(&self, actor: &str, now: Instant) -> usize {
        let buckets = self.buckets.lock().unwrap();
        buckets.get(actor).map_or(OUTPUT_BUDGET, |(tokens, at)| refill(*tokens, *at, now))
    }

    /// Takes `spent` bytes from `actor`'s bucket.
    fn charge(&self, actor: &str, spent: usize, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap();
        if buckets.len() >= RATES_KEPT && !buckets.contains_key(actor) {
            buckets.retain(|_, (tokens, at)| refill(*tokens, *at, now) < OUTPUT_BUDGET);
        }
        let (tokens, at) = buckets.entry(actor.to_owned()).or_insert((OUTPUT_BUDGET, now));
        *tokens = refill(*tokens, *at, now).saturating_sub(spent);
        *at = now;
    }
}

fn refill(tokens: usize, since: Instant, now: Instant) -> usize {
    let earned = now.saturating_duration_since(since).as_secs_f64() * BYTES_PER_SECOND as f64;
    (tokens as f64 + earned).min(OUTPUT_BUDGET as f64) as usize
}

/// One store's output during one call.
#[derive(Debug)]
struct CallOutput {
    rates: Arc<OutputRates>,
    actor: String,
    action: String,
    bytes_left: usize,
    lines_left: usize,
    /// Whether `bytes_left` already counts the actor's rate: asked on the call's first line
    /// only, so that a call that writes nothing never touches the shared rates.
    rated: bool,
    spent: usize,
    dropped_bytes: usize,
    dropped_lines: usize,
    /// Unterminated output of stdout and stderr.
    partial: [Vec<u8>; 2],
    /// The call's trace and span (its turn's), on every line.
    trace: (TraceId, SpanId),
}

impl CallOutput {
    /// Logs `text` as one line if the budget allows, else counts it as dropped.
    fn line(&mut self, source: Source, text: &[u8]) {
        if !self.rated {
            self.rated = true;
            self.bytes_left = self.bytes_left.min(self.rates.allowance(&self.actor, Instant::now()));
        }
        if self.lines_left == 0 || self.bytes_left < text.len() {
            self.dropped_lines += 1;
            self.dropped_bytes += text.len();
            return;
        }
        self.lines_left -= 1;
        self.bytes_left -= text.len();
        self.spent += text.len();
        let text = String::from_utf8_lossy(text);
        let text = escape(&text);
        let (actor, action) = (self.actor.as_str(), self.action.as_str());
        let (trace_id, span_id) = self.trace;
        match source {
            Source::Stdout => {
                tracing::info!(target: "guest", %actor, %action, %trace_id, %span_id, stream = "stdout", "{text}")
            }
            Source::Stderr => {
                tracing::info!(target: "guest", %actor, %action, %trace_id, %span_id, stream = "stderr", "{text}")
            }
            Source::Log(Level::Trace) => {
                tracing::trace!(target: "guest", %actor, %action, %trace_id, %span_id, "{text}")
            }
            Source::Log(Level::Debug) => {
                tracing::debug!(target: "guest", %actor, %action, %trace_id, %span_id, "{text}")
            }
            Source::Log(Level::Info) => tracing::info!(target: "guest", %actor, %action, %trace_id, %span_id, "{text}"),
            Source::Log(Level::Warn) => tracing::warn!(target: "guest", %actor, %action, %trace_id, %span_id, "{text}"),
            Source::Log(Level::Error) => {
                tracing::error!(target: "guest", %actor, %action, %trace_id, %span_id, "{text}")
            }
        }
    }

    /// Stdout or stderr bytes: whole lines are logged, the rest waits for its newline.
    fn write(&mut self, stream: usize, mut bytes: &[u8]) {
        let source = if stream == 0 { Source::Stdout } else { Source::Stderr };
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|byte| *byte == b'\n');
            let room = MAX_LINE - self.partial[stream].len();
            let take = newline.map_or(bytes.len(), |at| at + 1).min(room);
            self.partial[stream].extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.partial[stream].ends_with(b"\n") || self.partial[stream].len() >= MAX_LINE {
                self.flush(stream, source);
            }
        }
    }

    fn flush(&mut self, stream: usize, source: Source) {
        let mut line = std::mem::take(&mut self.partial[stream]);
        while line.last().is_some_and(|byte| matches!(byte, b'\n' | b'\r')) {
            line.pop();
        }
        self.line(source, &line);
        line.clear();
        self.partial[stream] = line;
    }
}

/// A store's output: its stdout and stderr streams and its `log` import share one budget
/// per call. Clones share it too.
#[derive(Debug, Clone)]
pub struct GuestOutput {
    call: Arc<Mutex<CallOutput>>,
}

impl GuestOutput {
    /// A store's output, charged to each actor's rate in `rates`.
    pub fn new(rates: Arc<OutputRates>) -> Self {
        let call = CallOutput {
            rates,
            actor: String::new(),
            action: String::new(),
            bytes_left: 0,
            lines_left: 0,
            rated: false,
            spent: 0,
            dropped_bytes: 0,
            dropped_lines: 0,
            partial: [Vec::new(), Vec::new()],
            trace: (TraceId([0; 16]), SpanId([0; 8])),
        };
        GuestOutput { call: Arc::new(Mutex::new(call)) }
    }

    /// The guest's stdout.
    pub fn stdout(&self) -> OutputStream {
        OutputStream { output: self.clone(), stream: 0 }
    }

    /// The guest's stderr.
    pub fn stderr(&self) -> OutputStream {
        OutputStream { output: self.clone(), stream: 1 }
    }

    /// Starts a call: output from now on is tagged `actor`/`action` and the turn's trace and
    /// span, within this call's budget and what the actor's rate allows (asked when it
    /// first writes).
    pub fn begin(&self, actor: &str, action: &str, trace: &TraceContext) {
        let mut call = self.call.lock().unwrap();
        call.trace = (trace.trace_id, trace.span_id);
        call.actor.clear();
        call.actor.push_str(actor);
        call.action.clear();
        call.action.push_str(action);
        call.bytes_left = OUTPUT_BUDGET;
        call.lines_left = LINE_BUDGET;
        call.rated = false;
        call.spent = 0;
        call.dropped_bytes = 0;
        call.dropped_lines = 0;
        call.partial.iter_mut().for_each(Vec::clear);
    }

    /// A `log` call of the guest.
    pub fn log(&self, level: Level, message: &str) {
        self.call.lock().unwrap().line(Source::Log(level), message.as_bytes());
    }

    /// Ends a call: logs unterminated last lines, says what was dropped, and charges what
    /// was written to the actor's rate.
    pub fn finish(&self) {
        let mut call = self.call.lock().unwrap();
        for (stream, source) in [(0, Source::Stdout), (1, Source::Stderr)] {
            if !call.partial[stream].is_empty() {
                call.flush(stream, source);
            }
        }
        if call.dropped_bytes > 0 || call.dropped_lines > 0 {
            tracing::warn!(target: "guest", actor = %call.actor, action = %call.action,
                trace_id = %call.trace.0, span_id = %call.trace.1,
                dropped_bytes = call.dropped_bytes, dropped_lines = call.dropped_lines,
                "guest output over its budget was dropped (per call: {OUTPUT_BUDGET} bytes, {LINE_BUDGET} lines; \
                 per actor: {BYTES_PER_SECOND} bytes/s)");
        }
        if call.spent > 0 {
            call.rates.charge(&call.actor, call.spent, Instant::now());
            call.spent = 0;
        }
        call.dropped_bytes = 0;
        call.dropped_lines = 0;
    }

    fn write(&self, stream: usize, bytes: &[u8]) {
        self.call.lock().unwrap().write(stream, bytes);
    }
}

/// `text` with control characters (newlines included) escaped, so that it stays on its line.
fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() { c.escape_default().collect() } else { vec![c] };
            escaped
        })
        .collect::<String>()
        .into()
}

/// Stdout or stderr of a store, as WASI writes it.
#[derive(Debug, Clone)]
pub struct OutputStream {
    output: GuestOutput,
    stream: usize,
}

impl IsTerminal for OutputStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputStream {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for OutputStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.output.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\nFAKE host line\x1b[2J"), "a\\nFAKE host line\\u{1b}[2J");
    }

    #[test]
    fn an_actor_rate_spans_calls_and_refills() {
        let rates = OutputRates::default();
        let start = Instant::now();
        assert_eq!(rates.allowance("a", start), OUTPUT_BUDGET);
        rates.charge("a", OUTPUT_BUDGET, start);
        assert_eq!(rates.allowance("a", start), 0, "a spent bucket allows nothing at once");
        assert_eq!(rates.allowance("b", start), OUTPUT_BUDGET, "other actors are not charged");
        let later = start + Duration::from_millis(100);
        let refilled = rates.allowance("a", later);
        assert!((BYTES_PER_SECOND / 10 - 1..=BYTES_PER_SECOND / 10 + 1).contains(&refilled), "{refilled}");
        assert_eq!(rates.allowance("a", start + Duration::from_secs(10)), OUTPUT_BUDGET);
    }

    #[test]
    fn stdout_stderr_and_log_share_one_budget_per_call() {
        let output = GuestOutput::new(Arc::default());
        output.begin("a", "act", &TraceContext::root(false));
        for _ in 0..LINE_BUDGET {
            output.log(Level::Info, "x");
        }
        output.stdout().output.write(0, b"one more\n");
        let call = output.call.lock().unwrap();
        assert_eq!((call.lines_left, call.dropped_lines), (0, 1));
    }
}
