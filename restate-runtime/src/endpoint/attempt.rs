//! One attempt of an invocation, driven from its response body.
//!
//! The response body of `/invoke/..` does all of an attempt's work when hyper polls it for the
//! next frame: it feeds request frames to the VM, polls the handler and the closures of the
//! `run`s the VM asked to execute, and answers with whatever the VM wrote meanwhile. So an
//! invocation needs no task of its own, and everything it writes between two waits leaves in one
//! frame. A handler may still move its context into other tasks: they wake the attempt when they
//! leave output or a run behind.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use restate_sdk_shared_core::{Error as VmError, NonEmptyValue, PayloadOptions, VM};
use tracing::Instrument;

use super::body_guard::{BodyBudget, FrameProgress};
use crate::codegen::{HandlerDefinition, Invocation, Service};
use crate::context::{Context, InvocationInfo};
use crate::engine::{self, Driver, Run};
use crate::intercept::Interceptors;
use crate::telemetry::{AttemptMetrics, AttemptOutcome, InvokeTrace, SpanFields, StartPeek};

/// The request body, its error already turned into text.
type RequestBody = UnsyncBoxBody<Bytes, String>;

/// What an attempt's request body may take.
pub(crate) struct BodyLimits {
    /// The most bytes the request may carry.
    pub(crate) max_input: usize,
    /// The bytes all attempts in flight may hold together.
    pub(crate) budget: Arc<BodyBudget>,
    /// How long the body may stop in the middle of a message.
    pub(crate) stall_timeout: Duration,
}

/// A body waiting in the middle of a message: the timer, and the bytes received when it was
/// (re)armed.
struct StallWatch {
    timer: Pin<Box<tokio::time::Sleep>>,
    received: usize,
}

/// One attempt: the request body, the handler and the running `run` closures.
pub(crate) struct Attempt {
    driver: Arc<Driver>,
    /// `None` once the request body has ended.
    input: Option<RequestBody>,
    /// Request bytes read so far (all taken from the budget), and what they may be.
    received: usize,
    limits: BodyLimits,
    /// Where the body stands among message frames, and the timer while it waits inside one.
    frames: FrameProgress,
    stall: Option<StallWatch>,
    /// `None` once the handler has returned (or was dropped by a trap).
    handler: Option<BoxFuture<'static, ()>>,
    runs: Vec<Run>,
    /// Looks for the attempt number in the first request bytes.
    start: StartPeek,
    metrics: AttemptMetrics,
}

impl Attempt {
    /// Starts an attempt of `handler` on `service`, reading the request from `body`.
    pub(crate) fn new<B>(
        driver: Arc<Driver>,
        trace: InvokeTrace,
        body: B,
        limits: BodyLimits,
        service: Arc<dyn Service>,
        handler: &'static HandlerDefinition,
        interceptors: Option<Interceptors>,
    ) -> Self
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Display,
    {
        let input = body.map_err(|error| error.to_string()).boxed_unsync();
        let metrics = AttemptMetrics::start(service.definition().name, handler.name);
        // The invocation span is created once the handler starts, while the response body is
        // polled: it belongs in the span current now, when the request arrives.
        let parent = tracing::Span::current();
        let handler = run_handler(
            Arc::clone(&driver),
            trace,
            parent,
            service,
            handler,
            interceptors,
        )
        .boxed();
        Self {
            driver,
            input: Some(input),
            received: 0,
            limits,
            frames: FrameProgress::default(),
            stall: None,
            handler: Some(handler),
            runs: Vec::new(),
            start: StartPeek::default(),
            metrics,
        }
    }

