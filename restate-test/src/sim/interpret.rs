//! The protocol command interpreter: what each message of an attempt's answer does to the
//! simulation, one function per family of commands (state, calls and sends, sleeps, promises,
//! awakeables and signals, attach and output, run proposals, the attempt's output and end).

use bytes::Bytes;

use restate_runtime::test_support::wire::{self as protocol, Frame, NotificationResult, ty};

use super::invocation::outcome;
use super::{SimError, Simulator, Status, Timer};

/// The built-in signal index of cancellation.
const CANCEL_SIGNAL: u32 = 1;

/// What one message of an attempt's answer means for the attempt as a whole.
#[derive(Debug)]
pub(super) enum Step {
    /// Nothing: the attempt goes on.
    Next,
    /// The invocation was given something it may wait for: if it suspends, it runs again.
    Woken,
    /// The attempt suspended.
    Suspended,
    /// The attempt ended.
    Ended,
    /// The attempt failed with this error.
    Failed(protocol::ErrorMessage),
}

/// What a call or send asks for.
struct ChildRequest<'a> {
    service: &'a str,
    handler: &'a str,
    key: &'a str,
    parameter: Bytes,
    headers: Vec<protocol::Header>,
    idempotency_key: Option<String>,
    id_notification: u32,
}

impl Simulator {
    /// Applies one message of an attempt of invocation `index`, journaled already if it is a
    /// journal entry.
    pub(super) fn interpret(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        match frame.ty {
            ty::SET_STATE | ty::CLEAR_STATE | ty::CLEAR_ALL_STATE => {
                self.state_command(index, frame)
            }
            ty::SLEEP => self.sleep_command(index, frame),
            ty::CALL => self.call_command(index, frame),
            ty::ONE_WAY_CALL => self.one_way_call_command(index, frame),
            ty::GET_PROMISE | ty::PEEK_PROMISE => self.promise_command(index, frame),
            ty::COMPLETE_PROMISE => self.complete_promise_command(index, frame),
            ty::COMPLETE_AWAKEABLE => self.complete_awakeable_command(index, frame),
            ty::SEND_SIGNAL => self.send_signal_command(index, frame),
            ty::ATTACH_INVOCATION | ty::GET_INVOCATION_OUTPUT => {
                self.invocation_target_command(index, frame)
            }
            ty::OUTPUT => self.output_command(index, frame),
            ty::PROPOSE_RUN_COMPLETION => self.run_proposal(index, frame),
            ty::SUSPENSION => Ok(Step::Suspended),
            ty::END => Ok(Step::Ended),
            ty::ERROR => Ok(Step::Failed(self.decode(index, frame)?)),
            // Commands the simulator only journals: eager state reads, and runs (their
            // result comes with the proposal).
            ty::GET_EAGER_STATE | ty::GET_EAGER_STATE_KEYS | ty::RUN => Ok(Step::Next),
            ty if protocol::is_command(ty) => Err(SimError::Unsupported {
                invocation: self.invocations[index].id.clone(),
                feature: format!("command {ty:#06x}"),
            }),
            other => {
                // The simulator speaks protocol v6 as restate-server 1.7.12 pins it: a
                // message it does not know means the two have drifted apart.
                Err(SimError::Protocol(format!(
                    "{}: unexpected message type {other:#06x}",
                    self.invocations[index].id
                )))
            }
        }
    }

    /// `frame`'s message, from an attempt of invocation `index`.
    fn decode<M: prost::Message + Default>(
        &self,
        index: usize,
        frame: &Frame,
    ) -> Result<M, SimError> {
        frame
            .decode()
            .map_err(|e| SimError::Protocol(format!("{}: {e}", self.invocations[index].id)))
    }

