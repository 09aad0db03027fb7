//! What an invocation tells operators: a `tracing` span per attempt, and a filter that drops
//! log events emitted while a handler replays its journal.
//!
//! Every attempt runs inside a span named `invocation` (level INFO, target
//! `restate_runtime::invocation`) with the fields
//!
//! | field | value |
//! |---|---|
//! | `service`, `handler` | what is invoked |
//! | `key` | the object or workflow key (empty for services) |
//! | `invocation.id` | Restate's invocation id, e.g. `inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz` |
//! | `attempt` | 1 for the first attempt since the journal last grew, 2 for its first retry, ...; as Restate reports it, which may restart from 1 after Restate itself restarts |
//! | `restate.replaying` | `true` while the handler re-runs steps its journal already holds |
//!
//! so every event a handler logs carries them. While a handler replays, the events it logs
//! repeat those of an earlier attempt; [`ReplayFilter`] drops them. `Endpoint::serve_from_env`
//! installs it (set `RESTATE_LOG_REPLAYED=true` to keep those events); a program with its own
//! subscriber adds it to its layers.
//!
//! With the feature `opentelemetry`, the invocation span continues the W3C trace the attempt
//! arrives in, and requests made from handlers or the ingress client carry it on; see the
//! README's "Traces" section for what restate-server hands the endpoint.
//!
//! With the feature `metrics`, attempts and invocations are counted through the
//! [`metrics`](https://docs.rs/metrics) facade, labelled by `service` and `handler`; install
//! any recorder (a Prometheus exporter, say) to collect them. The names are in
//! [`metric_names`]:
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `restate_invocations_started_total` | counter | invocations whose first attempt started |
//! | `restate_invocations_ended_total` | counter | invocations ended, by `outcome`: `success`, `terminal_error` |
//! | `restate_attempts_total` | counter | attempts: first runs, retries, resumptions |
//! | `restate_attempts_ended_total` | counter | attempts ended, by `outcome`: `completed`, `suspended`, `failed`, `aborted` |
//! | `restate_attempt_duration_seconds` | histogram | attempt durations, by `outcome` |
//! | `restate_suspensions_total` | counter | attempts that suspended |
//! | `restate_replayed_entries_total` | counter | journal entries replayed, the input not counted |

mod invocation_metrics;
#[cfg(feature = "tracing-subscriber")]
mod plain_fields;
#[cfg(feature = "tracing-subscriber")]
mod replay_filter;
mod start_message;
#[cfg(feature = "opentelemetry")]
mod trace_context;

pub use invocation_metrics::names as metric_names;
pub(crate) use invocation_metrics::{AttemptMetrics, AttemptOutcome};
#[cfg(feature = "tracing-subscriber")]
pub(crate) use plain_fields::PlainFields;
#[cfg(feature = "tracing-subscriber")]
pub use replay_filter::ReplayFilter;
#[cfg(feature = "tracing-subscriber")]
pub(crate) use replay_filter::ReplayLayer;
pub(crate) use start_message::StartPeek;

/// The trace context headers of an `/invoke` request (feature `opentelemetry`; nothing
/// without it), kept until the invocation's own headers are known.
#[derive(Debug, Default)]
pub(crate) struct InvokeTrace {
    #[cfg(feature = "opentelemetry")]
    headers: Vec<(String, String)>,
}

impl InvokeTrace {
    /// The trace context of the `/invoke` request with `headers`.
    #[cfg_attr(
        not(feature = "opentelemetry"),
        allow(unused_variables, clippy::ptr_arg)
    )]
    pub(crate) fn of(headers: &http::HeaderMap) -> Self {
        Self {
            #[cfg(feature = "opentelemetry")]
            headers: trace_context::trace_headers(
                headers
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
            ),
        }
    }

    /// Makes `span` continue the trace of the `/invoke` request, else that of the invocation's
    /// `headers`.
    #[cfg_attr(
        not(feature = "opentelemetry"),
        allow(unused_variables, clippy::ptr_arg)
    )]
    pub(crate) fn continue_on(&self, span: &tracing::Span, headers: &[(String, String)]) {
        #[cfg(feature = "opentelemetry")]
        {
            let incoming = trace_context::trace_headers(
                headers
                    .iter()
                    .map(|(name, value)| (name.as_str(), value.as_str())),
            );
            trace_context::continue_trace(span, [&self.headers, &incoming]);
        }
    }
}

/// Adds to the `headers` of a request made from a handler the trace context the invocation
/// came with (`invocation_headers`), unless they carry one (feature `opentelemetry`).
#[cfg_attr(
    not(feature = "opentelemetry"),
    allow(unused_variables, clippy::ptr_arg)
)]
pub(crate) fn pass_on_trace(
    headers: &mut Vec<(String, String)>,
    invocation_headers: &[(String, String)],
) {
    #[cfg(feature = "opentelemetry")]
    {
        let incoming = trace_context::trace_headers(
            invocation_headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        trace_context::pass_on(headers, &incoming);
    }
}

/// Adds the current span's trace context to the `headers` of an ingress request, unless they
/// carry one (feature `opentelemetry`).
#[cfg_attr(
    not(feature = "opentelemetry"),
    allow(unused_variables, clippy::ptr_arg)
)]
pub(crate) fn inject_trace(headers: &mut Vec<(String, String)>) {
    #[cfg(feature = "opentelemetry")]
    trace_context::inject_current(headers);
}

/// The target of the invocation span, for filter directives (`restate_runtime::invocation=info`).
pub const INVOCATION_TARGET: &str = "restate_runtime::invocation";

/// The name of the span field that says whether the handler is replaying.
pub const REPLAYING_FIELD: &str = "restate.replaying";

/// What the invocation span says about an attempt, all known once the handler starts, and the
/// span it belongs in (the one current when the endpoint received the request, if any).
#[derive(Debug)]
pub(crate) struct SpanFields<'a> {
    pub(crate) parent: &'a tracing::Span,
    pub(crate) service: &'a str,
    pub(crate) handler: &'a str,
    pub(crate) key: &'a str,
    pub(crate) invocation_id: &'a str,
    /// 0 when the start message did not say.
    pub(crate) attempt: u32,
    pub(crate) replaying: bool,
}

/// The span an attempt runs in, with every field set at once: a subscriber formats the fields
/// of a new span eagerly, and again on every later `record`, so the span is created only once
/// all of them are known, and afterwards only a change of `restate.replaying` is recorded.
pub(crate) fn invocation_span(fields: SpanFields<'_>) -> tracing::Span {
    tracing::info_span!(
        target: "restate_runtime::invocation",
        parent: fields.parent,
        "invocation",
        service = fields.service,
        handler = fields.handler,
        key = fields.key,
        invocation.id = fields.invocation_id,
        attempt = fields.attempt,
        restate.replaying = fields.replaying,
    )
}