    /// Does all the work that can be done now, then yields the VM's output: `Some` bytes,
    /// `None` once the response is complete.
    ///
    /// A panic below (say in the VM on input it cannot handle) abandons the attempt: the
    /// response ends without an end message, and Restate retries the invocation.
    pub(crate) fn poll_output(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Bytes>> {
        // The handler and the closures of its runs are instrumented with the invocation span,
        // and the runtime's own events here are logged inside it. What else runs here is the
        // state machine, whose events are debug and trace (but one): the span is entered for
        // them only when some debug event is enabled anywhere, since entering and leaving it on
        // every poll costs more than the rest of the telemetry.
        let span = {
            let mut state = self.driver.lock();
            state.attempt_polling();
            (state.span_ready()
                && !state.span().is_disabled()
                && tracing::level_filters::LevelFilter::current() >= tracing::Level::DEBUG)
                .then(|| state.span().clone())
        };
        let _entered = span.as_ref().map(tracing::Span::enter);
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.drive(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                let message = engine::panic_message(&*panic);
                let leftovers = {
                    let mut state = self.driver.lock();
                    state.span().in_scope(|| {
                        tracing::error!(%message, "the invocation attempt panicked; abandoning it");
                    });
                    state.settle(AttemptOutcome::Failed);
                    state.abandon();
                    state.take_leftover_runs()
                };
                drop(leftovers);
                self.stop();
                Poll::Ready(None)
            }
        }
    }

    /// The attempt's work; `poll_output` has marked it busy.
    fn drive(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<Bytes>> {
        loop {
            let input = self.poll_input(cx);
            if self.driver.lock().is_ended() {
                return self.end();
            }
            if self.watch_for_stall(cx) {
                return self.end();
            }
            self.poll_handler(cx);
            let runs = self.poll_runs(cx);
            if input || runs {
                continue;
            }
            let mut state = self.driver.lock();
            // Another task may have started a run since `poll_runs` looked.
            let running = self.runs.len();
            state.take_started_runs(&mut self.runs);
            if self.runs.len() > running {
                continue;
            }
            if state.is_ended() {
                drop(state);
                return self.end();
            }
            let output = state.take_output();
            state.attempt_idle(cx.waker());
            return if output.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(Some(output))
            };
        }
    }

    /// The invocation has ended (or was trapped while its handler and runs still waited):
    /// drops what will never be polled again, then yields the VM's last output.
    fn end(&mut self) -> Poll<Option<Bytes>> {
        self.stop();
        let (output, leftovers) = {
            let mut state = self.driver.lock();
            (state.vm.take_output(), state.take_leftover_runs())
        };
        drop(leftovers);
        Poll::Ready(Some(output).filter(|output| !output.is_empty()))
    }

    /// Ends the attempt when its body has waited in the middle of a message for the stall
    /// timeout: a timer runs while it waits there, restarted whenever bytes arrive.
    /// Whether it did (the attempt is then trapped). The watch needs tokio's timer: driven
    /// elsewhere, the endpoint does not watch for stalls.
    fn watch_for_stall(&mut self, cx: &mut TaskContext<'_>) -> bool {
        if self.input.is_none() || !self.frames.mid_message() {
            self.stall = None;
            return false;
        }
        if self.stall.is_none() && tokio::runtime::Handle::try_current().is_err() {
            return false;
        }
        let timeout = self.limits.stall_timeout;
        let watch = self.stall.get_or_insert_with(|| StallWatch {
            timer: Box::pin(tokio::time::sleep(timeout)),
            received: self.received,
        });
        if watch.received != self.received {
            watch.received = self.received;
            watch
                .timer
                .as_mut()
                .reset(tokio::time::Instant::now() + timeout);
        }
        if watch.timer.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.stall = None;
        self.input = None;
        let mut state = self.driver.lock();
        state.span().in_scope(|| {
            tracing::warn!(
                timeout = ?timeout,
                "an invocation request's body stalled in the middle of a message; ending it"
            );
        });
        let error = VmError::new(
            408u16,
            format!("the request body stalled in the middle of a message for {timeout:?}"),
        );
        self.driver.trap(&mut state, error);
        true
    }

    /// Stops reading the request and drops the handler and the running closures.
    fn stop(&mut self) {
        self.input = None;
        self.stall = None;
        self.handler = None;
        self.runs.clear();
    }

