//! Retry policies for `run` side effects.

use std::time::Duration;

use restate_sdk_shared_core::{OnMaxAttempts, RetryPolicy};

/// How a failing `run` is retried: exponential backoff, optionally bounded by attempts or
/// total duration. Once a bound is reached, the `run` fails with a [`TerminalError`] carrying
/// the last error's message.
///
/// ```
/// use std::time::Duration;
/// use restate_runtime::RunRetryPolicy;
///
/// let policy = RunRetryPolicy::exponential(Duration::from_millis(10), 2.0)
///     .max_interval(Duration::from_secs(1))
///     .max_attempts(5);
/// ```
///
/// [`TerminalError`]: crate::TerminalError
#[derive(Debug, Clone, PartialEq)]
pub struct RunRetryPolicy {
    initial_interval: Duration,
    factor: f32,
    max_interval: Option<Duration>,
    max_attempts: Option<u32>,
    max_duration: Option<Duration>,
}

impl RunRetryPolicy {
    /// Waits `initial_interval` before the first retry, then multiplies the wait by `factor`.
    pub fn exponential(initial_interval: Duration, factor: f32) -> Self {
        Self {
            initial_interval,
            factor,
            max_interval: None,
            max_attempts: None,
            max_duration: None,
        }
    }

    /// Retries at a fixed `interval`.
    pub fn fixed(interval: Duration) -> Self {
        Self::exponential(interval, 1.0)
    }

    /// Caps the wait between attempts.
    pub fn max_interval(mut self, max_interval: Duration) -> Self {
        self.max_interval = Some(max_interval);
        self
    }

    /// Gives up after this many attempts (the first one included).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// Gives up once the attempts have taken this long in total.
    pub fn max_duration(mut self, max_duration: Duration) -> Self {
        self.max_duration = Some(max_duration);
        self
    }

    pub(crate) fn to_core(&self) -> RetryPolicy {
        RetryPolicy::exponential(
            self.initial_interval,
            self.factor,
            self.max_attempts,
            self.max_interval,
            self.max_duration,
            OnMaxAttempts::FailAsTerminal,
        )
    }
}
