//! W3C trace context: which trace a call belongs to and which span caused it, read from
//! and written as the `traceparent` / `tracestate` headers (and metadata entries).
//!
//! A request that arrives without a valid `traceparent` starts a trace of its own, so that
//! every turn belongs to one and the console can group them; whether its spans are
//! exported is the `sampled` flag, decided where the trace starts.

use std::fmt;
use std::sync::Arc;

/// The header (and metadata key) carrying the trace and the parent span.
pub const TRACEPARENT: &str = "traceparent";
/// The header (and metadata key) carrying vendors' trace state, passed on unchanged.
pub const TRACESTATE: &str = "tracestate";

/// A trace id: 16 bytes, never all zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub [u8; 16]);

/// A span id: 8 bytes, never all zero.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A random trace id.
    pub fn random() -> TraceId {
        TraceId(nonzero(|| fastrand::u128(..)).to_be_bytes())
    }

    /// The id written as 32 lowercase hexadecimal digits, if `text` is one (all zeros is
    /// not a valid id).
    pub fn from_hex(text: &str) -> Option<TraceId> {
        let id = TraceId(u128::from_str_radix(hex(text, 32)?, 16).ok()?.to_be_bytes());
        (id.0 != [0; 16]).then_some(id)
    }
}

impl SpanId {
    /// A random span id.
    pub fn random() -> SpanId {
        SpanId(nonzero(|| fastrand::u64(..)).to_be_bytes())
    }

    /// The id written as 16 lowercase hexadecimal digits, if `text` is one (all zeros is
    /// not a valid id).
    pub fn from_hex(text: &str) -> Option<SpanId> {
        let id = SpanId(u64::from_str_radix(hex(text, 16)?, 16).ok()?.to_be_bytes());
        (id.0 != [0; 8]).then_some(id)
    }
}

fn nonzero<T: PartialEq + Default>(draw: impl Fn() -> T) -> T {
    loop {
        let value = draw();
        if value != T::default() {
            return value;
        }
    }
}

/// `bytes` in lowercase hexadecimal, into `out` (twice as long).
fn encode_hex<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    std::str::from_utf8(out).expect("hex digits are ASCII")
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(encode_hex(&self.0, &mut [0; 32]))
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(encode_hex(&self.0, &mut [0; 16]))
    }
}

impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Whether the console's ring keeps a trace: decided where the trace enters this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Not decided yet: the trace comes from outside (or starts here).
    Undecided,
    /// Its spans are kept.
    Yes,
    /// Its spans are not kept.
    No,
}

/// Where a call stands in its trace: the trace, the span that caused the call (the parent
/// of the spans the call makes), whether the trace is sampled, and the vendors' state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace.
    pub trace_id: TraceId,
    /// The current span: the parent of what is done next on behalf of this call.
    pub span_id: SpanId,
    /// Whether the trace's spans are exported.
    pub sampled: bool,
    /// `tracestate`, passed on as received.
    pub state: Option<Arc<str>>,
    /// Whether the console keeps the trace's spans.
    pub keep: Keep,
}

impl TraceContext {
    /// The context of a trace that starts here, before its first span: a span opened under
    /// it is the trace's root (see [`TraceContext::has_span`]).
    pub fn root(sampled: bool) -> TraceContext {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId([0; 8]),
            sampled,
            state: None,
            keep: Keep::Undecided,
        }
    }

    /// Whether it names a span (a parent for the next one); not so for a [`TraceContext::root`].
    pub fn has_span(&self) -> bool {
        self.span_id.0 != [0; 8]
    }

    /// The same trace, with `span` as the current span.
    pub fn with_span(&self, span: SpanId) -> TraceContext {
        TraceContext { span_id: span, ..self.clone() }
    }

    /// Parses a `traceparent` value (version `00`, or a later version's first four fields,
    /// as the spec asks) and its `tracestate`; `None` if it is not a valid one.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceContext> {
        let value = traceparent.trim();
        let mut fields = value.split('-');
        let version = fields.next()?;
        let (trace, span, flags) = (fields.next()?, fields.next()?, fields.next()?);
        let version = u8::from_str_radix(hex(version, 2)?, 16).ok()?;
        if version == 0xff || (version == 0 && fields.next().is_some()) {
            return None;
        }
        let (trace_id, span_id) = (TraceId::from_hex(trace)?, SpanId::from_hex(span)?);
        let flags = u8::from_str_radix(hex(flags, 2)?, 16).ok()?;
        let state = tracestate.map(str::trim).filter(|state| !state.is_empty() && state.len() <= 512);
        Some(TraceContext {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            state: state.map(Arc::from),
            keep: Keep::Undecided,
        })
    }

    /// The context carried by `metadata` (its `traceparent` and `tracestate` entries), if
    /// it carries a valid one.
    pub fn from_metadata<'a>(mut get: impl FnMut(&str) -> Option<&'a str>) -> Option<TraceContext> {
        let parent = get(TRACEPARENT)?;
        TraceContext::parse(parent, get(TRACESTATE))
    }

    /// The `traceparent` value naming the current span.
    pub fn traceparent(&self) -> String {
        let mut value = String::with_capacity(55);
        value.push_str("00-");
        value.push_str(encode_hex(&self.trace_id.0, &mut [0; 32]));
        value.push('-');
        value.push_str(encode_hex(&self.span_id.0, &mut [0; 16]));
        value.push_str(if self.sampled { "-01" } else { "-00" });
        value
    }
}

/// `field` if it is exactly `len` lowercase hexadecimal digits.
fn hex(field: &str, len: usize) -> Option<&str> {
    (field.len() == len && field.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))).then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_round_trips_with_its_state() {
        let context = TraceContext::parse(VALID, Some("rojo=00f067aa0ba902b7")).unwrap();
        assert_eq!(context.trace_id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id.to_string(), "00f067aa0ba902b7");
        assert!(context.sampled);
        assert_eq!(context.state.as_deref(), Some("rojo=00f067aa0ba902b7"));
        assert_eq!(context.traceparent(), VALID);
        let unsampled = TraceContext::parse(&VALID.replace("-01", "-00"), None).unwrap();
        assert!(!unsampled.sampled);
    }

    #[test]
    fn invalid_traceparents_are_refused() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "{bad:?} accepted");
        }
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
        assert!(TraceContext::parse(later, None).is_some(), "a later version's extra fields are ignored");
    }

    #[test]
    fn a_child_keeps_the_trace_and_names_its_own_span() {
        let root = TraceContext::root(true);
        assert!(!root.has_span(), "a trace that starts here has no span yet");
        let span = SpanId::random();
        let child = root.with_span(span);
        assert_eq!((child.trace_id, child.span_id, child.sampled), (root.trace_id, span, true));
        assert_ne!(TraceId::random(), TraceId::random());
    }
}
