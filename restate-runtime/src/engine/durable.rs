//! Durable futures: results of journaled operations that Restate completes, and the
//! combinators that wait on several of them through the VM's combinator tree, so a replay takes
//! the same branch.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use restate_sdk_shared_core::{NotificationHandle, UnresolvedFuture, VM, Value};

use super::driver::{Driver, DriverState, Progress};
use crate::error::TerminalError;

type Mapper<T> = Box<dyn FnOnce(Value) -> Result<T, TerminalError> + Send>;

/// The error an await returns once Restate cancelled the invocation.
pub(crate) fn cancelled() -> TerminalError {
    TerminalError::new(409, "the invocation was cancelled")
}

/// The error for a completion of a kind the operation never produces.
pub(crate) fn unexpected(value: &Value) -> TerminalError {
    let kind: &'static str = value.into();
    TerminalError::new(500, format!("unexpected completion of kind {kind}"))
}

/// The result of a journaled operation (a call, a timer, a `run`, an awakeable...), completed by
/// Restate.
///
/// Awaiting it yields the operation's value or the [`TerminalError`] it failed with; a
/// cancelled invocation gets a terminal error with code 409.
///
/// To wait on several at once, use [`select`], [`race`], [`join_all`], [`all_settled`], [`any`]
/// or [`Completions`] — not `tokio::select!` or `futures::join!`: those poll the futures one by
/// one, so Restate would learn of only one of them when the invocation suspends, and a replay
/// could take a different branch.
#[must_use = "durable futures do nothing unless awaited"]
pub struct DurableFuture<T> {
    driver: Arc<Driver>,
    /// `None` when the operation could not be issued; the invocation is trapped then.
    handle: Option<NotificationHandle>,
    map: Option<Mapper<T>>,
    /// A result known without asking Restate (e.g. a request that could not be encoded).
    ready: Option<Result<T, TerminalError>>,
    /// When it last waited (see [`DriverState::still_waiting`]).
    waited_at: u64,
}

impl<T> DurableFuture<T> {
    pub(crate) fn new(
        driver: &Arc<Driver>,
        handle: Option<NotificationHandle>,
        map: impl FnOnce(Value) -> Result<T, TerminalError> + Send + 'static,
    ) -> Self {
        Self {
            driver: Arc::clone(driver),
            handle,
            map: Some(Box::new(map)),
            ready: None,
            waited_at: 0,
        }
    }

    /// A future that resolves to `result` without touching the journal.
    pub(crate) fn ready(driver: &Arc<Driver>, result: Result<T, TerminalError>) -> Self {
        Self {
            driver: Arc::clone(driver),
            handle: None,
            map: None,
            ready: Some(result),
            waited_at: 0,
        }
    }

    /// Transforms the value, e.g. to give futures of different types one type for a combinator.
    pub fn map<U>(self, f: impl FnOnce(T) -> U + Send + 'static) -> DurableFuture<U>
    where
        T: 'static,
    {
        let DurableFuture {
            driver,
            handle,
            map,
            ready,
            waited_at,
        } = self;
        match ready {
            Some(result) => DurableFuture {
                driver,
                handle,
                map: None,
                ready: Some(result.map(f)),
                waited_at,
            },
            None => DurableFuture {
                driver,
                handle,
                map: map.map(|map| Box::new(move |value| map(value).map(f)) as Mapper<U>),
                ready: None,
                waited_at,
            },
        }
    }

    /// Waits for the result at most `duration`, measured by a durable timer (journaled under
    /// the name `timeout`), so a replay takes the same branch. When the timer fires first, the
    /// error is [`TerminalError::timeout`] (code 408, [`TerminalError::is_timeout`]); the
    /// operation itself goes on (a call keeps running: cancel it through its handle if it
    /// should not).
    ///
    /// ```no_run
    /// # async fn example(ctx: restate_runtime::Context) -> Result<(), restate_runtime::HandlerError> {
    /// use std::time::Duration;
    /// let (_id, approval) = ctx.awakeable::<bool>();
    /// match approval.timeout(Duration::from_secs(3600)).await {
    ///     Ok(approved) => { /* ... */ }
    ///     Err(error) if error.is_timeout() => { /* nobody answered within the hour */ }
    ///     Err(error) => return Err(error.into()),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn timeout(
        self,
        duration: Duration,
    ) -> impl Future<Output = Result<T, TerminalError>> + Send + 'static
    where
        T: Send + 'static,
    {
        // The timer is journaled now, where `timeout` is called, not when first polled.
        let timer = sleep(&self.driver, "timeout".to_owned(), duration).map(|()| None);
        let inner = self.map(Some);
        async move {
            match select(vec![inner, timer]).await? {
                (_, Ok(Some(value))) => Ok(value),
                (_, Ok(None)) => Err(TerminalError::timeout(duration)),
                (_, Err(error)) => Err(error),
            }
        }
    }

