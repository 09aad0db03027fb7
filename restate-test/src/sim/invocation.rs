//! Per-invocation state: the invocations with their journals and statuses, the objects they
//! run on, and what becomes of an invocation when it is created, notified, fails an attempt or
//! completes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use bytes::Bytes;

use restate_runtime::TerminalError;
use restate_runtime::codegen::Codec;
use restate_runtime::test_support::wire::{self as protocol, Frame, NotificationResult, ty};

use super::scheduler::Timer;
use super::{SimError, Simulator, services};

/// One invocation and its journal.
#[derive(Debug)]
pub(super) struct Invocation {
    pub(super) id: String,
    pub(super) service: String,
    pub(super) handler: String,
    pub(super) key: String,
    pub(super) shared: bool,
    /// The codec of the payloads, for reading the output.
    pub(super) codec: Codec,
    /// The input command, then every command and notification, in order.
    pub(super) journal: Vec<Frame>,
    pub(super) attempts: u32,
    /// Journal entries sent with every attempt so far, added up.
    pub(super) replayed: usize,
    pub(super) retry_count: u32,
    pub(super) status: Status,
    /// Invocations waiting for this one's result: (invocation index, completion id).
    pub(super) callers: Vec<(usize, u32)>,
    /// Invocations attached to this one: (invocation index, completion id).
    pub(super) attachers: Vec<(usize, u32)>,
}

/// Where an invocation is in its life.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Status {
    /// Waiting for its key's lock, or for its delayed start.
    Waiting,
    /// Ready for an attempt.
    Runnable,
    /// Waiting for a notification.
    Suspended,
    /// Waiting to retry a failed attempt.
    Backoff,
    /// Out of attempts, and its retry policy says to pause: it waits for an operator.
    Paused,
    /// Done.
    Completed(Result<Bytes, protocol::Failure>),
}

/// State and the queue of exclusive invocations of one object.
#[derive(Debug, Default)]
pub(super) struct Object {
    pub(super) state: BTreeMap<Bytes, Bytes>,
    /// The exclusive invocation holding the key.
    pub(super) holder: Option<usize>,
    pub(super) queue: VecDeque<usize>,
    /// For a workflow: its run, once requested.
    pub(super) run: Option<usize>,
    /// For a workflow: its completed promises.
    pub(super) promises: HashMap<String, Result<Bytes, protocol::Failure>>,
    /// Invocations waiting on a promise: (promise, invocation, completion id).
    pub(super) promise_waiters: Vec<(String, usize, u32)>,
}

impl Simulator {
    /// Invocation `id`.
    pub(super) fn invocation(&self, id: &str) -> Result<&Invocation, SimError> {
        self.by_id
            .get(id)
            .map(|index| &self.invocations[*index])
            .ok_or_else(|| SimError::UnknownInvocation(id.to_owned()))
    }

    /// The index of invocation `id`.
    pub(super) fn index_of(&self, id: &str) -> Result<usize, SimError> {
        self.by_id
            .get(id)
            .copied()
            .ok_or_else(|| SimError::UnknownInvocation(id.to_owned()))
    }

    /// Creates an invocation, waiting to start.
    pub(super) fn invoke(
        &mut self,
        service: &str,
        handler: &str,
        key: &str,
        input: Bytes,
        headers: Vec<protocol::Header>,
    ) -> Result<usize, SimError> {
        let info = self
            .services
            .get(service)
            .ok_or_else(|| SimError::UnknownTarget(format!("{service}/{handler}")))?;
        let shared = *info
            .handlers
            .get(handler)
            .ok_or_else(|| SimError::UnknownTarget(format!("{service}/{handler}")))?;
        let key = if info.keyed {
            key.to_owned()
        } else {
            String::new()
        };
        let is_run = info.workflow_run.as_deref() == Some(handler);
        if is_run {
            // A workflow runs once per id: a second request joins the first.
            let object = self
                .objects
                .entry((service.to_owned(), key.clone()))
                .or_default();
            if let Some(run) = object.run {
                return Ok(run);
            }
            object.run = Some(self.invocations.len());
        }
        let index = self.invocations.len();
        let id = format!("inv_sim_{index}");
        let stubbed = self
            .stubs
            .get_mut(&(service.to_owned(), handler.to_owned()))
            .map(|stub| stub.call(&input));
        let input = protocol::InputCommand {
            headers,
            value: Some(protocol::Value { content: input }),
        };
        self.invocations.push(Invocation {
            id: id.clone(),
            service: service.to_owned(),
            handler: handler.to_owned(),
            key,
            shared: shared || !info.keyed,
            codec: Codec::Json,
            journal: vec![Frame::new(ty::INPUT, &input)],
            attempts: 0,
            replayed: 0,
            retry_count: 0,
            status: stubbed.map_or(Status::Waiting, Status::Completed),
            callers: Vec::new(),
            attachers: Vec::new(),
        });
        self.by_id.insert(id, index);
        Ok(index)
    }

