//! Replaying recorded invocations against an endpoint, as Restate's next attempt would, and
//! stopping where the recorded journal ends.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};

use super::ReplayError;
use super::invocation_id;
use super::record::RecordedInvocation;
use crate::Endpoint;
use crate::engine::wire::{self, ErrorMessage, Frame, StartMessage, StateEntry, ty};

/// The service protocol versions whose recorded journals the check replays.
pub const PROTOCOL_VERSIONS: std::ops::RangeInclusive<u32> = 5..=6;

/// How long one replay may take before it counts as failed (a handler waiting on something
/// outside Restate, say).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The VM's code for a journal mismatch.
const JOURNAL_MISMATCH: u32 = 570;

/// Replays recorded invocations against an [`Endpoint`] (the new build), one attempt each
/// through the real protocol state machine, with the recorded invocation id, random seed and
/// state. The attempt stops where the recorded journal ends: a `run` whose result the journal
/// does not hold ends it instead of executing, and whatever the new code sends or writes past
/// the end goes nowhere.
///
/// ```no_run
/// # async fn example(endpoint: restate_runtime::Endpoint) -> Result<(), restate_runtime::replay::ReplayError> {
/// use restate_runtime::replay::{ReplayCheck, Selection, export};
///
/// let recorded = export("http://localhost:9070", &Selection::in_flight()).await?;
/// let report = ReplayCheck::new(endpoint).check_all(&recorded).await;
/// print!("{report}");
/// assert!(report.passed(), "the new build does not replay what is in flight");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReplayCheck {
    endpoint: Endpoint,
    timeout: Duration,
}

/// What the replay of one recorded invocation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The new code replays the whole recorded journal.
    Compatible {
        /// How the replay ended once past the journal.
        ended: ReplayEnd,
    },
    /// The new code does something other than what the journal recorded: Restate would fail
    /// every attempt of this invocation.
    Mismatch(Mismatch),
    /// The replay failed for another reason (the handler failed, the new build lacks the
    /// handler, ...).
    Failed {
        /// What happened.
        reason: String,
    },
    /// The check cannot replay this invocation; it says nothing about compatibility (it passes
    /// [`Report::passed`], not [`Report::all_replayed`]).
    Skipped {
        /// Why.
        reason: String,
    },
}

/// How a compatible replay ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayEnd {
    /// The new code waits for something the journal has no result for.
    Suspended,
    /// The new code reached a `run` the journal has no result for (a new one, or one an
    /// earlier attempt did not finish); it was not executed.
    BeforeRun,
    /// The new code returned its result (a terminal error past the journal's end is a
    /// [`Verdict::Failed`] instead).
    Completed,
}

/// A journal mismatch, described on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The protocol VM's error code (570 for a journal mismatch).
    pub code: u32,
    /// The VM's message, which describes both sides.
    pub message: String,
    /// The index of the journal entry where the new code differs, if the VM named one.
    pub entry_index: Option<usize>,
    /// That journal entry, described (`Command: Run "charge"`).
    pub recorded: Option<String>,
    /// The command the new code issued instead, described.
    pub new_command: Option<String>,
}

/// The verdicts of a check of several invocations.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Each invocation checked: its id, target (`service/key/handler`) and verdict.
    pub results: Vec<CheckedInvocation>,
}

/// One invocation's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedInvocation {
    /// The invocation id.
    pub id: String,
    /// `service/handler`, or `service/key/handler` for objects and workflows.
    pub target: String,
    /// The recorded status.
    pub status: String,
    /// What the replay found.
    pub verdict: Verdict,
}

impl ReplayCheck {
    /// A check of `endpoint`, the build that is to run the recorded invocations.
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// How long one replay may take before it counts as failed (30 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Records the invocations `selection` picks from the restate-server whose admin API is at
    /// `admin_url`, and replays each.
    pub async fn check_server(
        &self,
        admin_url: &str,
        selection: &super::Selection,
    ) -> Result<Report, ReplayError> {
        let recorded = super::export(admin_url, selection).await?;
        Ok(self.check_all(&recorded).await)
    }

