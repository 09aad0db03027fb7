//! [`ReplayFilter`]: drops the events a handler logs while it replays its journal.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use super::REPLAYING_FIELD;

/// A per-layer filter that drops events emitted inside an invocation span while its handler
/// replays journaled steps (the span's `restate.replaying` field is `true`): those events
/// repeat what an earlier attempt already logged. Spans, events outside invocations, and the
/// runtime's own events (targets `restate_runtime::*`, such as an attempt failing) pass.
///
/// The filter reads the `restate_runtime::invocation` span (level INFO): the layer must enable
/// it, or nothing is dropped (a subscriber filtered to `warn` disables it; add the directive
/// `restate_runtime::invocation=info`). Events of a task the handler spawned are inside the
/// invocation span only if the task is instrumented with it (`.in_current_span()`).
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

    fn max_level_hint(&self) -> Option<LevelFilter> {
        // Filters nothing by level: combined with a level filter, that one's hint stands.
        Some(LevelFilter::TRACE)
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        // The runtime's own events (an attempt failing during replay, say) are not repeats.
        if event.metadata().target().starts_with("restate_runtime") {
            return true;
        }
        let Some(scope) = cx.event_scope(event) else {
            return true;
        };
        // The innermost span that knows: an invocation span, or one inside it.
        for span in scope {
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
