//! The VM driver: owns one invocation's protocol state machine (`CoreVM` of
//! `restate-sdk-shared-core`) and runs the progress loop for the durable futures of the layer
//! above. The endpoint's attempt (`endpoint::attempt`) feeds it request bytes and moves its output to the response body.
//!
//! Every VM call goes through [`Driver::lock`], so the VM is only ever touched by one task at a
//! time. A VM error "traps" the invocation: the error is reported, the response ends, and every
//! durable future stays pending forever while the attempt drops the handler.

use std::future::poll_fn;
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use restate_sdk_shared_core::{
    AwaitResponse, CoreVM, Error as VmError, NotificationHandle, RetryPolicy, RunExitResult,
    UnresolvedFuture, VM, Value,
};

use crate::error::HandlerError;
use crate::telemetry::AttemptOutcome;

/// What the progress loop stopped for.
pub(crate) enum Progress {
    /// The awaited condition holds.
    Ready,
    /// Restate cancelled the invocation; the VM has already cancelled the calls it made.
    Cancelled,
}

/// The outcome of a `run` closure, before it is proposed to the VM.
pub(crate) type RunClosure = BoxFuture<'static, RunExitResult>;

/// The closure of a `run`, with what the VM needs when it completes.
pub(crate) struct Run {
    pub(crate) handle: NotificationHandle,
    pub(crate) closure: RunClosure,
    pub(crate) retry_policy: RetryPolicy,
}

/// One invocation's VM and everything that must be changed together with it.
pub(crate) struct Driver {
    state: Mutex<DriverState>,
}

pub(crate) struct DriverState {
    pub(crate) vm: CoreVM,
    /// Wakers of futures waiting for input or a run completion. The attempt's own task is
    /// among them, and so is any task a handler moved its context into.
    waiting: Vec<Waker>,
    /// Closures of `run`s that the VM has not asked for yet.
    runs: Vec<Run>,
    /// Closures the VM asked to execute, not yet picked up by the attempt's task.
    started: Vec<Run>,
    /// Wakes the attempt's task (see `endpoint::attempt`) while it is idle.
    attempt_waker: Option<Waker>,
    /// Whether the attempt's task is being polled right now; it then looks at the VM's
    /// output and at `started` before it goes idle, so nothing has to wake it.
    attempt_busy: bool,
    /// Counts what can complete a handle: input, run completions, commands. A wait that found
    /// nothing to do at one count need not ask the VM again until the count moves.
    changes: u64,
    /// Whether the VM may have written output since the attempt last took it: set by every
    /// call that can write, so that idle polls of the attempt skip the VM.
    output_written: bool,
    /// The response is complete: the VM's output is closed.
    ended: bool,
    trapped: bool,
    /// The attempt's span (none until the handler starts), and whether it says the handler is
    /// replaying; no subscriber wanting the span, nothing is tracked.
    span: tracing::Span,
    replaying: bool,
    tracks_replaying: bool,
    /// How the attempt ended, once it has.
    outcome: Option<AttemptOutcome>,
    /// Whether the span may be entered: it exists, and its trace parent, if any, is set.
    span_ready: bool,
    /// The attempt number the start message gave, 0 until it is read.
    attempt_number: u32,
    /// Set for a replay check's attempt: instead of executing a `run` closure the attempt
    /// ends, and this flag says so (see `replay`).
    stop_before_runs: Option<Arc<AtomicBool>>,
}

/// The locked state. Releasing it notes on the attempt's span whether the VM is replaying,
/// so that log events of the handler's next steps are marked right.
pub(crate) struct DriverGuard<'a>(MutexGuard<'a, DriverState>);

impl Deref for DriverGuard<'_> {
    type Target = DriverState;

    fn deref(&self) -> &DriverState {
        &self.0
    }
}

impl DerefMut for DriverGuard<'_> {
    fn deref_mut(&mut self) -> &mut DriverState {
        &mut self.0
    }
}

impl Drop for DriverGuard<'_> {
    fn drop(&mut self) {
        let state = &mut *self.0;
        if !state.tracks_replaying {
            return;
        }
        let replaying = state.vm.state().is_replaying();
        if replaying != state.replaying {
            state.replaying = replaying;
            state
                .span
                .record(crate::telemetry::REPLAYING_FIELD, replaying);
        }
    }
}