    /// Takes the completion, if Restate completed the operation already. Runs under the VM
    /// lock; [`DurableFuture::resolve`] finishes it once the lock is released.
    fn take_completed(&mut self, state: &mut DriverState) -> Option<Completion<T>> {
        if let Some(result) = self.ready.take() {
            return Some(Completion::Known(result));
        }
        let handle = self.handle?;
        if !state.vm.is_completed(handle) {
            return None;
        }
        self.driver
            .take_notification(state, handle)
            .map(Completion::Value)
    }

    /// Turns a completion into the future's result. Runs without the VM lock, because the
    /// mapper may be user code that uses the context.
    fn resolve(&mut self, completion: Completion<T>) -> Result<T, TerminalError> {
        match completion {
            Completion::Known(result) => result,
            Completion::Value(value) => match self.map.take() {
                Some(map) => map(value),
                None => Err(TerminalError::new(
                    500,
                    "a durable future was polled after it completed",
                )),
            },
        }
    }

    fn is_settled(&self, state: &DriverState) -> bool {
        self.ready.is_some() || self.handle.is_some_and(|h| state.vm.is_completed(h))
    }
}

/// A durable timer named `name` (empty for none) that fires `duration` from now.
pub(crate) fn sleep(driver: &Arc<Driver>, name: String, duration: Duration) -> DurableFuture<()> {
    let now = super::now_since_unix_epoch();
    let Some(wake_up) = super::time_after(duration) else {
        // A wake-up time the protocol cannot carry: the caller's input, not a fault to retry.
        return DurableFuture::ready(
            driver,
            Err(TerminalError::new(
                400,
                format!("cannot sleep for {duration:?}: the wake-up time is out of range"),
            )),
        );
    };
    let handle = driver.issue(|state| state.vm.sys_sleep(name, wake_up, Some(now)));
    DurableFuture::new(driver, handle, |value| match value {
        Value::Failure(failure) => Err(failure.into()),
        _ => Ok(()),
    })
}

/// A completion taken out of the VM, before the future's mapper turned it into a result.
enum Completion<T> {
    Known(Result<T, TerminalError>),
    Value(Value),
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
        let driver = Arc::clone(&this.driver);
        let mut state = driver.lock();
        if state.still_waiting(this.waited_at, cx.waker()) {
            return Poll::Pending;
        }
        let tree = UnresolvedFuture::Single(handle);
        let is_completed = |s: &DriverState| s.vm.is_completed(handle);
        let completion =
            match driver.poll_progress(&mut state, &tree, cx, &mut this.waited_at, is_completed) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Progress::Cancelled) => return Poll::Ready(Err(cancelled())),
                Poll::Ready(Progress::Ready) => driver
                    .take_notification(&mut state, handle)
                    .map(Completion::Value),
            };
        drop(state);
        match completion {
            Some(completion) => Poll::Ready(this.resolve(completion)),
            None => Poll::Pending,
        }
    }
}

// The future never pins `T` itself: it only holds it by value once it is ready.
impl<T> Unpin for DurableFuture<T> {}

impl<T> std::fmt::Debug for DurableFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableFuture")
            .field("handle", &self.handle)
            .field("ready", &self.ready.is_some())
            .finish_non_exhaustive()
    }
}

/// Which of the VM's combinators a wait uses; it is recorded when the invocation suspends.
#[derive(Clone, Copy)]
enum Combine {
    FirstCompleted,
    AllCompleted,
    FirstSucceededOrAllFailed,
    AllSucceededOrFirstFailed,
}

/// Where one future of a group stands.
enum Slot<T> {
    /// Not completed yet.
    Waiting,
    /// Completed; the result is held here.
    Done(Result<T, TerminalError>),
    /// Completed, and the result was handed out.
    HandedOut,
}

impl<T> Slot<T> {
    fn is_done(&self) -> bool {
        matches!(self, Slot::Done(_))
    }

    fn is_waiting(&self) -> bool {
        matches!(self, Slot::Waiting)
    }

    fn is_failure(&self) -> bool {
        matches!(self, Slot::Done(Err(_)))
    }