    /// Replays each invocation recorded in the file at `path` ([`super::write_recorded`]'s
    /// format).
    pub async fn check_file(&self, path: impl AsRef<Path>) -> Result<Report, ReplayError> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|e| ReplayError::File(format!("{}: {e}", path.display())))?;
        let recorded =
            super::read_recorded(std::io::BufReader::new(file)).map_err(|error| match error {
                ReplayError::File(message) => {
                    ReplayError::File(format!("{}: {message}", path.display()))
                }
                other => other,
            })?;
        Ok(self.check_all(&recorded).await)
    }

    /// Replays each of `recorded`, one after the other.
    pub async fn check_all(&self, recorded: &[RecordedInvocation]) -> Report {
        let mut results = Vec::with_capacity(recorded.len());
        for invocation in recorded {
            let verdict = self.check(invocation).await;
            results.push(CheckedInvocation {
                id: invocation.id.clone(),
                target: if invocation.key.is_empty() {
                    format!("{}/{}", invocation.service, invocation.handler)
                } else {
                    format!(
                        "{}/{}/{}",
                        invocation.service, invocation.key, invocation.handler
                    )
                },
                status: invocation.status.clone(),
                verdict,
            });
        }
        Report { results }
    }

    /// Replays `recorded`.
    pub async fn check(&self, recorded: &RecordedInvocation) -> Verdict {
        let version = match replayable(recorded) {
            Ok(version) => version,
            Err(reason) => return Verdict::Skipped { reason },
        };
        let id = match invocation_id::decode(&recorded.id) {
            Ok(id) => id,
            Err(reason) => return Verdict::Failed { reason },
        };
        let mut body = BytesMut::new();
        let start = StartMessage {
            id: bytes::Bytes::copy_from_slice(&id),
            debug_id: recorded.id.clone(),
            known_entries: u32::try_from(recorded.entries.len()).unwrap_or(u32::MAX),
            state_map: recorded
                .state
                .iter()
                .map(|entry| StateEntry {
                    key: bytes::Bytes::copy_from_slice(entry.key.as_bytes()),
                    value: entry.value.clone(),
                })
                .collect(),
            partial_state: false,
            key: recorded.key.clone(),
            retry_count_since_last_stored_entry: 0,
            duration_since_last_stored_entry: 0,
            random_seed: recorded
                .random_seed
                .unwrap_or_else(|| invocation_id::random_seed(&id)),
            // The replay speaks protocol version 6, which carries none of these.
            scope: None,
            limit_key: None,
            idempotency_key: None,
        };
        Frame::new(ty::START, &start).write(&mut body);
        for (index, entry) in recorded.entries.iter().enumerate() {
            let Some(ty) = wire::entry_type_code(&entry.entry_type) else {
                return Verdict::Skipped {
                    reason: format!(
                        "journal entry {index} is of type `{}`, which this check does not know",
                        entry.entry_type
                    ),
                };
            };
            Frame {
                ty,
                payload: entry.raw.clone(),
            }
            .write(&mut body);
        }
        let content_type = format!("application/vnd.restate.invocation.v{version}");
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/invoke/{}/{}", recorded.service, recorded.handler))
            .version(http::Version::HTTP_11)
            .header(header::CONTENT_TYPE, &content_type)
            .header(header::ACCEPT, &content_type)
            .body(Full::new(body.freeze()));
        let request = match request {
            Ok(request) => request,
            Err(error) => {
                return Verdict::Failed {
                    reason: format!("no request for the target: {error}"),
                };
            }
        };
        let stopped = Arc::new(AtomicBool::new(false));
        let response = self.endpoint.replay_attempt(
            &recorded.service,
            &recorded.handler,
            request,
            Arc::clone(&stopped),
        );
        let status = response.status();
        let answer = tokio::time::timeout(self.timeout, response.into_body().collect()).await;
        let body = match answer {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(never)) => match never {},
            Err(_) => {
                return Verdict::Failed {
                    reason: format!(
                        "the replay did not end within {:?} (the handler waits on something \
                         outside Restate?)",
                        self.timeout
                    ),
                };
            }
        };
        if status != StatusCode::OK {
            return Verdict::Failed {
                reason: format!(
                    "the endpoint answered {status}: {}",
                    String::from_utf8_lossy(&body)
                ),
            };
        }
        let frames = match wire::read_frames(body) {
            Ok(frames) => frames,
            Err(error) => {
                return Verdict::Failed {
                    reason: format!("the endpoint answered {error}"),
                };
            }
        };
        verdict(recorded, &frames, stopped.load(Ordering::Acquire))
    }
}