impl Driver {
    /// The driver of `vm`; the attempt's span comes once the handler starts
    /// ([`DriverState::start_span`]).
    pub(crate) fn new(vm: CoreVM) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(DriverState {
                vm,
                waiting: Vec::new(),
                runs: Vec::new(),
                started: Vec::new(),
                attempt_waker: None,
                attempt_busy: true,
                changes: 1,
                output_written: false,
                ended: false,
                trapped: false,
                tracks_replaying: false,
                span: tracing::Span::none(),
                replaying: false,
                outcome: None,
                span_ready: false,
                attempt_number: 0,
                stop_before_runs: None,
            }),
        })
    }

    /// Locks the VM. A poisoned lock only means a panic happened while it was held; the VM
    /// itself never panics halfway through a call, so the state is still usable.
    pub(crate) fn lock(&self) -> DriverGuard<'_> {
        DriverGuard(
            self.state
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Reports a VM error and traps the invocation.
    pub(crate) fn trap(&self, state: &mut DriverState, error: VmError) {
        if error.is_suspended_error() {
            state.settle(AttemptOutcome::Suspended);
        } else {
            state.span.in_scope(|| {
                tracing::debug!(%error, "invocation failed in the state machine");
            });
            state.vm.notify_error(error, None);
            state.settle(AttemptOutcome::Failed);
        }
        state.trapped = true;
        state.finish();
    }

    /// Issues a command on the VM: its result, or `None` once the invocation is trapped (an
    /// error of the command traps it).
    pub(crate) fn issue<T>(
        &self,
        call: impl FnOnce(&mut DriverState) -> Result<T, VmError>,
    ) -> Option<T> {
        let mut state = self.lock();
        if state.is_trapped() {
            return None;
        }
        // The attempt sends output when it has polled everything it can, so commands issued
        // back to back travel together; it only needs waking when idle, i.e. when this runs
        // in a task the handler spawned.
        state.changed();
        match call(&mut state) {
            Ok(value) => {
                state.output_ready();
                Some(value)
            }
            Err(error) => {
                self.trap(&mut state, error);
                None
            }
        }
    }

    /// Waits until the VM has read the start message and the replayed journal.
    pub(crate) async fn ready_to_execute(&self) -> Result<(), ()> {
        poll_fn(|cx| {
            let mut state = self.lock();
            if state.trapped {
                return Poll::Ready(Err(()));
            }
            match state.vm.is_ready_to_execute() {
                Ok(true) => Poll::Ready(Ok(())),
                Ok(false) => {
                    state.wait(cx.waker());
                    Poll::Pending
                }
                Err(error) => {
                    self.trap(&mut state, error);
                    Poll::Ready(Err(()))
                }
            }
        })
        .await
    }

    /// Registers the closure of a `run` so the progress loop can start it when the VM asks.
    pub(crate) fn register_run(state: &mut DriverState, run: Run) {
        state.runs.push(run);
    }

    /// The progress loop: drives the VM on `tree` until `is_ready` holds, a cancellation
    /// arrives, or it must wait for Restate (then `cx` is woken on the next input or run
    /// completion, and `waited_at` records the wait for [`DriverState::still_waiting`]).
    /// Stays pending forever once the invocation is trapped.
    pub(crate) fn poll_progress(
        self: &Arc<Self>,
        state: &mut DriverState,
        tree: &UnresolvedFuture,
        cx: &mut TaskContext<'_>,
        waited_at: &mut u64,
        mut is_ready: impl FnMut(&DriverState) -> bool,
    ) -> Poll<Progress> {
        loop {
            if state.trapped {
                return Poll::Pending;
            }
            if is_ready(state) {
                return Poll::Ready(Progress::Ready);
            }
            let single = matches!(tree, UnresolvedFuture::Single(_));
            state.output_written = true;
            match state.vm.do_await(tree.clone()) {
                // A single handle's tree resolves when it completes.
                Ok(AwaitResponse::AnyCompleted) if single => return Poll::Ready(Progress::Ready),
                Ok(AwaitResponse::AnyCompleted) => {}
                Ok(AwaitResponse::ExecuteRun(run)) => {
                    self.start_run(state, run);
                    if state.trapped {
                        return Poll::Pending;
                    }
                    if single {
                        // That run is all this waits for, and it has only just started: the
                        // VM would answer "waiting" until the run completes.
                        state.wait(cx.waker());
                        *waited_at = state.changes;
                        return Poll::Pending;
                    }
                }
                Ok(AwaitResponse::WaitingExternalProgress { .. }) => {
                    state.output_ready();
                    state.wait(cx.waker());
                    *waited_at = state.changes;
                    return Poll::Pending;
                }
                Ok(AwaitResponse::CancelSignalReceived) => {
                    state.output_ready();
                    return Poll::Ready(Progress::Cancelled);
                }
                Ok(AwaitResponse::EphemeralNotificationReady(id)) => {
                    // No ephemeral command is ever issued; drop whatever arrives.
                    let _ = state.vm.take_ephemeral_notification(id);
                }
                Err(error) => {
                    self.trap(state, error);
                    return Poll::Pending;
                }
            }
        }
    }

    /// Takes the value of a completed handle; `None` (and a trapped invocation) on a VM error.
    pub(crate) fn take_notification(
        &self,
        state: &mut DriverState,
        handle: NotificationHandle,
    ) -> Option<Value> {
        state.output_written = true;
        match state.vm.take_notification(handle) {
            Ok(Some(value)) => Some(value),
            Ok(None) => {
                self.trap(
                    state,
                    VmError::internal("a completed notification had no value"),
                );
                None
            }
            Err(error) => {
                self.trap(state, error);
                None
            }
        }
    }

    /// Hands the closure of a `run` the VM asked to execute to the attempt's task; in a replay
    /// check's attempt, ends the attempt instead: the recorded journal has no result for this
    /// run, and no side effect of the code under check may execute.
    fn start_run(&self, state: &mut DriverState, handle: NotificationHandle) {
        if let Some(stopped) = &state.stop_before_runs {
            stopped.store(true, Ordering::Release);
            state.settle(AttemptOutcome::Suspended);
            state.trapped = true;
            state.finish();
            return;
        }
        let Some(index) = state.runs.iter().position(|run| run.handle == handle) else {
            let error = VmError::internal("the state machine asked to execute an unknown run");
            self.trap(state, error);
            return;
        };
        let run = state.runs.swap_remove(index);
        state.started.push(run);
        state.output_ready();
    }
}

