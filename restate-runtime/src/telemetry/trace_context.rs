//! W3C trace context (feature `opentelemetry`): the invocation span continues the trace the
//! attempt arrives in, and requests made from a handler or an ingress client carry it on.
//!
//! Where the context comes from, in order:
//!
//! 1. the `/invoke` request's `traceparent`, which restate-server sends when its own tracing
//!    is on (`RESTATE_TRACING_ENDPOINT`): the invocation span is then a child of Restate's
//!    span for the attempt, and Restate links calls between services itself;
//! 2. the invocation's headers: the `traceparent` a client sent to the ingress, or that a
//!    calling handler passed on. Restate forwards them untouched whether its tracing is on or
//!    off.
//!
//! A call or send made from a handler carries the invocation's incoming `traceparent` and
//! `tracestate` headers (those of point 2), unless it sets its own: they are part of the
//! journaled command, so they must be the same on every attempt, which the attempt's own span
//! is not. The callee's span is then a sibling of the caller's in the same trace.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace context headers.
const TRACE_HEADERS: [&str; 2] = ["traceparent", "tracestate"];

/// The trace context headers among `headers`, with their values.
pub(crate) fn trace_headers<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter(|(name, _)| TRACE_HEADERS.iter().any(|t| name.eq_ignore_ascii_case(t)))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect()
}

/// Header pairs as the propagator reads and writes them.
struct Pairs<'a>(&'a mut Vec<(String, String)>);

impl Extractor for Pairs<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(name, _)| name.as_str()).collect()
    }
}

impl Injector for Pairs<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_owned(), value));
    }
}

/// Makes `span` a child of the first of `candidates` that holds a valid trace context. Does
/// nothing without an OpenTelemetry layer, or once the span has started.
pub(crate) fn continue_trace(span: &tracing::Span, candidates: [&[(String, String)]; 2]) {
    if span.is_disabled() {
        return;
    }
    let propagator = TraceContextPropagator::new();
    for candidate in candidates {
        let mut headers = candidate.to_vec();
        let parent = propagator.extract(&Pairs(&mut headers));
        if parent.span().span_context().is_valid() {
            let _ = span.set_parent(parent);
            return;
        }
    }
}

/// Adds the trace context of `span` (the current span, for ingress requests) to `headers`
/// unless they carry one already.
pub(crate) fn inject_current(headers: &mut Vec<(String, String)>) {
    if has_trace_context(headers) {
        return;
    }
    let context = tracing::Span::current().context();
    if context.span().span_context().is_valid() {
        TraceContextPropagator::new().inject_context(&context, &mut Pairs(headers));
    }
}

/// Adds `incoming` (an invocation's trace context headers) to `headers` unless they carry a
/// trace context already.
pub(crate) fn pass_on(headers: &mut Vec<(String, String)>, incoming: &[(String, String)]) {
    if !has_trace_context(headers) {
        headers.extend(incoming.iter().cloned());
    }
}

fn has_trace_context(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("traceparent"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn picks_the_trace_headers() {
        let headers = trace_headers([
            ("TraceParent", PARENT),
            ("content-type", "application/json"),
            ("tracestate", "vendor=abc"),
        ]);
        assert_eq!(
            headers,
            [
                ("traceparent".to_owned(), PARENT.to_owned()),
                ("tracestate".to_owned(), "vendor=abc".to_owned())
            ]
        );
    }

    #[test]
    fn passes_on_unless_a_context_is_set() {
        let incoming = trace_headers([("traceparent", PARENT)]);
        let mut headers = vec![("x-other".to_owned(), "1".to_owned())];
        pass_on(&mut headers, &incoming);
        assert_eq!(headers.len(), 2);
        let own = "00-11111111111111111111111111111111-2222222222222222-01";
        let mut headers = vec![("traceparent".to_owned(), own.to_owned())];
        pass_on(&mut headers, &incoming);
        assert_eq!(headers, [("traceparent".to_owned(), own.to_owned())]);
    }

    #[test]
    fn nothing_is_injected_outside_a_trace() {
        let mut headers = Vec::new();
        inject_current(&mut headers);
        assert!(headers.is_empty());
    }
}
