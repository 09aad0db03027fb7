//! [`ReplayFilter`]: drops the events a handler logs while it replays its journal.

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, Filter, Layer};
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

impl ReplayFilter {
    /// Whether `event` is not a repeat of an earlier attempt's.
    fn passes<S>(event: &Event<'_>, cx: &Context<'_, S>) -> bool
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
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

    /// Notes on span `id` whether it says the handler is replaying.
    fn note<S>(values: &impl RecordValues, id: &Id, cx: &Context<'_, S>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut visitor = ReplayingVisitor::default();
        values.record_into(&mut visitor);
        if let (Some(replaying), Some(span)) = (visitor.0, cx.span(id)) {
            span.extensions_mut().replace(Replaying(replaying));
        }
    }
}

/// The values of a new span or of a record.
trait RecordValues {
    fn record_into(&self, visitor: &mut dyn Visit);
}

impl RecordValues for Attributes<'_> {
    fn record_into(&self, visitor: &mut dyn Visit) {
        self.record(visitor);
    }
}

impl RecordValues for Record<'_> {
    fn record_into(&self, visitor: &mut dyn Visit) {
        self.record(visitor);
    }
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
        Self::passes(event, cx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        Self::note(attrs, id, &cx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        Self::note(values, id, &cx);
    }
}

/// The replay filter as a layer of its own, a global filter: an event it drops reaches no layer
/// above it. With one layer that logs (as the logger `serve_from_env` installs), it is cheaper
/// than a per-layer filter. It has no opinion on levels (no hint), so the level filters around
/// it decide those. (A type of its own: `ReplayFilter` implementing both `Filter` and `Layer`
/// would make their same-named methods ambiguous for users.)
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReplayLayer;

impl<S> Layer<S> for ReplayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn event_enabled(&self, event: &Event<'_>, cx: Context<'_, S>) -> bool {
        ReplayFilter::passes(event, &cx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        ReplayFilter::note(attrs, id, &cx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        ReplayFilter::note(values, id, &cx);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::prelude::*;

    use super::*;

    /// Keeps the messages of the events that reach it.
    #[derive(Clone, Default)]
    struct Messages(Arc<Mutex<Vec<String>>>);

    impl<S: Subscriber> Layer<S> for Messages {
        fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
            struct Message(String);
            impl Visit for Message {
                fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
                    if field.name() == "message" {
                        self.0 = format!("{value:?}");
                    }
                }
            }
            let mut message = Message(String::new());
            event.record(&mut message);
            self.0.lock().unwrap().push(message.0);
        }
    }

    /// Logs inside an invocation span that replays, then stops replaying.
    fn log_an_attempt() {
        let span = tracing::info_span!(
            target: "restate_runtime::invocation",
            "invocation",
            restate.replaying = true
        );
        let _entered = span.enter();
        // A handler's events: another crate's target.
        tracing::info!(target: "handler", "replayed");
        tracing::info!(target: "restate_runtime::endpoint", "the runtime's own");
        span.record(REPLAYING_FIELD, false);
        tracing::info!(target: "handler", "new");
    }

    #[test]
    fn as_a_layer_it_drops_replayed_events_for_the_layers_above() {
        let messages = Messages::default();
        let subscriber = tracing_subscriber::registry()
            .with(ReplayLayer)
            .with(messages.clone());
        tracing::subscriber::with_default(subscriber, log_an_attempt);
        assert_eq!(*messages.0.lock().unwrap(), ["the runtime's own", "new"]);
    }

    #[test]
    fn as_a_filter_it_drops_replayed_events_for_its_layer() {
        let (filtered, everything) = (Messages::default(), Messages::default());
        let subscriber = tracing_subscriber::registry()
            .with(filtered.clone().with_filter(ReplayFilter::new()))
            .with(everything.clone());
        tracing::subscriber::with_default(subscriber, log_an_attempt);
        assert_eq!(*filtered.0.lock().unwrap(), ["the runtime's own", "new"]);
        assert_eq!(everything.0.lock().unwrap().len(), 3);
    }
}
