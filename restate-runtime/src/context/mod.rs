//! The user API: the contexts handlers receive. [`Context`] has durable side effects, timers,
//! randomness and facts about the invocation; the keyed contexts add state and promises; calls
//! to other services go through the generated clients (see [`crate::Request`]).

mod awakeable;
mod invocation;
mod keyed;
mod retry;

pub(crate) use invocation::decode_output;
pub use invocation::{CallFuture, InvocationHandle, SendHandle};
pub use keyed::{ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext};
pub use retry::RunRetryPolicy;

use std::future::Future;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use restate_sdk_shared_core::{RetryPolicy, VM, Value};
use tracing::Instrument;

use crate::codec::{Codec, Payload};

use crate::engine::{self, Driver, DriverState, DurableFuture, Run, unexpected};
use crate::error::{HandlerError, TerminalError};

/// Facts about the running invocation that never change during it.
pub(crate) struct InvocationInfo {
    pub(crate) id: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) key: String,
    /// The idempotency key the invocation was started with, if the protocol carries it.
    pub(crate) idempotency_key: Option<String>,
    /// The scope the invocation was started in, if any.
    pub(crate) scope: Option<String>,
    /// The limit key the invocation was started with, if any.
    pub(crate) limit_key: Option<String>,
    /// Chosen by Restate per invocation, so every attempt draws the same numbers.
    pub(crate) random_seed: u64,
    /// Seeded from `random_seed` on first use.
    pub(crate) rng: OnceLock<Mutex<StdRng>>,
    /// The endpoint's interceptors; `None` when it has none.
    pub(crate) interceptors: Option<crate::intercept::Interceptors>,
}