    fn is_success(&self) -> bool {
        matches!(self, Slot::Done(Ok(_)))
    }

    fn hand_out(&mut self) -> Option<Result<T, TerminalError>> {
        match std::mem::replace(self, Slot::HandedOut) {
            Slot::Done(result) => Some(result),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// Futures being waited on together, with the results taken so far.
struct Group<T> {
    futures: Vec<DurableFuture<T>>,
    results: Vec<Slot<T>>,
    combine: Combine,
    /// When the group last waited (see [`DriverState::still_waiting`]).
    waited_at: u64,
}

impl<T> Group<T> {
    fn new(futures: Vec<DurableFuture<T>>, combine: Combine) -> Self {
        let results = futures.iter().map(|_| Slot::Waiting).collect();
        Self {
            futures,
            results,
            combine,
            waited_at: 0,
        }
    }

    /// Takes every completed result, then stops when `done` holds for them.
    fn poll_until(
        &mut self,
        cx: &mut TaskContext<'_>,
        done: impl Fn(&[Slot<T>]) -> bool,
    ) -> Poll<Result<(), TerminalError>> {
        let Some(driver) = self.futures.first().map(|f| Arc::clone(&f.driver)) else {
            return Poll::Ready(Ok(()));
        };
        loop {
            let mut state = driver.lock();
            if state.still_waiting(self.waited_at, cx.waker()) {
                return Poll::Pending;
            }
            let completed: Vec<(usize, Completion<T>)> = self
                .futures
                .iter_mut()
                .zip(&self.results)
                .enumerate()
                .filter(|(_, (_, slot))| slot.is_waiting())
                .filter_map(|(index, (future, _))| {
                    future
                        .take_completed(&mut state)
                        .map(|completion| (index, completion))
                })
                .collect();
            if !completed.is_empty() {
                drop(state);
                for (index, completion) in completed {
                    self.results[index] = Slot::Done(self.futures[index].resolve(completion));
                }
                if done(&self.results) {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            if done(&self.results) {
                return Poll::Ready(Ok(()));
            }
            let pending: Vec<UnresolvedFuture> = self
                .futures
                .iter()
                .zip(&self.results)
                .filter(|(_, result)| result.is_waiting())
                .filter_map(|(future, _)| future.handle.map(UnresolvedFuture::Single))
                .collect();
            if pending.is_empty() {
                // Only futures that were never issued are left: the invocation is trapped.
                return Poll::Pending;
            }
            let tree = match self.combine {
                Combine::FirstCompleted => UnresolvedFuture::FirstCompleted(pending),
                Combine::AllCompleted => UnresolvedFuture::AllCompleted(pending),
                Combine::FirstSucceededOrAllFailed => {
                    UnresolvedFuture::FirstSucceededOrAllFailed(pending)
                }
                Combine::AllSucceededOrFirstFailed => {
                    UnresolvedFuture::AllSucceededOrFirstFailed(pending)
                }
            };
            let futures = &self.futures;
            let results = &self.results;
            let progressed = |state: &DriverState| {
                futures
                    .iter()
                    .zip(results)
                    .any(|(future, result)| result.is_waiting() && future.is_settled(state))
            };
            match driver.poll_progress(&mut state, &tree, cx, &mut self.waited_at, progressed) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Progress::Cancelled) => return Poll::Ready(Err(cancelled())),
                Poll::Ready(Progress::Ready) => {}
            }
        }
    }
}

/// Waits for the first of `futures` to complete: its index and its result. The outer error is
/// the cancellation of the invocation.
///
/// ```no_run
/// # async fn example(ctx: restate_runtime::Context) -> Result<(), restate_runtime::HandlerError> {
/// use std::time::Duration;
/// let (awakeable_id, approval) = ctx.awakeable::<String>();
/// let timeout = ctx.sleep(Duration::from_secs(60)).map(|()| String::from("timed out"));
/// let (index, result) = restate_runtime::select(vec![approval, timeout]).await?;
/// # Ok(()) }
/// ```
pub async fn select<T>(
    futures: Vec<DurableFuture<T>>,
) -> Result<(usize, Result<T, TerminalError>), TerminalError> {
    let mut group = Group::new(futures, Combine::FirstCompleted);
    std::future::poll_fn(|cx| group.poll_until(cx, |results| results.iter().any(Slot::is_done)))
        .await?;
    group
        .results
        .iter_mut()
        .enumerate()
        .find_map(|(index, slot)| slot.hand_out().map(|result| (index, result)))
        .ok_or_else(|| TerminalError::new(500, "select over no futures"))
}

/// The result of whichever of `futures` completes first, success or failure.
pub async fn race<T>(futures: Vec<DurableFuture<T>>) -> Result<T, TerminalError> {
    select(futures).await?.1
}

/// Waits for all of `futures` to succeed, or for the first failure.
pub async fn join_all<T>(futures: Vec<DurableFuture<T>>) -> Result<Vec<T>, TerminalError> {
    let mut group = Group::new(futures, Combine::AllSucceededOrFirstFailed);
    std::future::poll_fn(|cx| {
        group.poll_until(cx, |results| {
            results.iter().all(Slot::is_done) || results.iter().any(Slot::is_failure)
        })
    })
    .await?;
    if let Some(failure) = group.results.iter_mut().find(|slot| slot.is_failure()) {
        return match failure.hand_out() {
            Some(Err(error)) => Err(error),
            _ => Err(TerminalError::new(500, "a joined future failed")),
        };
    }
    let mut values = Vec::with_capacity(group.results.len());
    for mut slot in group.results {
        match slot.hand_out() {
            Some(result) => values.push(result?),
            None => return Err(TerminalError::new(500, "a joined future did not complete")),
        }
    }
    Ok(values)
}

/// Waits for every one of `futures` to complete, successfully or not.
pub async fn all_settled<T>(
    futures: Vec<DurableFuture<T>>,
) -> Result<Vec<Result<T, TerminalError>>, TerminalError> {
    let mut group = Group::new(futures, Combine::AllCompleted);
    std::future::poll_fn(|cx| group.poll_until(cx, |results| results.iter().all(Slot::is_done)))
        .await?;
    Ok(group
        .results
        .iter_mut()
        .filter_map(Slot::hand_out)
        .collect())
}

/// The first of `futures` to succeed, with its index; if all fail, the last failure.
pub async fn any<T>(futures: Vec<DurableFuture<T>>) -> Result<(usize, T), TerminalError> {
    let mut group = Group::new(futures, Combine::FirstSucceededOrAllFailed);
    std::future::poll_fn(|cx| {
        group.poll_until(cx, |results| {
            results.iter().all(Slot::is_done) || results.iter().any(Slot::is_success)
        })
    })
    .await?;
    let mut last_failure = TerminalError::new(500, "any over no futures");
    for (index, mut slot) in group.results.into_iter().enumerate() {
        match slot.hand_out() {
            Some(Ok(value)) => return Ok((index, value)),
            Some(Err(error)) => last_failure = error,
            None => {}
        }
    }
    Err(last_failure)
}

/// Yields futures' results in the order they complete.
///
/// ```no_run
/// # async fn example(ctx: restate_runtime::Context) -> Result<(), restate_runtime::HandlerError> {
/// # let futures: Vec<restate_runtime::DurableFuture<String>> = vec![];
/// let mut completions = restate_runtime::Completions::new(futures);
/// while let Some((index, result)) = completions.next().await? {
///     // ...
/// }
/// # Ok(()) }
/// ```
pub struct Completions<T> {
    group: Group<T>,
}

impl<T> std::fmt::Debug for Completions<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pending = self
            .group
            .results
            .iter()
            .filter(|slot| !matches!(slot, Slot::HandedOut))
            .count();
        f.debug_struct("Completions")
            .field("not_yielded", &pending)
            .finish()
    }
}

impl<T> Completions<T> {
    /// Starts waiting on `futures`.
    pub fn new(futures: Vec<DurableFuture<T>>) -> Self {
        Self {
            group: Group::new(futures, Combine::FirstCompleted),
        }
    }

    /// The next completed future's index and result; `None` when all were yielded. The outer
    /// error is the cancellation of the invocation.
    pub async fn next(
        &mut self,
    ) -> Result<Option<(usize, Result<T, TerminalError>)>, TerminalError> {
        if !self
            .group
            .results
            .iter()
            .any(|slot| !matches!(slot, Slot::HandedOut))
        {
            return Ok(None);
        }
        let group = &mut self.group;
        std::future::poll_fn(|cx| {
            group.poll_until(cx, |results| results.iter().any(Slot::is_done))
        })
        .await?;
        Ok(self
            .group
            .results
            .iter_mut()
            .enumerate()
            .find_map(|(index, slot)| slot.hand_out().map(|result| (index, result))))
    }
}