    /// As [`invoke`](Self::invoke), but a request with an idempotency key seen before joins the
    /// invocation it started, as in Restate; whether it did.
    pub(super) fn invoke_idempotent(
        &mut self,
        service: &str,
        handler: &str,
        key: &str,
        input: Bytes,
        headers: Vec<protocol::Header>,
        idempotency_key: Option<String>,
    ) -> Result<(usize, bool), SimError> {
        let Some(idempotency_key) = idempotency_key else {
            let before = self.invocations.len();
            let index = self.invoke(service, handler, key, input, headers)?;
            return Ok((index, index < before));
        };
        let id = (
            service.to_owned(),
            key.to_owned(),
            handler.to_owned(),
            idempotency_key,
        );
        if let Some(index) = self.idempotent.get(&id) {
            return Ok((*index, true));
        }
        let before = self.invocations.len();
        let index = self.invoke(service, handler, key, input, headers)?;
        self.idempotent.insert(id, index);
        Ok((index, index < before))
    }

    /// The invocation started with `idempotency_key` for this handler, if any.
    pub(crate) fn by_idempotency_key(
        &self,
        service: &str,
        key: &str,
        handler: &str,
        idempotency_key: &str,
    ) -> Option<usize> {
        self.idempotent
            .get(&(
                service.to_owned(),
                key.to_owned(),
                handler.to_owned(),
                idempotency_key.to_owned(),
            ))
            .copied()
    }

    /// Appends a notification to invocation `index`'s journal and wakes it.
    pub(super) fn notify(
        &mut self,
        index: usize,
        completion_id: u32,
        result: NotificationResult,
        ty: u16,
    ) {
        let notification = protocol::Notification {
            completion_id,
            result: Some(result),
        };
        let invocation = &mut self.invocations[index];
        if matches!(invocation.status, Status::Completed(_)) {
            // Restate keeps nothing more for an invocation that has ended.
            return;
        }
        invocation.journal.push(Frame::new(ty, &notification));
        invocation.retry_count = 0;
        if invocation.status == Status::Suspended {
            self.make_runnable(index);
        }
    }

    /// An attempt that ended with an error: a journal mismatch stops the simulation; anything
    /// else is retried, until the attempts are used up.
    pub(super) fn failed_attempt(
        &mut self,
        index: usize,
        error: protocol::ErrorMessage,
    ) -> Result<(), SimError> {
        let invocation = &mut self.invocations[index];
        if error.code == 573 {
            return Err(SimError::Unsupported {
                invocation: invocation.id.clone(),
                feature: error.message,
            });
        }
        if matches!(error.code, 570..=572) {
            return Err(SimError::Journal {
                invocation: invocation.id.clone(),
                code: error.code,
                message: error.message,
            });
        }
        let policy = self
            .services
            .get(&invocation.service)
            .and_then(|service| service.retry.get(&invocation.handler))
            .cloned()
            .unwrap_or_default();
        if invocation.retry_count + 1 >= policy.max_attempts.unwrap_or(self.max_attempts) {
            if services::pauses(&policy) {
                invocation.status = Status::Paused;
                return Ok(());
            }
            invocation.status = Status::Completed(Err(protocol::Failure {
                code: error.code,
                message: format!(
                    "failed after {} attempts in a row: {}",
                    invocation.retry_count + 1,
                    error.message
                ),
                metadata: Vec::new(),
            }));
            self.completed(index);
            return Ok(());
        }
        let delay = error
            .next_retry_delay
            .unwrap_or_else(|| services::retry_delay(&policy, invocation.retry_count));
        invocation.retry_count += 1;
        invocation.status = Status::Backoff;
        self.schedule(self.now.saturating_add(delay), Timer::Wake(index));
        Ok(())
    }

    /// Invocation `index` has its result: answers its callers and frees its key.
    pub(super) fn completed(&mut self, index: usize) {
        let Status::Completed(result) = self.invocations[index].status.clone() else {
            return;
        };
        for (attacher, completion_id) in std::mem::take(&mut self.invocations[index].attachers) {
            self.notify(
                attacher,
                completion_id,
                outcome(result.clone()),
                ty::ATTACH_INVOCATION_COMPLETION,
            );
        }
        for (caller, completion_id) in std::mem::take(&mut self.invocations[index].callers) {
            let result = match &result {
                Ok(content) => NotificationResult::Value(protocol::Value {
                    content: content.clone(),
                }),
                Err(failure) => NotificationResult::Failure(failure.clone()),
            };
            self.notify(caller, completion_id, result, ty::CALL_COMPLETION);
        }
        self.release_key(index);
    }

    /// The object invocation `index` runs on.
    pub(super) fn object_mut(&mut self, index: usize) -> &mut Object {
        let invocation = &self.invocations[index];
        self.objects
            .entry((invocation.service.clone(), invocation.key.clone()))
            .or_default()
    }
}

/// A stored result as a notification's.
pub(super) fn outcome(result: Result<Bytes, protocol::Failure>) -> NotificationResult {
    match result {
        Ok(content) => NotificationResult::Value(protocol::Value { content }),
        Err(failure) => NotificationResult::Failure(failure),
    }
}

/// A stored failure as the terminal error a handler failed with.
pub(super) fn terminal(failure: &protocol::Failure) -> TerminalError {
    let code = u16::try_from(failure.code).unwrap_or(500);
    let mut error = TerminalError::new(code, failure.message.clone());
    for entry in &failure.metadata {
        error = error.with_metadata(entry.key.clone(), entry.value.clone());
    }
    error
}
