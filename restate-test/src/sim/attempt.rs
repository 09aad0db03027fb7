//! One attempt of an invocation against the endpoint: the request (the start message and the
//! whole journal), the answer applied message by message (crash points included), and what the
//! attempt's end means for the invocation.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};

use restate_runtime::test_support::wire::{self as protocol, Frame, ty};

use super::interpret::Step;
use super::{SimError, Simulator, Status};

/// How an attempt's answer ended, as its messages said.
#[derive(Debug, Default)]
struct Ending {
    /// It sent its end.
    ended: bool,
    /// It suspended.
    suspended: bool,
    /// It was given something it may have suspended waiting for.
    woken: bool,
}

impl Simulator {
    /// One attempt of invocation `index`: the whole journal in, the endpoint's answer applied.
    pub(super) async fn attempt(&mut self, index: usize) -> Result<(), SimError> {
        let body = self.request_body(index);
        let invocation = &mut self.invocations[index];
        invocation.attempts += 1;
        invocation.replayed += invocation.journal.len();
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/invoke/{}/{}",
                invocation.service, invocation.handler
            ))
            .version(http::Version::HTTP_11)
            .header(header::CONTENT_TYPE, protocol::CONTENT_TYPE)
            .header(header::ACCEPT, protocol::CONTENT_TYPE)
            .header("x-restate-invocation-id", invocation.id.as_str())
            .body(Full::new(body))
            .map_err(|e| SimError::Protocol(e.to_string()))?;
        // The endpoint reads the virtual time for its timers: a sleep's wake-up time is
        // exactly the virtual time it asks for.
        let endpoint = self.endpoint.clone();
        let now = Duration::from_millis(self.now);
        let (status, body) = restate_runtime::test_support::VIRTUAL_NOW
            .scope(now, async move {
                let response = endpoint.handle(request).await;
                let status = response.status();
                let body = match response.into_body().collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(never) => match never {},
                };
                (status, body)
            })
            .await;
        if status != StatusCode::OK {
            return Err(SimError::Protocol(format!(
                "an attempt of {} answered {status}: {}",
                self.invocations[index].id,
                String::from_utf8_lossy(&body)
            )));
        }
        let frames = protocol::read_frames(body).map_err(SimError::Protocol)?;
        self.apply(index, frames)
    }

    /// The start message, then the journal.
    fn request_body(&self, index: usize) -> Bytes {
        let invocation = &self.invocations[index];
        let state_map = self
            .objects
            .get(&(invocation.service.clone(), invocation.key.clone()))
            .map(|object| {
                object
                    .state
                    .iter()
                    .map(|(key, value)| protocol::StateEntry {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let start = protocol::StartMessage {
            id: Bytes::from(format!("sim-invocation-{index:08}").into_bytes()),
            debug_id: invocation.id.clone(),
            known_entries: u32::try_from(invocation.journal.len()).unwrap_or(u32::MAX),
            state_map,
            partial_state: false,
            key: invocation.key.clone(),
            retry_count_since_last_stored_entry: invocation.retry_count,
            duration_since_last_stored_entry: 0,
            random_seed: u64::try_from(index)
                .unwrap_or_default()
                .wrapping_mul(0x9E37_79B9_7F4A_7C15),
            // Protocol version 6, as restate-server 1.7: none of these travel.
            scope: None,
            limit_key: None,
            idempotency_key: None,
        };
        let mut body = BytesMut::new();
        Frame::new(ty::START, &start).write(&mut body);
        for frame in &invocation.journal {
            frame.write(&mut body);
        }
        body.freeze()
    }

    /// Applies what an attempt answered, message by message, as far as its crash point if the
    /// test set one.
    fn apply(&mut self, index: usize, frames: Vec<Frame>) -> Result<(), SimError> {
        let mut ending = Ending::default();
        let crash_key = (
            self.invocations[index].service.clone(),
            self.invocations[index].handler.clone(),
        );
        let mut crash_after = self.crashes.remove(&crash_key);
        for frame in frames {
            if crash_after == Some(0) {
                // The attempt breaks off here: the rest of its answer never arrives.
                return self.failed_attempt(
                    index,
                    protocol::ErrorMessage {
                        code: 503,
                        message: "the endpoint crashed (a crash point of the test)".to_owned(),
                        ..Default::default()
                    },
                );
            }
            if protocol::is_journal_entry(frame.ty) {
                crash_after = crash_after.map(|left| left.saturating_sub(1));
                self.invocations[index].journal.push(frame.clone());
                self.invocations[index].retry_count = 0;
            }
            match self.interpret(index, &frame)? {
                Step::Next => {}
                Step::Woken => ending.woken = true,
                Step::Suspended => ending.suspended = true,
                Step::Ended => ending.ended = true,
                Step::Failed(error) => return self.failed_attempt(index, error),
            }
        }
        if let Some(left) = crash_after.filter(|left| *left > 0) {
            // The attempt ended before the crash point: the next attempt keeps counting.
            self.crashes.insert(crash_key, left);
        }
        self.ended_attempt(index, &ending)
    }

    /// An attempt's answer was applied to its end: the invocation completes, suspends or runs
    /// again.
    fn ended_attempt(&mut self, index: usize, ending: &Ending) -> Result<(), SimError> {
        if ending.ended {
            if !matches!(self.invocations[index].status, Status::Completed(_)) {
                self.invocations[index].status = Status::Completed(Ok(Bytes::new()));
            }
            self.completed(index);
        } else if ending.suspended && !ending.woken {
            self.invocations[index].status = Status::Suspended;
        } else if ending.suspended {
            // The attempt ended waiting for what it was just given: run it again.
            self.make_runnable(index);
        } else {
            return Err(SimError::Protocol(format!(
                "an attempt of {} ended without an end, a suspension or an error",
                self.invocations[index].id
            )));
        }
        Ok(())
    }
}
