//! The VM driver: owns one invocation's protocol state machine (`CoreVM` of
//! `restate-sdk-shared-core`), feeds it request bytes, forwards its output to the response body
//! and runs the progress loop for the durable futures of the layer above.
//!
//! Every VM call goes through [`Driver::lock`], so the VM is only ever touched by one task at a
//! time. A VM error "traps" the invocation: the error is reported, the output is flushed, and
//! every durable future stays pending forever while the endpoint drops the handler.

use std::collections::HashMap;
use std::future::poll_fn;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body::Body;
use http_body_util::BodyExt;
use restate_sdk_shared_core::{
    AwaitResponse, CoreVM, Error as VmError, NotificationHandle, RetryPolicy, RunExitResult,
    UnresolvedFuture, VM, Value,
};
use tokio::sync::{Notify, mpsc};
use tokio::task::AbortHandle;

use crate::error::HandlerError;

/// What the progress loop stopped for.
pub(crate) enum Progress {
    /// The awaited condition holds.
    Ready,
    /// Restate cancelled the invocation; the VM has already cancelled the calls it made.
    Cancelled,
}

/// The outcome of a `run` closure, before it is proposed to the VM.
pub(crate) type RunClosure = BoxFuture<'static, RunExitResult>;

/// One invocation's VM and everything that must be changed together with it.
pub(crate) struct Driver {
    state: Mutex<DriverState>,
    trapped: Notify,
}

pub(crate) struct DriverState {
    pub(crate) vm: CoreVM,
    output: Option<mpsc::UnboundedSender<Bytes>>,
    /// Tasks to wake when input arrives or a run completes.
    waiting: Vec<Waker>,
    /// Closures of `run`s that the VM has not asked for yet.
    runs: HashMap<NotificationHandle, (RunClosure, RetryPolicy)>,
    /// The handler's task and the tasks of running `run` closures, stopped when the invocation
    /// ends or its connection is gone.
    tasks: Vec<AbortHandle>,
    trapped: bool,
}

impl Driver {
    pub(crate) fn new(vm: CoreVM, output: mpsc::UnboundedSender<Bytes>) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(DriverState {
                vm,
                output: Some(output),
                waiting: Vec::new(),
                runs: HashMap::new(),
                tasks: Vec::new(),
                trapped: false,
            }),
            trapped: Notify::new(),
        })
    }

    /// Locks the VM. A poisoned lock only means a panic happened while it was held; the VM
    /// itself never panics halfway through a call, so the state is still usable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, DriverState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Resolves once the invocation has been trapped by a VM error.
    pub(crate) async fn wait_trapped(&self) {
        let notified = self.trapped.notified();
        if self.lock().trapped {
            return;
        }
        notified.await;
    }

    /// Reports a VM error and traps the invocation.
    pub(crate) fn trap(&self, state: &mut DriverState, error: VmError) {
        if !error.is_suspended_error() {
            tracing::debug!(%error, "invocation failed in the state machine");
            state.vm.notify_error(error, None);
        }
        state.trapped = true;
        state.flush();
        state.finish();
        self.trapped.notify_one();
    }

    /// Tracks a task of this invocation, so it stops when the invocation does.
    pub(crate) fn track(&self, task: AbortHandle) {
        let mut state = self.lock();
        if state.trapped {
            task.abort();
        } else {
            state.tasks.push(task);
        }
    }

    /// The connection is gone: nothing the invocation does can reach Restate any more, so its
    /// handler and runs stop. Restate retries the invocation on a new attempt.
    fn abandon(&self) {
        let mut state = self.lock();
        if !state.trapped {
            state.trapped = true;
            state.finish();
            self.trapped.notify_one();
        }
    }

    /// Pumps the request body into the VM until it ends.
    pub(crate) async fn pump_input<B>(self: Arc<Self>, body: B)
    where
        B: Body<Data = Bytes> + Send + Unpin,
        B::Error: std::fmt::Display,
    {
        let mut body = body;
        loop {
            let frame = body.frame().await;
            let mut state = self.lock();
            let more = match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        state.vm.notify_input(data);
                    }
                    true
                }
                Some(Err(error)) => {
                    tracing::debug!(%error, "the connection broke; abandoning the attempt");
                    drop(state);
                    self.abandon();
                    return;
                }
                None => {
                    state.vm.notify_input_closed();
                    false
                }
            };
            state.flush();
            state.wake_all();
            if !more {
                return;
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
                    state.waiting.push(cx.waker().clone());
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
    pub(crate) fn register_run(
        state: &mut DriverState,
        handle: NotificationHandle,
        closure: RunClosure,
        retry_policy: RetryPolicy,
    ) {
        state.runs.insert(handle, (closure, retry_policy));
    }

    /// The progress loop: drives the VM on `tree` until `is_ready` holds, a cancellation
    /// arrives, or it must wait for Restate (then `cx` is woken on the next input or run
    /// completion). Stays pending forever once the invocation is trapped.
    pub(crate) fn poll_progress(
        self: &Arc<Self>,
        state: &mut DriverState,
        tree: &UnresolvedFuture,
        cx: &mut TaskContext<'_>,
        mut is_ready: impl FnMut(&DriverState) -> bool,
    ) -> Poll<Progress> {
        loop {
            if state.trapped {
                return Poll::Pending;
            }
            if is_ready(state) {
                return Poll::Ready(Progress::Ready);
            }
            match state.vm.do_await(tree.clone()) {
                Ok(AwaitResponse::AnyCompleted) => {}
                Ok(AwaitResponse::ExecuteRun(run)) => self.start_run(state, run),
                Ok(AwaitResponse::WaitingExternalProgress { .. }) => {
                    state.flush();
                    if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
                        state.waiting.push(cx.waker().clone());
                    }
                    return Poll::Pending;
                }
                Ok(AwaitResponse::CancelSignalReceived) => {
                    state.flush();
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

    /// Starts the closure of a `run` the VM asked to execute, on its own task.
    fn start_run(self: &Arc<Self>, state: &mut DriverState, handle: NotificationHandle) {
        let Some((closure, retry_policy)) = state.runs.remove(&handle) else {
            let error = VmError::internal("the state machine asked to execute an unknown run");
            self.trap(state, error);
            return;
        };
        let driver = Arc::clone(self);
        let task = tokio::spawn(async move {
            let result = closure.await;
            let mut state = driver.lock();
            if state.trapped {
                return;
            }
            if let Err(error) = state
                .vm
                .propose_run_completion(handle, result, retry_policy)
            {
                driver.trap(&mut state, error);
                return;
            }
            state.flush();
            state.wake_all();
        });
        state.tasks.push(task.abort_handle());
    }
}

impl DriverState {
    /// Whether a VM error ended the invocation.
    pub(crate) fn is_trapped(&self) -> bool {
        self.trapped
    }

    /// Moves whatever the VM has buffered to the response body.
    pub(crate) fn flush(&mut self) {
        let output = self.vm.take_output();
        if output.is_empty() {
            return;
        }
        if let Some(sender) = &self.output {
            // The receiver is gone only when the connection is; the VM sees the input close.
            let _ = sender.send(output);
        }
    }

    /// Ends the invocation on this side: the response body closes, closures never started are
    /// dropped, and the handler and run tasks stop.
    pub(crate) fn finish(&mut self) {
        self.output = None;
        self.runs.clear();
        self.waiting.clear();
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    fn wake_all(&mut self) {
        for waker in self.waiting.drain(..) {
            waker.wake();
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

/// The wall-clock time since the Unix epoch, as the VM wants it for timers.
pub(crate) fn now_since_unix_epoch() -> Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}
