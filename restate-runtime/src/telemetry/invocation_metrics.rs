//! Counters and a histogram of attempts and invocations, through the `metrics` facade (feature
//! `metrics`); without the feature, every call here compiles to nothing.

#[cfg(feature = "metrics")]
use std::time::Instant;

use super::start_message::StartInfo;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// The handler returned: the invocation ended with its output.
    Success,
    /// The handler failed terminally: the invocation ended with the failure.
    TerminalError,
    /// The attempt suspended; Restate resumes the invocation when what it waits for completes.
    Suspended,
    /// The handler failed with a retryable error or panicked, or the protocol failed: Restate
    /// retries the invocation.
    Failed,
    /// The connection went away before the attempt ended.
    Aborted,
}

#[cfg(feature = "metrics")]
impl AttemptOutcome {
    fn label(self) -> &'static str {
        match self {
            AttemptOutcome::Success | AttemptOutcome::TerminalError => "completed",
            AttemptOutcome::Suspended => "suspended",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Aborted => "aborted",
        }
    }
}

/// The metrics of one attempt, reported as it starts, learns its journal, and ends.
#[derive(Debug)]
pub(crate) struct AttemptMetrics {
    #[cfg(feature = "metrics")]
    labels: [(&'static str, &'static str); 2],
    #[cfg(feature = "metrics")]
    started: Instant,
}

impl AttemptMetrics {
    /// Counts an attempt of `service`/`handler`.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn start(service: &'static str, handler: &'static str) -> Self {
        #[cfg(feature = "metrics")]
        {
            let labels = [("service", service), ("handler", handler)];
            metrics::counter!(names::ATTEMPTS, &labels).increment(1);
            Self {
                labels,
                started: Instant::now(),
            }
        }
        #[cfg(not(feature = "metrics"))]
        Self {}
    }

    /// Counts the invocation as started if this attempt starts it, and the entries it replays.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn journal(&self, info: StartInfo) {
        #[cfg(feature = "metrics")]
        {
            if info.starts_invocation() {
                metrics::counter!(names::INVOCATIONS_STARTED, &self.labels).increment(1);
            }
            metrics::counter!(names::REPLAYED_ENTRIES, &self.labels)
                .increment(u64::from(info.replayed_entries()));
        }
    }

    /// Reports how the attempt ended, and the invocation's end if it did.
    #[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
    pub(crate) fn end(&self, outcome: AttemptOutcome) {
        #[cfg(feature = "metrics")]
        {
            let [service, handler] = self.labels;
            let labels = [service, handler, ("outcome", outcome.label())];
            metrics::counter!(names::ATTEMPTS_ENDED, &labels).increment(1);
            metrics::histogram!(names::ATTEMPT_DURATION, &labels)
                .record(self.started.elapsed().as_secs_f64());
            let invocation_outcome = match outcome {
                AttemptOutcome::Success => Some("success"),
                AttemptOutcome::TerminalError => Some("terminal_error"),
                _ => None,
            };
            if let Some(ended) = invocation_outcome {
                let labels = [service, handler, ("outcome", ended)];
                metrics::counter!(names::INVOCATIONS_ENDED, &labels).increment(1);
            }
            if outcome == AttemptOutcome::Suspended {
                metrics::counter!(names::SUSPENSIONS, &self.labels).increment(1);
            }
        }
    }
}

/// The metric names, as a recorder sees them.
pub mod names {
    /// Counter: invocations whose first attempt started here. Labels `service`, `handler`.
    ///
    /// Read from the attempt's start message: a first attempt lost before Restate recorded
    /// anything makes the retry look like no start, and an invocation whose retry count
    /// Restate reset (after restarting) may be counted twice.
    pub const INVOCATIONS_STARTED: &str = "restate_invocations_started_total";
    /// Counter: invocations that ended here with their output. Labels `service`, `handler`,
    /// `outcome` (`success` or `terminal_error`).
    pub const INVOCATIONS_ENDED: &str = "restate_invocations_ended_total";
    /// Counter: attempts started (first runs, retries and resumptions after a suspension).
    /// Labels `service`, `handler`.
    pub const ATTEMPTS: &str = "restate_attempts_total";
    /// Counter: attempts ended. Labels `service`, `handler`, `outcome`: `completed` (the
    /// invocation ended), `suspended`, `failed` (Restate retries) or `aborted` (the connection
    /// went away).
    pub const ATTEMPTS_ENDED: &str = "restate_attempts_ended_total";
    /// Histogram: how long attempts took, in seconds, from request to response end. Labels as
    /// for [`ATTEMPTS_ENDED`].
    pub const ATTEMPT_DURATION: &str = "restate_attempt_duration_seconds";
    /// Counter: attempts that suspended. Labels `service`, `handler`.
    pub const SUSPENSIONS: &str = "restate_suspensions_total";
    /// Counter: journal entries replayed by attempts (the input not counted). Labels
    /// `service`, `handler`.
    pub const REPLAYED_ENTRIES: &str = "restate_replayed_entries_total";
}
