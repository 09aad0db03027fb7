//! When a schedule comes due: the next due time of a cron expression after a moment, in UTC
//! milliseconds since the Unix epoch.

use chrono::{DateTime, Utc};
use croner::Cron;

use crate::error::TerminalError;

/// A parsed cron expression.
#[derive(Debug, Clone)]
pub(crate) struct Expression(Cron);

impl Expression {
    /// Parses `text`; a terminal error (400) naming it when it does not parse.
    pub(crate) fn parse(text: &str) -> Result<Self, TerminalError> {
        text.parse::<Cron>().map(Self).map_err(|error| {
            TerminalError::new(400, format!("invalid cron expression {text:?}: {error}"))
        })
    }

    /// The first due time strictly after `after_millis`; `None` when there is none (an
    /// expression that never comes due again, or a time out of range).
    pub(crate) fn next_after(&self, after_millis: u64) -> Option<u64> {
        let after = DateTime::<Utc>::from_timestamp_millis(i64::try_from(after_millis).ok()?)?;
        let next = self.0.find_next_occurrence(&after, false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }
}

/// The next due time after a fire that was due at `due` and runs at `now`: the first due time
/// after both, so fires missed while nothing ran coalesce into the one running now.
pub(crate) fn next_due(expression: &Expression, due: u64, now: u64) -> Option<u64> {
    expression.next_after(due.max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:30:00Z.
    const HALF_PAST_MIDNIGHT: u64 = 1_767_227_400_000;
    const HOUR: u64 = 3_600_000;

    #[test]
    fn hourly_comes_due_on_the_hour_and_missed_hours_coalesce() {
        let hourly = Expression::parse("0 * * * *").unwrap();
        let one = HALF_PAST_MIDNIGHT + HOUR / 2;
        assert_eq!(hourly.next_after(HALF_PAST_MIDNIGHT), Some(one));
        // On time: the next hour.
        assert_eq!(next_due(&hourly, one, one + 5), Some(one + HOUR));
        // Three hours late: one fire now, then the next hour after now.
        assert_eq!(
            next_due(&hourly, one, one + 3 * HOUR + 60_000),
            Some(one + 4 * HOUR)
        );
    }

    #[test]
    fn seconds_are_a_sixth_field_and_nonsense_is_a_400() {
        let every_second = Expression::parse("* * * * * *").unwrap();
        assert_eq!(
            every_second.next_after(HALF_PAST_MIDNIGHT),
            Some(HALF_PAST_MIDNIGHT + 1000)
        );
        let error = Expression::parse("every hour").unwrap_err();
        assert_eq!(error.code(), 400);
        assert!(error.message().contains("every hour"), "{error}");
    }
}