impl InvocationInfo {
    /// The header `name` (case-insensitive), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

impl std::fmt::Debug for InvocationInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvocationInfo")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The context of a handler of a plain service.
///
/// Every operation is journaled: on a retry, completed operations replay their recorded result
/// instead of running again. Cloning is cheap; clones refer to the same invocation.
///
/// A clone may be moved into a task the handler spawns, as long as the handler waits for that
/// task: operations from concurrent tasks are journaled in whatever order they happen to run,
/// which a retry may not reproduce. Once the attempt ends (the handler returned, or the
/// connection to Restate was lost), the context's futures never complete.
#[derive(Clone)]
pub struct Context {
    pub(crate) driver: Arc<Driver>,
    pub(crate) info: Arc<InvocationInfo>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("invocation_id", &self.info.id)
            .field("key", &self.info.key)
            .finish_non_exhaustive()
    }
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
        self.info.header(name)
    }

    /// The idempotency key the invocation was started with (the caller's `idempotency-key`),
    /// if any: from the protocol where it carries it (version 7 on), else from the request
    /// header.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.info
            .idempotency_key
            .as_deref()
            .or_else(|| self.header("idempotency-key"))
    }

    /// The scope the invocation was started in, if any (Restate versions whose protocol
    /// carries scopes, 7 on).
    pub fn scope(&self) -> Option<&str> {
        self.info.scope.as_deref()
    }

    /// The limit key the invocation was started with, if any (protocol version 7 on).
    pub fn limit_key(&self) -> Option<&str> {
        self.info.limit_key.as_deref()
    }

    /// Runs `draw` with a random number generator seeded by the invocation: every attempt of
    /// the invocation draws the same sequence, so random choices replay deterministically.
    ///
    /// ```no_run
    /// # fn example(ctx: restate_runtime::Context) {
    /// use restate_runtime::rand::Rng;
    /// let dice: u8 = ctx.rand(|rng| rng.random_range(1..=6));
    /// # }
    /// ```
    pub fn rand<R>(&self, draw: impl FnOnce(&mut StdRng) -> R) -> R {
        let rng = self
            .info
            .rng
            .get_or_init(|| Mutex::new(StdRng::seed_from_u64(self.info.random_seed)));
        let mut rng = rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        draw(&mut rng)
    }

    /// A random (version 4) UUID drawn from [`Context::rand`]: the same on every attempt.
    pub fn random_uuid(&self) -> uuid::Uuid {
        let mut bytes = [0u8; 16];
        self.rand(|rng| rng.fill_bytes(&mut bytes));
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Sleeps durably: the timer lives in Restate, so the invocation may suspend and resume on
    /// another attempt when it fires.
    pub fn sleep(&self, duration: Duration) -> DurableFuture<()> {
        engine::sleep(&self.driver, String::new(), duration)
    }

    /// Sleeps durably, as [`Context::sleep`], under a name the journal shows (`restate
    /// invocations describe`, the admin API's `sys_journal`), e.g. `"cool-down"`.
    pub fn sleep_named(&self, name: impl Into<String>, duration: Duration) -> DurableFuture<()> {
        engine::sleep(&self.driver, name.into(), duration)
    }

    /// Runs a side effect once and journals its result under `name`.
    ///
    /// On retries the recorded result is replayed and `action` does not run again. If `action`
    /// fails with a [`TerminalError`], that failure is recorded and returned; any other error
    /// (or a panic) is retried with Restate's retry policy until it succeeds. See
    /// [`Context::run_with_retry`] to bound the retries.
    ///
    /// `action`'s future runs on the invocation's own task, next to the handler: several `run`s
    /// awaited together (say with [`crate::join_all`]) make progress concurrently, not in
    /// parallel. Move blocking or CPU-heavy work to `tokio::task::spawn_blocking` inside it.
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
        self.run_inner(name.into(), RetryPolicy::Infinite, action)
    }

    /// As [`Context::run`], retrying failures by `policy`; once it is exhausted, the `run` fails
    /// with a terminal error carrying the last failure's message.
    pub fn run_with_retry<T, F, Fut>(
        &self,
        name: impl Into<String>,
        policy: RunRetryPolicy,
        action: F,
    ) -> DurableFuture<T>
    where
        T: Payload,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, HandlerError>> + Send + 'static,
    {
        self.run_inner(name.into(), policy.to_core(), action)
    }

    fn run_inner<T, F, Fut>(&self, name: String, policy: RetryPolicy, action: F) -> DurableFuture<T>
    where
        T: Payload,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, HandlerError>> + Send + 'static,
    {
        let handle = self.with_vm_state(|state| {
            // Kept for the interceptors only: no copy when there are none.
            let intercepted = self
                .info
                .interceptors
                .as_ref()
                .map(|all| (all, name.clone()));
            let run = state.vm.sys_run(name)?;
            if !run.replayed {
                // In the invocation span, whichever task runs it.
                let span = state.span().clone();
                let work = async move {
                    let value = action().await?;
                    value
                        .encode_payload(Codec::Json)
                        .map_err(HandlerError::from)
                };
                // Boxed once more only when interceptors wrap it.
                let closure: engine::RunClosure = match intercepted {
                    None => Box::pin(engine::execute_run(work).instrument(span)),
                    Some((interceptors, name)) => {
                        let info = crate::intercept::RunInfo::new(name, Arc::clone(&self.info));
                        let work = crate::intercept::run(interceptors, &info, Box::pin(work));
                        Box::pin(engine::execute_run(work).instrument(span))
                    }
                };
                Driver::register_run(
                    state,
                    Run {
                        handle: run.handle,
                        closure,
                        retry_policy: policy,
                    },
                );
            }
            Ok(run.handle)
        });
        DurableFuture::new(&self.driver, handle, |value| match value {
            Value::Success(bytes) => T::decode_payload(Codec::Json, &bytes)
                .map_err(|e| TerminalError::new(500, format!("cannot decode a run result: {e}"))),
            Value::Void => Ok(T::default()),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    /// Encodes a value to journal; an encoding failure fails the attempt (it is retried).
    pub(crate) fn encode_or_trap<T: Payload>(
        &self,
        codec: Codec,
        value: &T,
        what: &str,
    ) -> Option<bytes::Bytes> {
        match value.encode_payload(codec) {
            Ok(bytes) => Some(bytes),
            Err(error) => {
                let message = format!("cannot encode {what}: {error}");
                self.with_vm::<()>(|_| Err(restate_sdk_shared_core::Error::new(500u16, message)));
                None
            }
        }
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
        call: impl FnOnce(&mut DriverState) -> Result<T, restate_sdk_shared_core::Error>,
    ) -> Option<T> {
        self.driver.issue(call)
    }
}