impl DriverState {
    /// Whether a VM error ended the invocation.
    pub(crate) fn is_trapped(&self) -> bool {
        self.trapped
    }

    /// Whether the response is complete.
    pub(crate) fn is_ended(&self) -> bool {
        self.ended
    }

    /// The VM may have output, or a run to start: makes sure the attempt's task looks.
    pub(crate) fn output_ready(&mut self) {
        if !self.attempt_busy {
            if let Some(waker) = self.attempt_waker.take() {
                waker.wake();
            }
        }
    }

    /// Ends the invocation on this side: the response body closes. Closures never started
    /// stay until the attempt takes them ([`DriverState::take_leftover_runs`]), so that they
    /// are not dropped under the lock.
    pub(crate) fn finish(&mut self) {
        self.ended = true;
        self.output_written = true;
        self.waiting.clear();
        self.output_ready();
        self.attempt_waker = None;
    }

    /// The attempt's span.
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Whether the attempt's span may be entered: the handler has started, and the span's
    /// trace parent is set.
    pub(crate) fn span_ready(&self) -> bool {
        self.span_ready
    }

    /// Whether the VM is replaying the journal.
    pub(crate) fn is_replaying(&self) -> bool {
        self.vm.state().is_replaying()
    }

    /// Sets the attempt's span, its trace parent set, and lets the attempt enter it from now
    /// on; `replaying` is what its `restate.replaying` field says.
    pub(crate) fn start_span(&mut self, span: tracing::Span, replaying: bool) {
        self.tracks_replaying = !span.is_disabled();
        self.replaying = replaying;
        self.span = span;
        self.span_ready = true;
    }

    /// Notes the attempt number the start message gave.
    pub(crate) fn set_attempt_number(&mut self, attempt: u32) {
        self.attempt_number = attempt;
    }

    /// The attempt number the start message gave, 0 if it has not been read.
    pub(crate) fn attempt_number(&self) -> u32 {
        self.attempt_number
    }

    /// The closures of `run`s that will never execute, once the invocation has ended.
    pub(crate) fn take_leftover_runs(&mut self) -> Vec<Run> {
        let mut runs = std::mem::take(&mut self.runs);
        runs.append(&mut self.started);
        runs
    }

    /// Something that can complete a handle happened (input, a run completion, a command).
    pub(crate) fn changed(&mut self) {
        self.changes += 1;
        self.output_written = true;
    }

    /// What the VM wrote since the last call; empty if nothing was.
    pub(crate) fn take_output(&mut self) -> Bytes {
        if !std::mem::take(&mut self.output_written) {
            return Bytes::new();
        }
        self.vm.take_output()
    }