    /// Feeds every request frame that has arrived to the VM; whether any did.
    fn poll_input(&mut self, cx: &mut TaskContext<'_>) -> bool {
        let mut progressed = false;
        while let Some(input) = &mut self.input {
            let frame = match Pin::new(&mut *input).poll_frame(cx) {
                Poll::Pending => break,
                Poll::Ready(frame) => frame,
            };
            progressed = true;
            let mut state = self.driver.lock();
            state.changed();
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let over_limit =
                            self.received.saturating_add(data.len()) > self.limits.max_input;
                        if !over_limit && !self.limits.budget.take(data.len()) {
                            // What was sent is dropped with the attempt; Restate retries it.
                            state.span().in_scope(|| {
                                tracing::warn!(
                                    budget = self.limits.budget.held(),
                                    "the endpoint holds as many request bytes as its budget \
                                     allows; ending an invocation attempt"
                                );
                            });
                            let error = VmError::new(
                                503u16,
                                "the endpoint holds as many request bytes as its budget allows",
                            );
                            self.driver.trap(&mut state, error);
                            self.input = None;
                        } else if over_limit {
                            // What was sent is dropped with the attempt: memory stays bounded.
                            state.span().in_scope(|| {
                                tracing::warn!(
                                    limit = self.limits.max_input,
                                    "an invocation request exceeded the body limit; ending it"
                                );
                            });
                            let error = VmError::new(
                                413u16,
                                format!(
                                    "the request body exceeds the endpoint's limit of {} bytes",
                                    self.limits.max_input
                                ),
                            );
                            self.driver.trap(&mut state, error);
                            self.input = None;
                        } else {
                            self.received += data.len();
                            self.frames.advance(&data);
                            if let Some(start) = self.start.next_chunk(&data) {
                                state.set_attempt_number(start.attempt);
                                self.metrics.journal(start);
                            }
                            state.vm.notify_input(data);
                        }
                    }
                }
                Some(Err(error)) => {
                    state.span().in_scope(|| {
                        tracing::debug!(%error, "the connection broke; abandoning the attempt");
                    });
                    state.abandon();
                    self.input = None;
                }
                None => {
                    state.vm.notify_input_closed();
                    self.input = None;
                }
            }
            state.wake_waiting(cx.waker());
        }
        progressed
    }

    fn poll_handler(&mut self, cx: &mut TaskContext<'_>) {
        if let Some(handler) = &mut self.handler {
            if handler.as_mut().poll(cx).is_ready() {
                self.handler = None;
            }
        }
    }

    /// Polls the closures of started `run`s and proposes the results of those that finished;
    /// whether any did.
    fn poll_runs(&mut self, cx: &mut TaskContext<'_>) -> bool {
        self.driver.lock().take_started_runs(&mut self.runs);
        let mut progressed = false;
        let mut index = 0;
        while index < self.runs.len() {
            let Poll::Ready(result) = self.runs[index].closure.as_mut().poll(cx) else {
                index += 1;
                continue;
            };
            let run = self.runs.swap_remove(index);
            progressed = true;
            let mut state = self.driver.lock();
            if state.is_ended() {
                continue;
            }
            state.changed();
            match state
                .vm
                .propose_run_completion(run.handle, result, run.retry_policy)
            {
                Ok(()) => state.wake_waiting(cx.waker()),
                Err(error) => self.driver.trap(&mut state, error),
            }
        }
        progressed
    }
}

impl Drop for Attempt {
    /// The response body is gone, and with it the connection to Restate: nothing the attempt
    /// does can reach Restate any more. Restate retries the invocation on a new attempt.
    fn drop(&mut self) {
        let (leftovers, outcome) = {
            let mut state = self.driver.lock();
            state.abandon();
            (state.take_leftover_runs(), state.outcome())
        };
        // Closures may hold contexts: dropped once the lock is released.
        drop(leftovers);
        self.metrics.end(outcome);
        self.limits.budget.release(self.received);
    }
}

