//! The replay check: will a new build replay the invocations in flight?
//!
//! Invocations outlive deploys. Restate pins each one to the deployment it started on, but
//! moving invocations to new code (resuming them on the latest deployment, restarting them as
//! new, replacing the code behind a deployment in place) hands their journals to the new build,
//! and code that does not replay a journal fails every attempt with a journal mismatch (VM code
//! 570).
//!
//! The check answers before the deploy:
//!
//! 1. [`export`] records invocations from a running restate-server through its admin SQL API:
//!    journal, state, pinned protocol version. [`write_recorded`] keeps them in a file (JSON
//!    Lines, see [`record`](self#the-file)) so CI can check them without the server.
//! 2. [`ReplayCheck`] replays each against an [`Endpoint`](crate::Endpoint) of the new build,
//!    through the real protocol state machine, with the recorded invocation id, random seed and
//!    state, and stops where the journal ends, before any new side effect: a [`Verdict`] each,
//!    and a [`Report`] that prints as a table.
//!
//! ```no_run
//! # async fn example(endpoint: restate_runtime::Endpoint) -> Result<(), restate_runtime::replay::ReplayError> {
//! use restate_runtime::replay::{ReplayCheck, read_recorded};
//!
//! let file = std::io::BufReader::new(std::fs::File::open("in-flight.jsonl").map_err(|e| {
//!     restate_runtime::replay::ReplayError::File(e.to_string())
//! })?);
//! let report = ReplayCheck::new(endpoint).check_all(&read_recorded(file)?).await;
//! assert!(report.passed(), "{report}");
//! # Ok(())
//! # }
//! ```
//!
//! # The file
//!
//! One recorded invocation per line, as [`RecordedInvocation`] documents; the format is
//! versioned (`"format": 1`) and later versions of this crate read it.
//!
//! # Limits
//!
//! - Journals of service protocol versions 5 and 6 ([`PROTOCOL_VERSIONS`]; restate-server 1.7
//!   pins 6) in the journal format of Restate 1.6 and later; others are reported as skipped, not
//!   as compatible ([`Report::all_replayed`] fails on them, [`Report::passed`] does not).
//! - `ctx.rand` and UUIDs replay exactly when the server derives the seed from the invocation id,
//!   its default; a server with the experimental `unique_random_seeds` stores a seed no admin
//!   table shows, and values drawn from it then replay as mismatches.
//! - Code outside `run` closures (logging, reading a clock) runs during the replay, as in any
//!   attempt.

mod check;
mod export;
mod invocation_id;
mod record;

pub use check::{
    CheckedInvocation, Mismatch, PROTOCOL_VERSIONS, ReplayCheck, ReplayEnd, Report, Verdict,
};
pub use export::{Selection, export};
pub use record::{
    FORMAT_VERSION, RecordedEntry, RecordedInvocation, RecordedState, read_recorded, write_recorded,
};

/// Why recording or reading invocations failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The admin API could not be reached or answered something unexpected.
    #[error("admin API: {0}")]
    Admin(String),
    /// A recorded-invocations file could not be read or written.
    #[error("recorded invocations: {0}")]
    File(String),
}
