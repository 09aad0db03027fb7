//! The context a handler receives: durable side effects, timers, calls, and facts about the
//! invocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use restate_sdk_shared_core::{NotificationHandle, RetryPolicy, VM, Value};

use crate::codec::{self, Format, Payload};
use crate::error::{HandlerError, TerminalError};
use crate::vm_driver::{self, Driver};

/// Facts about the running invocation that never change during it.
pub(crate) struct InvocationInfo {
    pub(crate) id: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) key: String,
}

/// The context of a handler of a plain service.
///
/// Every operation is journaled: on a retry, completed operations replay their recorded result
/// instead of running again. Cloning is cheap; clones refer to the same invocation.
#[derive(Clone)]
pub struct Context {
    pub(crate) driver: Arc<Driver>,
    pub(crate) info: Arc<InvocationInfo>,
}

impl AsRef<Context> for Context {
    fn as_ref(&self) -> &Context {
        self
    }
}

impl Context {
    pub(crate) fn new(driver: Arc<Driver>, info: InvocationInfo) -> Self {
        Self {
            driver,
            info: Arc::new(info),
        }
    }

    /// The invocation id, e.g. `inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz`.
    pub fn invocation_id(&self) -> &str {
        &self.info.id
    }

    /// The headers the invocation was started with.
    pub fn headers(&self) -> &[(String, String)] {
        &self.info.headers
    }

    /// The value of the request header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.info
            .headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Sleeps durably: the timer lives in Restate, so the invocation may suspend and resume on
    /// another attempt when it fires.
    pub fn sleep(&self, duration: Duration) -> DurableFuture<()> {
        let now = vm_driver::now_since_unix_epoch();
        let handle = self.with_vm(|vm| vm.sys_sleep(String::new(), now + duration, Some(now)));
        DurableFuture::new(self, handle, |value| match value {
            Value::Failure(failure) => Err(failure.into()),
            _ => Ok(()),
        })
    }

    /// Runs a side effect once and journals its result under `name`.
    ///
    /// On retries the recorded result is replayed and `action` does not run again. If `action`
    /// fails with a [`TerminalError`], that failure is recorded and returned; any other error is
    /// retried (with Restate's retry policy) until it succeeds.
    ///
    /// ```no_run
    /// # async fn example(ctx: restate_runtime::Context) -> Result<(), restate_runtime::HandlerError> {
    /// let greeting: String = ctx
    ///     .run("compose greeting", || async { Ok("Hello".to_string()) })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn run<T, F, Fut>(&self, name: impl Into<String>, action: F) -> DurableFuture<T>
    where
        T: Payload,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, HandlerError>> + Send + 'static,
    {
        let name = name.into();
        let handle = self.with_vm_state(|state| {
            let run = state.vm.sys_run(name)?;
            if !run.replayed {
                let closure = Box::pin(vm_driver::execute_run(async move {
                    let value = action().await?;
                    codec::encode(Format::Json, &value).map_err(HandlerError::from)
                }));
                Driver::register_run(state, run.handle, closure, RetryPolicy::default());
            }
            Ok(run.handle)
        });
        DurableFuture::new(self, handle, |value| match value {
            Value::Success(bytes) => codec::decode(Format::Json, &bytes)
                .map_err(|e| TerminalError::new(500, format!("cannot decode a run result: {e}"))),
            Value::Void => Ok(T::default()),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    /// Runs one VM call; a VM error traps the invocation and yields `None`.
    pub(crate) fn with_vm<T>(
        &self,
        call: impl FnOnce(
            &mut restate_sdk_shared_core::CoreVM,
        ) -> Result<T, restate_sdk_shared_core::Error>,
    ) -> Option<T> {
        self.with_vm_state(|state| call(&mut state.vm))
    }

    pub(crate) fn with_vm_state<T>(
        &self,
        call: impl FnOnce(&mut vm_driver::DriverState) -> Result<T, restate_sdk_shared_core::Error>,
    ) -> Option<T> {
        let mut state = self.driver.lock();
        if state.is_trapped() {
            return None;
        }
        match call(&mut state) {
            Ok(value) => {
                state.flush();
                Some(value)
            }
            Err(error) => {
                self.driver.trap(&mut state, error);
                None
            }
        }
    }
}

pub(crate) fn unexpected(value: &Value) -> TerminalError {
    let kind: &'static str = value.into();
    TerminalError::new(500, format!("unexpected completion of kind {kind}"))
}

type Mapper<T> = Box<dyn FnOnce(Value) -> Result<T, TerminalError> + Send>;

/// The result of a journaled operation (a call, a timer, a `run`), completed by Restate.
///
/// Awaiting it yields the operation's value or the [`TerminalError`] it failed with.
#[must_use = "durable futures do nothing unless awaited"]
pub struct DurableFuture<T> {
    driver: Arc<Driver>,
    /// `None` when the operation could not be issued; the invocation is trapped then.
    handle: Option<NotificationHandle>,
    map: Option<Mapper<T>>,
    /// A result known without asking Restate (e.g. a request that could not be encoded).
    ready: Option<Result<T, TerminalError>>,
}

impl<T> DurableFuture<T> {
    pub(crate) fn new(
        ctx: &Context,
        handle: Option<NotificationHandle>,
        map: impl FnOnce(Value) -> Result<T, TerminalError> + Send + 'static,
    ) -> Self {
        Self {
            driver: Arc::clone(&ctx.driver),
            handle,
            map: Some(Box::new(map)),
            ready: None,
        }
    }

    /// A future that resolves to `result` without touching the journal.
    pub(crate) fn ready(ctx: &Context, result: Result<T, TerminalError>) -> Self {
        Self {
            driver: Arc::clone(&ctx.driver),
            handle: None,
            map: None,
            ready: Some(result),
        }
    }
}

impl<T> Future for DurableFuture<T> {
    type Output = Result<T, TerminalError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(result) = this.ready.take() {
            return Poll::Ready(result);
        }
        let Some(handle) = this.handle else {
            return Poll::Pending;
        };
        match this.driver.poll_handle(handle, cx) {
            Poll::Ready(value) => {
                let map = this
                    .map
                    .take()
                    .expect("a durable future is not polled after it completed");
                Poll::Ready(map(value))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

// The future never pins `T` itself: it only holds it by value once it is ready.
impl<T> Unpin for DurableFuture<T> {}
