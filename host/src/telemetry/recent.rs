//! The last few hundred requests' spans, in memory, for the console's requests view: no
//! collector needed to see where a request went.
//!
//! Bounded three times: at most [`KEPT_PER_SECOND`] new traces a second are kept (all of
//! them below that rate; a sample of them above it, decided where each trace enters the
//! host, so that a busy host spends nothing on the others), [`TRACES`] traces (the least
//! recently active goes first), and [`SPANS_PER_TRACE`] spans each (a trace past it counts
//! what it left out). Recording a kept span is one lock and one push.

use std::borrow::Cow;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use lru::LruCache;
use serde::{Serialize, Serializer};

use super::context::{SpanId, TraceId};

/// Traces kept.
pub const TRACES: usize = 300;
/// Spans kept per trace.
pub const SPANS_PER_TRACE: usize = 200;
/// New traces kept per second, at most.
pub const KEPT_PER_SECOND: u32 = 100;

/// One finished span as the console shows it.
#[derive(Clone, Debug, Serialize)]
pub struct SpanRecord {
    /// The span's id (in hex in JSON).
    #[serde(serialize_with = "hex")]
    pub span_id: SpanId,
    /// Its parent's id (the caller's span for a request's root, or `None`).
    #[serde(serialize_with = "hex_option")]
    pub parent_id: Option<SpanId>,
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

fn hex<S: Serializer>(span: &SpanId, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(span)
}

fn hex_option<S: Serializer>(span: &Option<SpanId>, serializer: S) -> Result<S::Ok, S::Error> {
    match span {
        Some(span) => serializer.collect_str(span),
        None => serializer.serialize_none(),
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
    /// The current second (since the Unix epoch) in the high half, the traces kept in it in
    /// the low half.
    admitted: AtomicU64,
}

impl Default for RecentRequests {
    fn default() -> Self {
        let traces = Mutex::new(LruCache::new(NonZeroUsize::new(TRACES).expect("non-zero")));
        RecentRequests { traces, admitted: AtomicU64::new(0) }
    }
}

impl RecentRequests {
    /// Whether a trace entering the host now is kept: the first [`KEPT_PER_SECOND`] of
    /// each second are.
    pub fn admit(&self) -> bool {
        let second = unix_us(SystemTime::now()) / 1_000_000;
        self.admitted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |packed| {
                let count = if packed >> 32 == second { packed as u32 } else { 0 };
                (count < KEPT_PER_SECOND).then_some((second << 32) | u64::from(count + 1))
            })
            .is_ok()
    }

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

    /// Trace `trace` (its id in hex), if it is kept.
    pub fn trace(&self, trace: &str) -> Option<TraceRecord> {
        let trace = TraceId::from_hex(trace)?;
        self.traces.lock().unwrap().peek(&trace).cloned()
    }
}

/// `time` in Unix microseconds.
pub(super) fn unix_us(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| since.as_micros() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(name: &'static str, instance: &str) -> SpanRecord {
        SpanRecord {
            span_id: SpanId::random(),
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
        let json = serde_json::to_value(&kept.spans[0]).unwrap();
        assert_eq!(json["span_id"].as_str().unwrap().len(), 16, "ids in hex: {json}");
        assert!(json["parent_id"].is_null());
    }

    #[test]
    fn at_most_so_many_new_traces_a_second_are_kept() {
        let recent = RecentRequests::default();
        let admitted = (0..KEPT_PER_SECOND * 3).filter(|_| recent.admit()).count() as u32;
        // The burst may straddle a second's turn, at most once.
        assert!((KEPT_PER_SECOND..=KEPT_PER_SECOND * 2).contains(&admitted), "{admitted}");
    }
}