/// The protocol version to replay `recorded` with, or why it cannot be replayed.
fn replayable(recorded: &RecordedInvocation) -> Result<u32, String> {
    if recorded.journal_version != 2 {
        return Err(format!(
            "journal format {} (before Restate 1.6) does not hold protocol messages",
            recorded.journal_version
        ));
    }
    let Some(version) = recorded.protocol_version else {
        return Err(
            "not started yet: nothing journaled beyond its input; it starts on the \
                    latest deployment"
                .to_owned(),
        );
    };
    if !PROTOCOL_VERSIONS.contains(&version) {
        return Err(format!(
            "pinned to service protocol version {version}; this check replays versions {} to {}",
            PROTOCOL_VERSIONS.start(),
            PROTOCOL_VERSIONS.end()
        ));
    }
    if recorded.entries.is_empty() {
        return Err(
            "no journal recorded (past its journal retention, or completed while it was being \
             recorded)"
                .to_owned(),
        );
    }
    Ok(version)
}

/// The verdict the frames an attempt answered say.
fn verdict(recorded: &RecordedInvocation, frames: &[Frame], stopped_before_run: bool) -> Verdict {
    if let Some(error) = frames.iter().find(|frame| frame.ty == ty::ERROR) {
        let error: ErrorMessage = match error.decode() {
            Ok(error) => error,
            Err(e) => {
                return Verdict::Failed {
                    reason: format!("an unreadable error message: {e}"),
                };
            }
        };
        if error.code != JOURNAL_MISMATCH {
            return Verdict::Failed {
                reason: format!("VM code {}: {}", error.code, error.message),
            };
        }
        let entry_index = error
            .related_command_index
            .and_then(|command| command_entry(recorded, command as usize));
        let new_command = error.related_command_type.map(|ty| {
            let name = wire::entry_type_name(u16::try_from(ty).unwrap_or(u16::MAX));
            match error.related_command_name.as_deref() {
                Some(command_name) if !command_name.is_empty() => {
                    format!("{name} \"{command_name}\"")
                }
                _ => name,
            }
        });
        return Verdict::Mismatch(Mismatch {
            code: error.code,
            message: error.message,
            entry_index,
            recorded: entry_index.and_then(|index| recorded.describe_entry(index)),
            new_command,
        });
    }
    // The state machine sends only what the replay did not find in the journal: an output here
    // is new. A terminal error there is what a journaled value the new code cannot decode (a
    // changed payload type) looks like, and Restate would end the invocation with it.
    for output in frames.iter().filter(|frame| frame.ty == ty::OUTPUT) {
        if let Ok(wire::OutputCommand {
            result: Some(wire::OutputResult::Failure(failure)),
        }) = output.decode()
        {
            return Verdict::Failed {
                reason: format!(
                    "the new code ends the invocation with terminal error {}: {}",
                    failure.code, failure.message
                ),
            };
        }
    }
    let ended = if stopped_before_run {
        ReplayEnd::BeforeRun
    } else if frames.iter().any(|frame| frame.ty == ty::END) {
        ReplayEnd::Completed
    } else if frames.iter().any(|frame| frame.ty == ty::SUSPENSION) {
        ReplayEnd::Suspended
    } else {
        return Verdict::Failed {
            reason: "the attempt ended without a result, a suspension or an error".to_owned(),
        };
    };
    Verdict::Compatible { ended }
}

/// The journal index of the `command`-th command (counting from 0, the input).
fn command_entry(recorded: &RecordedInvocation, command: usize) -> Option<usize> {
    recorded
        .entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| entry.entry_type.starts_with("Command: "))
        .nth(command)
        .map(|(index, _)| index)
}

