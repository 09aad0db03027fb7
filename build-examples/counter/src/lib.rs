//! The counter example: `counter.Counter`, a virtual object whose state is one number per key.

use std::time::Duration;

use restate_runtime::{HandlerError, ObjectContext, ObjectSharedContext};

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
        let value = ctx.get::<i64>(COUNT).await?.unwrap_or(0) + request.delta;
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
        let value = current + request.delta;
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

/// An endpoint serving [`MyCounter`].
pub fn endpoint() -> restate_runtime::Endpoint {
    restate_runtime::Endpoint::builder()
        .bind(counter::CounterServer::new(MyCounter))
        .build()
}