/// Runs the handler from the start message to the end of the response.
async fn run_handler(
    driver: Arc<Driver>,
    trace: InvokeTrace,
    parent: tracing::Span,
    service: Arc<dyn Service>,
    handler: &'static HandlerDefinition,
    interceptors: Option<Interceptors>,
) {
    let service_name = service.definition().name;
    if driver.ready_to_execute().await.is_err() {
        return;
    }
    let input = {
        let mut state = driver.lock();
        state.changed();
        match state.vm.sys_input() {
            Ok(input) => input,
            Err(error) => {
                driver.trap(&mut state, error);
                return;
            }
        }
    };
    let invocation_id = input.invocation_id.clone();
    let (span, replaying) = {
        let state = driver.lock();
        let replaying = state.is_replaying();
        let span = crate::telemetry::invocation_span(SpanFields {
            parent: &parent,
            service: service_name,
            handler: handler.name,
            key: &input.key,
            invocation_id: &invocation_id,
            attempt: state.attempt_number(),
            replaying,
        });
        (span, replaying)
    };
    drop(parent);
    let info = InvocationInfo {
        id: input.invocation_id,
        headers: input
            .headers
            .into_iter()
            .map(|h| (h.key.into_owned(), h.value.into_owned()))
            .collect(),
        key: input.key,
        idempotency_key: input.idempotency_key,
        scope: input.scope,
        limit_key: input.limit_key,
        random_seed: input.random_seed,
        rng: std::sync::OnceLock::new(),
        interceptors,
    };
    // Before the span first starts: on the next poll of the attempt, or in the handler below.
    trace.continue_on(&span, &info.headers);
    driver.lock().start_span(span.clone(), replaying);
    let context = Context::new(Arc::clone(&driver), info);
    let intercepted = context.info.interceptors.clone().map(|interceptors| {
        let attempt =
            crate::intercept::Attempt::new(service_name, handler.name, Arc::clone(&context.info));
        (interceptors, attempt)
    });
    let invocation = Invocation {
        service: service.definition(),
        handler,
        context,
        input: input.input,
    };
    span.in_scope(|| {
        tracing::debug!(service = service_name, handler = handler.name, %invocation_id, "invocation started");
    });

    // `invoke` itself may panic, before its future exists.
    let outcome = AssertUnwindSafe(async move {
        let handler = service.invoke(invocation);
        match intercepted {
            Some((interceptors, attempt)) => {
                crate::intercept::attempt(&interceptors, &attempt, handler).await
            }
            None => handler.await,
        }
    })
    .catch_unwind()
    .instrument(span.clone())
    .await;
    // What follows is reported inside the span, even on the poll that started the handler.
    let _entered = span.enter();

    let mut state = driver.lock();
    if state.is_trapped() {
        return;
    }
    let result = match outcome {
        Ok(Ok(output)) => state
            .vm
            .sys_write_output(NonEmptyValue::Success(output), PayloadOptions::default())
            .and_then(|()| state.vm.sys_end())
            .map(|()| AttemptOutcome::Success),
        Ok(Err(error)) => match error.into_terminal() {
            Ok(terminal) => {
                tracing::debug!(%invocation_id, %terminal, "invocation failed terminally");
                state
                    .vm
                    .sys_write_output(
                        NonEmptyValue::Failure(terminal.into()),
                        PayloadOptions::default(),
                    )
                    .and_then(|()| state.vm.sys_end())
                    .map(|()| AttemptOutcome::TerminalError)
            }
            Err(error) => {
                tracing::warn!(%invocation_id, %error, "invocation failed, Restate retries it");
                Err(VmError::new(500u16, error.to_string()))
            }
        },
        Err(panic) => {
            let message = engine::panic_message(&*panic);
            tracing::error!(%invocation_id, %message, "handler panicked, Restate retries it");
            Err(VmError::new(500u16, format!("handler panicked: {message}")))
        }
    };
    match result {
        Ok(outcome) => {
            state.settle(outcome);
            state.finish();
        }
        Err(error) => driver.trap(&mut state, error),
    }
}
