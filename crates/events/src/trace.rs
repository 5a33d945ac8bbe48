//! W3C `traceparent` on event messages, so a consumer's work joins the trace of the
//! request that caused the event. Producing it is `rentory_runtime::trace_context`'s job;
//! here it is parsed from NATS headers, which are not `http` headers.

use opentelemetry::Context;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Header carrying the W3C trace context on event messages.
pub(crate) const TRACEPARENT_HEADER: &str = "traceparent";

/// Parses `version-traceid-spanid-flags`; `None` for anything malformed or all-zero.
pub(crate) fn parse_traceparent(header: &str) -> Option<SpanContext> {
    let mut parts = header.trim().split('-');
    let (version, trace_id, span_id, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let well_formed = version.len() == 2
        && version != "ff"
        && trace_id.len() == 32
        && span_id.len() == 16
        && flags.len() == 2
        // Version 00 has exactly four fields; later versions may append more.
        && (version != "00" || parts.next().is_none());
    if !well_formed {
        return None;
    }
    let context = SpanContext::new(
        TraceId::from_hex(trace_id).ok()?,
        SpanId::from_hex(span_id).ok()?,
        TraceFlags::new(u8::from_str_radix(flags, 16).ok()?),
        true,
        TraceState::default(),
    );
    context.is_valid().then_some(context)
}

/// Makes `span` a child of the remote span in `traceparent`. Without an OpenTelemetry layer
/// this does nothing; the caller also records the raw header as a span field.
pub(crate) fn set_remote_parent(span: &tracing::Span, traceparent: Option<&str>) {
    if let Some(remote) = traceparent.and_then(parse_traceparent) {
        // Fails only when the span is disabled or already started: nothing to link then.
        let _ = span.set_parent(Context::new().with_remote_span_context(remote));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic
mod tests {
    use super::*;

    fn format_traceparent(span: &SpanContext) -> Option<String> {
        span.is_valid().then(|| {
            format!(
                "00-{}-{}-{:02x}",
                span.trace_id(),
                span.span_id(),
                span.trace_flags().to_u8()
            )
        })
    }

    const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn round_trips() {
        let parsed = parse_traceparent(HEADER).unwrap();
        assert!(parsed.is_remote());
        assert!(parsed.is_sampled());
        assert_eq!(format_traceparent(&parsed).as_deref(), Some(HEADER));
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-xyz92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }
}