    /// Set state, clear state, clear all state: the object's state changes.
    fn state_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        match frame.ty {
            ty::SET_STATE => {
                let set: protocol::SetStateCommand = self.decode(index, frame)?;
                let value = set.value.map(|v| v.content).unwrap_or_default();
                self.object_mut(index).state.insert(set.key, value);
            }
            ty::CLEAR_STATE => {
                let clear: protocol::ClearStateCommand = self.decode(index, frame)?;
                self.object_mut(index).state.remove(&clear.key);
            }
            // Clear all state.
            _ => self.object_mut(index).state.clear(),
        }
        Ok(Step::Next)
    }

    /// A sleep: its timer, due at its wake-up time (now if that has passed).
    fn sleep_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let sleep: protocol::SleepCommand = self.decode(index, frame)?;
        let due = sleep.wake_up_time.max(self.now);
        self.schedule(due, Timer::Sleep(index, sleep.result_completion_id));
        Ok(Step::Next)
    }

    /// A call: the callee starts (a stub's, or a finished workflow run's, answers at once), and
    /// answers the caller when done.
    fn call_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let call: protocol::CallCommand = self.decode(index, frame)?;
        let child = self.invoke_child(
            index,
            ChildRequest {
                service: &call.service_name,
                handler: &call.handler_name,
                key: &call.key,
                parameter: call.parameter,
                headers: call.headers,
                idempotency_key: call.idempotency_key,
                id_notification: call.invocation_id_notification_idx,
            },
        )?;
        self.invocations[child]
            .callers
            .push((index, call.result_completion_id));
        if matches!(self.invocations[child].status, Status::Completed(_)) {
            // A stub, or a workflow's run requested again after it finished.
            self.completed(child);
        } else {
            self.start(child);
        }
        Ok(Step::Woken)
    }

    /// A one-way call: the callee starts, now or at its invoke time.
    fn one_way_call_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let send: protocol::OneWayCallCommand = self.decode(index, frame)?;
        let child = self.invoke_child(
            index,
            ChildRequest {
                service: &send.service_name,
                handler: &send.handler_name,
                key: &send.key,
                parameter: send.parameter,
                headers: send.headers,
                idempotency_key: send.idempotency_key,
                id_notification: send.invocation_id_notification_idx,
            },
        )?;
        if send.invoke_time > self.now {
            self.schedule(send.invoke_time, Timer::Wake(child));
        } else {
            self.start(child);
        }
        Ok(Step::Woken)
    }

    /// Get or peek a workflow's promise: its result if completed; else a peek gets nothing
    /// and a get waits.
    fn promise_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let get: protocol::PromiseCommand = self.decode(index, frame)?;
        let completed = self.object_mut(index).promises.get(&get.key).cloned();
        let peek = frame.ty == ty::PEEK_PROMISE;
        let answer = if peek {
            ty::PEEK_PROMISE_COMPLETION
        } else {
            ty::GET_PROMISE_COMPLETION
        };
        match completed {
            Some(result) => {
                self.notify(index, get.result_completion_id, outcome(result), answer);
                Ok(Step::Woken)
            }
            None if peek => {
                let void = NotificationResult::Void(protocol::Void {});
                self.notify(index, get.result_completion_id, void, answer);
                Ok(Step::Woken)
            }
            None => {
                self.object_mut(index).promise_waiters.push((
                    get.key,
                    index,
                    get.result_completion_id,
                ));
                Ok(Step::Next)
            }
        }
    }

    /// Complete a workflow's promise: who waits on it wakes, and the completer learns whether
    /// it was first.
    fn complete_promise_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let complete: protocol::CompletePromiseCommand = self.decode(index, frame)?;
        let result = match complete.completion {
            Some(protocol::PromiseCompletion::Value(value)) => Ok(value.content),
            Some(protocol::PromiseCompletion::Failure(failure)) => Err(failure),
            None => Ok(Bytes::new()),
        };
        let answer = self.complete_promise(index, complete.key, result);
        self.notify(
            index,
            complete.result_completion_id,
            answer,
            ty::COMPLETE_PROMISE_COMPLETION,
        );
        Ok(Step::Woken)
    }

    /// Complete an awakeable: the invocation that made it gets its result.
    fn complete_awakeable_command(
        &mut self,
        index: usize,
        frame: &Frame,
    ) -> Result<Step, SimError> {
        let complete: protocol::CompleteAwakeableCommand = self.decode(index, frame)?;
        let result = match complete.result {
            Some(protocol::AwakeableResult::Value(value)) => Ok(value.content),
            Some(protocol::AwakeableResult::Failure(failure)) => Err(failure),
            None => Ok(Bytes::new()),
        };
        // An id that is no awakeable's changes nothing, as in Restate.
        if self.complete_awakeable(&complete.awakeable_id, result).ok() == Some(index) {
            // Its own: it need not wait for it.
            return Ok(Step::Woken);
        }
        Ok(Step::Next)
    }

    /// Send a signal: the target invocation gets it (cancellation included).
    fn send_signal_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let send: protocol::SendSignalCommand = self.decode(index, frame)?;
        // A signal for an invocation that does not exist is dropped, as in Restate.
        if let (Some(target), Some(signal_id)) = (
            self.by_id.get(&send.target_invocation_id).copied(),
            send.signal_id,
        ) {
            if signal_id == protocol::SignalId::Idx(CANCEL_SIGNAL) {
                self.cancel_index(target);
            } else {
                let result = send
                    .result
                    .unwrap_or(NotificationResult::Void(protocol::Void {}));
                self.signal(target, signal_id, result);
            }
            if target == index {
                return Ok(Step::Woken);
            }
        }
        Ok(Step::Next)
    }

    /// Attach to an invocation, or get its output: its result if it has one; else an attach
    /// waits for it and an output gets nothing.
    fn invocation_target_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let command: protocol::InvocationTargetCommand = self.decode(index, frame)?;
        let target = command
            .target
            .and_then(|target| self.target_index(target))
            .ok_or_else(|| SimError::Unsupported {
                invocation: self.invocations[index].id.clone(),
                feature: "attaching to an invocation the simulator does not know".to_owned(),
            })?;
        let completed = match &self.invocations[target].status {
            Status::Completed(result) => Some(result.clone()),
            _ => None,
        };
        match (frame.ty, completed) {
            (ty::ATTACH_INVOCATION, Some(result)) => {
                self.notify(
                    index,
                    command.result_completion_id,
                    outcome(result),
                    ty::ATTACH_INVOCATION_COMPLETION,
                );
                Ok(Step::Woken)
            }
            (ty::ATTACH_INVOCATION, None) => {
                self.invocations[target]
                    .attachers
                    .push((index, command.result_completion_id));
                Ok(Step::Next)
            }
            (_, completed) => {
                let result = completed.map_or(NotificationResult::Void(protocol::Void {}), outcome);
                self.notify(
                    index,
                    command.result_completion_id,
                    result,
                    ty::GET_INVOCATION_OUTPUT_COMPLETION,
                );
                Ok(Step::Woken)
            }
        }
    }

    /// The handler's output: the invocation's result, once the attempt ends.
    fn output_command(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let output: protocol::OutputCommand = self.decode(index, frame)?;
        let result = match output.result {
            Some(protocol::OutputResult::Value(value)) => Ok(value.content),
            Some(protocol::OutputResult::Failure(failure)) => Err(failure),
            None => Ok(Bytes::new()),
        };
        self.invocations[index].status = Status::Completed(result);
        Ok(Step::Next)
    }

    /// A run's proposed result: accepted as it is, and journaled as the run's completion.
    fn run_proposal(&mut self, index: usize, frame: &Frame) -> Result<Step, SimError> {
        let proposal: protocol::ProposeRunCompletion = self.decode(index, frame)?;
        let result = match proposal.result {
            Some(protocol::ProposedResult::Value(content)) => {
                NotificationResult::Value(protocol::Value { content })
            }
            Some(protocol::ProposedResult::Failure(failure)) => {
                NotificationResult::Failure(failure)
            }
            None => NotificationResult::Value(protocol::Value::default()),
        };
        self.notify(
            index,
            proposal.result_completion_id,
            result,
            ty::RUN_COMPLETION,
        );
        Ok(Step::Woken)
    }

    /// Creates the invocation a call or send of invocation `index` asks for, and tells `index`
    /// its id.
    fn invoke_child(&mut self, index: usize, request: ChildRequest<'_>) -> Result<usize, SimError> {
        let (child, _) = self.invoke_idempotent(
            request.service,
            request.handler,
            request.key,
            request.parameter,
            request.headers,
            request.idempotency_key,
        )?;
        let child_id = self.invocations[child].id.clone();
        self.notify(
            index,
            request.id_notification,
            NotificationResult::InvocationId(child_id),
            ty::CALL_INVOCATION_ID_COMPLETION,
        );
        Ok(child)
    }

    /// The invocation an attach or output command names.
    fn target_index(&self, target: protocol::InvocationTarget) -> Option<usize> {
        match target {
            protocol::InvocationTarget::InvocationId(id) => self.by_id.get(&id).copied(),
            protocol::InvocationTarget::Workflow(workflow) => self
                .objects
                .get(&(workflow.workflow_name, workflow.workflow_key))
                .and_then(|object| object.run),
            protocol::InvocationTarget::Idempotent(request) => self.by_idempotency_key(
                &request.service_name,
                request.service_key.as_deref().unwrap_or_default(),
                &request.handler_name,
                &request.idempotency_key,
            ),
        }
    }

    /// Completes the awakeable `id` (as `ctx.awakeable()` made it) with `result`.
    pub(crate) fn complete_awakeable(
        &mut self,
        id: &str,
        result: Result<Bytes, protocol::Failure>,
    ) -> Result<usize, SimError> {
        use base64::Engine as _;
        let unknown = || SimError::UnknownInvocation(format!("awakeable {id}"));
        let encoded = id.strip_prefix("sign_1").ok_or_else(unknown)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|_| unknown())?;
        let (invocation, idx) = bytes
            .len()
            .checked_sub(4)
            .map(|at| bytes.split_at(at))
            .ok_or_else(unknown)?;
        let idx = u32::from_be_bytes(idx.try_into().map_err(|_| unknown())?);
        let index = std::str::from_utf8(invocation)
            .ok()
            .and_then(|id| id.strip_prefix("sim-invocation-"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|index| *index < self.invocations.len())
            .ok_or_else(unknown)?;
        self.signal(index, protocol::SignalId::Idx(idx), outcome(result));
        Ok(index)
    }

    /// Delivers a signal to invocation `index` and wakes it; nothing for one that has ended.
    fn signal(&mut self, index: usize, id: protocol::SignalId, result: NotificationResult) {
        let signal = protocol::SignalNotification {
            signal_id: Some(id),
            result: Some(result),
        };
        let invocation = &mut self.invocations[index];
        if !matches!(invocation.status, Status::Completed(_)) {
            invocation.journal.push(Frame::new(ty::SIGNAL, &signal));
            invocation.retry_count = 0;
            if invocation.status == Status::Suspended {
                self.make_runnable(index);
            }
        }
    }

    /// Cancels invocation `index`: it gets the cancellation signal.
    pub(super) fn cancel_index(&mut self, index: usize) {
        // As in Restate, the signal joins the journal even of an invocation that has not run
        // yet: it starts, and its handler sees the cancellation at once.
        self.signal(
            index,
            protocol::SignalId::Idx(CANCEL_SIGNAL),
            NotificationResult::Void(protocol::Void {}),
        );
    }

    /// Completes promise `key` of invocation `index`'s workflow and wakes who waits on it; the
    /// answer to the completer (a failure if the promise was completed before).
    fn complete_promise(
        &mut self,
        index: usize,
        key: String,
        result: Result<Bytes, protocol::Failure>,
    ) -> NotificationResult {
        let object = self.object_mut(index);
        if object.promises.contains_key(&key) {
            return NotificationResult::Failure(protocol::Failure {
                code: 409,
                message: format!("promise {key} is already completed"),
                metadata: Vec::new(),
            });
        }
        object.promises.insert(key.clone(), result.clone());
        let (waiting, others): (Vec<_>, Vec<_>) = std::mem::take(&mut object.promise_waiters)
            .into_iter()
            .partition(|(promise, _, _)| *promise == key);
        object.promise_waiters = others;
        for (_, waiter, completion_id) in waiting {
            self.notify(
                waiter,
                completion_id,
                outcome(result.clone()),
                ty::GET_PROMISE_COMPLETION,
            );
        }
        NotificationResult::Void(protocol::Void {})
    }
}
