//! [`ReplayFilter`]: drops the events a handler logs while it replays its journal.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use super::REPLAYING_FIELD;

/// A per-layer filter that drops events emitted inside an invocation span while its handler
/// replays journaled steps (the span's `restate.replaying` field is `true`): those events
/// repeat what an earlier attempt already logged. Spans, and events outside invocations, pass.
///
/// [`Endpoint::serve_from_env`](crate::Endpoint::serve_from_env) installs it. With a
/// subscriber of your own, add it to a layer:
///
/// ```
/// use restate_runtime::telemetry::ReplayFilter;
/// use tracing_subscriber::prelude::*;
///
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(ReplayFilter::new()))
///     .init();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayFilter {
    _private: (),
}

impl ReplayFilter {
    /// The filter.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Kept in the extensions of every span that has the replaying field.
#[derive(Debug, Clone, Copy)]
struct Replaying(bool);

/// Finds the replaying field among a span's values.
#[derive(Default)]
struct ReplayingVisitor(Option<bool>);

impl Visit for ReplayingVisitor {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == REPLAYING_FIELD {
            self.0 = Some(value);
        }
    }

    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S> Filter<S> for ReplayFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, _event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        let Some(span) = cx.lookup_current() else {
            return true;
        };
        // The innermost span that knows: an invocation span, or one inside it.
        for span in span.scope() {
            if let Some(Replaying(replaying)) = span.extensions().get::<Replaying>() {
                return !replaying;
            }
        }
        true
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        let mut visitor = ReplayingVisitor::default();
        attrs.record(&mut visitor);
        if let (Some(replaying), Some(span)) = (visitor.0, cx.span(id)) {
            span.extensions_mut().replace(Replaying(replaying));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        let mut visitor = ReplayingVisitor::default();
        values.record(&mut visitor);
        if let (Some(replaying), Some(span)) = (visitor.0, cx.span(id)) {
            span.extensions_mut().replace(Replaying(replaying));
        }
    }
}
