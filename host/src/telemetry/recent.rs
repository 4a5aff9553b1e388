//! The last few hundred requests' spans, in memory, for the console's requests view: no
//! collector needed to see where a request went.
//!
//! Bounded twice: [`TRACES`] traces (the least recently active goes first) of at most
//! [`SPANS_PER_TRACE`] spans each (a trace past it counts what it left out), so its memory
//! is bounded whatever the load. Recording a span is one lock and one push.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use lru::LruCache;
use serde::Serialize;

use super::context::{SpanId, TraceId};

/// Traces kept.
pub const TRACES: usize = 300;
/// Spans kept per trace.
pub const SPANS_PER_TRACE: usize = 200;

/// One finished span as the console shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SpanRecord {
    /// The span's id, in hex.
    pub span_id: String,
    /// Its parent's id, in hex (the caller's span for a request's root, or `None`).
    pub parent_id: Option<String>,
    /// What it stands for: `invoke`, `actor.action`, `call actor.action`, `HTTP GET`, ...
    pub name: Cow<'static, str>,
    /// The actor instance it ran or called, if any.
    pub instance: Option<String>,
    /// When it started, in Unix microseconds.
    pub start_us: u64,
    /// How long it took, in microseconds.
    pub duration_us: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl SpanRecord {
    /// What is left of a span once it is kept.
    pub(super) fn ended() -> SpanRecord {
        SpanRecord {
            span_id: String::new(),
            parent_id: None,
            name: Cow::Borrowed(""),
            instance: None,
            start_us: 0,
            duration_us: 0,
            error: None,
        }
    }
}

/// One request's spans, as kept.
#[derive(Clone, Debug, Serialize)]
pub struct TraceRecord {
    /// The trace id, in hex.
    pub trace_id: String,
    /// Its spans, in the order they ended.
    pub spans: Vec<SpanRecord>,
    /// Spans past [`SPANS_PER_TRACE`], left out.
    pub omitted: usize,
}

/// The ring of recent traces.
pub struct RecentRequests {
    traces: Mutex<LruCache<TraceId, TraceRecord>>,
}

impl Default for RecentRequests {
    fn default() -> Self {
        RecentRequests { traces: Mutex::new(LruCache::new(NonZeroUsize::new(TRACES).expect("non-zero"))) }
    }
}

impl RecentRequests {
    /// Keeps `span` of trace `trace`.
    pub fn record(&self, trace: TraceId, span: SpanRecord) {
        let mut traces = self.traces.lock().unwrap();
        let record = traces.get_or_insert_mut(trace, || TraceRecord {
            trace_id: trace.to_string(),
            spans: Vec::new(),
            omitted: 0,
        });
        if record.spans.len() < SPANS_PER_TRACE {
            record.spans.push(span);
        } else {
            record.omitted += 1;
        }
    }

    /// The traces kept, the most recently active first; only those with a span of
    /// `instance` if one is named.
    pub fn traces(&self, instance: Option<&str>) -> Vec<TraceRecord> {
        let traces = self.traces.lock().unwrap();
        traces
            .iter()
            .map(|(_, record)| record)
            .filter(|record| {
                instance
                    .is_none_or(|instance| record.spans.iter().any(|span| span.instance.as_deref() == Some(instance)))
            })
            .cloned()
            .collect()
    }

    /// Trace `trace`, if it is kept.
    pub fn trace(&self, trace: &str) -> Option<TraceRecord> {
        let traces = self.traces.lock().unwrap();
        traces.iter().map(|(_, record)| record).find(|record| record.trace_id == trace).cloned()
    }
}

/// `time` in Unix microseconds.
pub(super) fn unix_us(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros() as u64)
}

/// A span's id in hex, for the console.
pub(super) fn span_hex(span: SpanId) -> String {
    span.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &'static str, instance: &str) -> SpanRecord {
        SpanRecord {
            span_id: span_hex(SpanId::random()),
            parent_id: None,
            name: name.into(),
            instance: Some(instance.into()),
            start_us: 0,
            duration_us: 1,
            error: None,
        }
    }

    #[test]
    fn the_ring_keeps_the_latest_traces_and_bounds_each_one() {
        let recent = RecentRequests::default();
        let first = TraceId::random();
        recent.record(first, span("invoke", "a"));
        for _ in 0..TRACES {
            recent.record(TraceId::random(), span("invoke", "b"));
        }
        assert!(recent.trace(&first.to_string()).is_none(), "the oldest trace went");
        assert_eq!(recent.traces(None).len(), TRACES);
        assert!(recent.traces(Some("a")).is_empty());
        let busy = TraceId::random();
        for _ in 0..SPANS_PER_TRACE + 5 {
            recent.record(busy, span("x.y", "c"));
        }
        let kept = recent.trace(&busy.to_string()).unwrap();
        assert_eq!((kept.spans.len(), kept.omitted), (SPANS_PER_TRACE, 5));
        assert_eq!(recent.traces(Some("c"))[0].trace_id, busy.to_string(), "the most recent first");
    }
}