impl Verdict {
    /// Whether the new code replays the invocation.
    pub fn is_compatible(&self) -> bool {
        matches!(self, Verdict::Compatible { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Compatible { ended } => match ended {
                ReplayEnd::Suspended => f.write_str("compatible (then waits)"),
                ReplayEnd::BeforeRun => {
                    f.write_str("compatible (then a run without a result, not executed)")
                }
                ReplayEnd::Completed => f.write_str("compatible (then completes)"),
            },
            Verdict::Mismatch(mismatch) => {
                f.write_str("MISMATCH")?;
                if let Some(index) = mismatch.entry_index {
                    write!(f, " at entry {index}")?;
                }
                match (&mismatch.recorded, &mismatch.new_command) {
                    (Some(recorded), Some(new)) => {
                        write!(f, ": recorded {recorded}, the new code {new}")
                    }
                    (Some(recorded), None) => write!(f, ": recorded {recorded}"),
                    (None, Some(new)) => write!(f, ": the new code {new}"),
                    (None, None) => Ok(()),
                }
            }
            Verdict::Failed { reason } => write!(f, "FAILED: {reason}"),
            Verdict::Skipped { reason } => write!(f, "skipped: {reason}"),
        }
    }
}

impl Report {
    /// Whether every invocation replayed: no mismatch, no failure, and nothing skipped.
    pub fn all_replayed(&self) -> bool {
        self.results
            .iter()
            .all(|result| result.verdict.is_compatible())
    }

    /// Whether no invocation mismatched or failed; skipped ones (which the check could not
    /// replay) pass. [`Report::all_replayed`] is the strict form.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|result| {
            matches!(
                result.verdict,
                Verdict::Compatible { .. } | Verdict::Skipped { .. }
            )
        })
    }

    /// How many verdicts are compatible, mismatches, failures and skips.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        self.results
            .iter()
            .fold(
                (0, 0, 0, 0),
                |(ok, mismatch, failed, skipped), result| match result.verdict {
                    Verdict::Compatible { .. } => (ok + 1, mismatch, failed, skipped),
                    Verdict::Mismatch(_) => (ok, mismatch + 1, failed, skipped),
                    Verdict::Failed { .. } => (ok, mismatch, failed + 1, skipped),
                    Verdict::Skipped { .. } => (ok, mismatch, failed, skipped + 1),
                },
            )
    }

    /// The verdict of invocation `id`.
    pub fn verdict(&self, id: &str) -> Option<&Verdict> {
        self.results
            .iter()
            .find(|result| result.id == id)
            .map(|result| &result.verdict)
    }
}

/// A table, one invocation a line, then the VM's words for each mismatch, then the counts.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id_width = self.results.iter().map(|r| r.id.len()).max().unwrap_or(0);
        let id_width = id_width.max("invocation".len());
        let target_width = self
            .results
            .iter()
            .map(|r| r.target.len())
            .max()
            .unwrap_or(0);
        let target_width = target_width.max("target".len());
        let status_width = self
            .results
            .iter()
            .map(|r| r.status.len())
            .max()
            .unwrap_or(0);
        let status_width = status_width.max("status".len());
        writeln!(
            f,
            "{:id_width$}  {:target_width$}  {:status_width$}  verdict",
            "invocation", "target", "status"
        )?;
        for result in &self.results {
            writeln!(
                f,
                "{:id_width$}  {:target_width$}  {:status_width$}  {}",
                result.id, result.target, result.status, result.verdict
            )?;
        }
        for result in &self.results {
            if let Verdict::Mismatch(mismatch) = &result.verdict {
                writeln!(f, "\n{} ({}):", result.id, result.target)?;
                for line in mismatch.message.lines() {
                    writeln!(f, "  {line}")?;
                }
            }
        }
        let (ok, mismatch, failed, skipped) = self.counts();
        writeln!(
            f,
            "\n{} checked: {ok} compatible, {mismatch} mismatched, {failed} failed, {skipped} skipped",
            self.results.len()
        )
    }
}
