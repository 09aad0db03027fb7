//! The counter example: `counter.Counter`, a virtual object whose state is one number per key.

use std::time::Duration;

use restate_runtime::{HandlerError, ObjectContext, ObjectSharedContext, TerminalError};

/// The code generated from `proto/counter.proto`.
pub mod counter {
    restate_runtime::include_proto!("counter");
}

use counter::{AddRequest, CounterValue, SlowAddRequest};

/// The state key the count is stored under.
const COUNT: &str = "count";

/// Keeps one count per object key.
#[derive(Debug)]
pub struct MyCounter;

impl counter::Counter for MyCounter {
    async fn add(
        &self,
        ctx: ObjectContext,
        request: AddRequest,
    ) -> Result<CounterValue, HandlerError> {
        let current = ctx.get::<i64>(COUNT).await?.unwrap_or(0);
        let value = added(current, request.delta)?;
        ctx.set(COUNT, &value);
        Ok(CounterValue { value })
    }

    async fn slow_add(
        &self,
        ctx: ObjectContext,
        request: SlowAddRequest,
    ) -> Result<CounterValue, HandlerError> {
        let current = ctx.get::<i64>(COUNT).await?.unwrap_or(0);
        ctx.sleep(Duration::from_millis(request.pause_millis))
            .await?;
        let value = added(current, request.delta)?;
        ctx.set(COUNT, &value);
        Ok(CounterValue { value })
    }

    async fn get(&self, ctx: ObjectSharedContext) -> Result<CounterValue, HandlerError> {
        let value = ctx.get::<i64>(COUNT).await?.unwrap_or(0);
        Ok(CounterValue { value })
    }

    async fn reset(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        ctx.clear_all();
        Ok(())
    }
}

/// `current + delta`, or the terminal error a caller gets when that leaves the range of the
/// count: an overflow is bad input, which no retry fixes, so the key is not held by retries.
fn added(current: i64, delta: i64) -> Result<i64, TerminalError> {
    current.checked_add(delta).ok_or_else(|| {
        TerminalError::new(
            400,
            format!("adding {delta} to {current} leaves the range of the counter"),
        )
    })
}

/// An endpoint serving [`MyCounter`].
pub fn endpoint() -> restate_runtime::Endpoint {
    restate_runtime::Endpoint::builder()
        .bind(counter::CounterServer::new(MyCounter))
        .build()
}