    /// Whether nothing changed since a wait recorded at `waited_at` by
    /// [`Driver::poll_progress`]; then the VM would answer the same, and `waker` is woken on
    /// the next change instead. Keeps re-polls of a waiting handler from re-running the VM.
    pub(crate) fn still_waiting(&mut self, waited_at: u64, waker: &Waker) -> bool {
        if waited_at != self.changes {
            return false;
        }
        self.wait(waker);
        true
    }

    /// Wakes `waker` on the next input or run completion.
    fn wait(&mut self, waker: &Waker) {
        if !self.waiting.iter().any(|w| w.will_wake(waker)) {
            self.waiting.push(waker.clone());
        }
    }

    /// Input arrived or a run completed: wakes every waiting task but the attempt's own,
    /// which is polling already (`current`).
    pub(crate) fn wake_waiting(&mut self, current: &Waker) {
        for waker in self.waiting.drain(..) {
            if !waker.will_wake(current) {
                waker.wake();
            }
        }
    }

    /// The attempt's task is being polled.
    pub(crate) fn attempt_polling(&mut self) {
        self.attempt_busy = true;
    }

    /// The attempt's task goes idle: `waker` wakes it for output, runs or the end.
    pub(crate) fn attempt_idle(&mut self, waker: &Waker) {
        self.attempt_busy = false;
        match &self.attempt_waker {
            Some(current) if current.will_wake(waker) => {}
            _ => self.attempt_waker = Some(waker.clone()),
        }
    }

    /// Makes this a replay check's attempt: the first `run` the VM asks to execute ends it
    /// instead, and sets `stopped`.
    #[cfg(feature = "replay-check")]
    pub(crate) fn stop_before_runs(&mut self, stopped: Arc<AtomicBool>) {
        self.stop_before_runs = Some(stopped);
    }

    /// Takes the closures the VM asked to execute.
    pub(crate) fn take_started_runs(&mut self, into: &mut Vec<Run>) {
        into.append(&mut self.started);
    }

    /// Notes how the attempt ended, unless that is already known.
    pub(crate) fn settle(&mut self, outcome: AttemptOutcome) {
        self.outcome.get_or_insert(outcome);
    }

    /// How the attempt ended: `Aborted` if nothing else ended it.
    pub(crate) fn outcome(&self) -> AttemptOutcome {
        self.outcome.unwrap_or(AttemptOutcome::Aborted)
    }

    /// Marks the invocation trapped when its attempt is gone (the connection closed).
    pub(crate) fn abandon(&mut self) {
        if !self.ended {
            self.trapped = true;
            self.finish();
        }
    }
}

/// Runs a `run` closure to its exit result: success, terminal failure, or a retryable failure
/// (errors and panics alike).
pub(crate) async fn execute_run<F>(closure: F) -> RunExitResult
where
    F: Future<Output = Result<Bytes, HandlerError>> + Send,
{
    let started = Instant::now();
    let outcome = AssertUnwindSafe(closure).catch_unwind().await;
    let retryable = |message: String| RunExitResult::RetryableFailure {
        attempt_duration: started.elapsed(),
        error: VmError::new(500u16, message),
    };
    match outcome {
        Ok(Ok(bytes)) => RunExitResult::Success(bytes),
        Ok(Err(error)) => match error.into_terminal() {
            Ok(terminal) => RunExitResult::TerminalFailure(terminal.into()),
            Err(error) => retryable(error.to_string()),
        },
        Err(panic) => retryable(format!("run panicked: {}", panic_message(&panic))),
    }
}

/// The text of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// The time `delay` from now, since the Unix epoch, if the protocol can carry it (its timers
/// are milliseconds in a `u64`); `None` for a delay that reaches past that.
pub(crate) fn time_after(delay: Duration) -> Option<Duration> {
    let at = now_since_unix_epoch().checked_add(delay)?;
    u64::try_from(at.as_millis()).is_ok().then_some(at)
}

#[cfg(feature = "test-support")]
tokio::task_local! {
    /// The simulator's virtual time, while it runs an attempt (`restate-test`'s simulator).
    pub static VIRTUAL_NOW: Duration;
}

/// The wall-clock time since the Unix epoch, as the VM wants it for timers; the virtual time
/// inside an attempt the simulator runs.
pub(crate) fn now_since_unix_epoch() -> Duration {
    #[cfg(feature = "test-support")]
    if let Ok(now) = VIRTUAL_NOW.try_with(|now| *now) {
        return now;
    }
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
