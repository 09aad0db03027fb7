//! The benchmarked services built with `restate-codegen` and `restate-runtime`.

use std::time::Duration;

use restate_runtime::{Context, Endpoint, HandlerError, ObjectContext, WorkflowContext};

use crate::InFlight;
use crate::proto::{
    AddRequest, CounterProtoServer, CounterServer, CounterValue, GreeterClient, GreeterProtoServer,
    GreeterServer, HelloRequest, HelloResponse, RemindRequest, ReminderServer, WaitResult,
    WaiterServer,
};

const COUNT: &str = "count";

async fn greet(ctx: Context, request: HelloRequest) -> Result<HelloResponse, HandlerError> {
    let name = request.name;
    let message = ctx
        .run(
            "greet",
            move || async move { Ok(format!("Hello, {name}!")) },
        )
        .await?;
    Ok(HelloResponse { message })
}

async fn add(ctx: ObjectContext, request: AddRequest) -> Result<CounterValue, HandlerError> {
    let value = ctx.get::<i64>(COUNT).await?.unwrap_or(0) + request.delta;
    ctx.set(COUNT, &value);
    Ok(CounterValue { value })
}

/// The greeter, ProtoJSON (`bench.Greeter`) and binary Protobuf (`bench.GreeterProto`).
pub struct Greeter;

impl crate::proto::Greeter for Greeter {
    async fn say_hello(
        &self,
        ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        greet(ctx, request).await
    }
}

impl crate::proto::GreeterProto for Greeter {
    async fn say_hello(
        &self,
        ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        greet(ctx, request).await
    }
}

/// The counter object, ProtoJSON (`bench.Counter`) and binary Protobuf (`bench.CounterProto`).
pub struct Counter;

impl crate::proto::Counter for Counter {
    async fn add(
        &self,
        ctx: ObjectContext,
        request: AddRequest,
    ) -> Result<CounterValue, HandlerError> {
        add(ctx, request).await
    }
}

impl crate::proto::CounterProto for Counter {
    async fn add(
        &self,
        ctx: ObjectContext,
        request: AddRequest,
    ) -> Result<CounterValue, HandlerError> {
        add(ctx, request).await
    }
}

/// Waits on an awakeable nobody completes.
pub struct Waiter;

impl crate::proto::Waiter for Waiter {
    async fn wait(&self, ctx: Context) -> Result<WaitResult, HandlerError> {
        let (_id, completion) = ctx.awakeable::<String>();
        let _in_flight = InFlight::enter();
        let value = completion.await?;
        Ok(WaitResult { value })
    }
}

/// A reminder workflow: steps, a three-day sleep, a call.
pub struct Reminder;

impl crate::proto::Reminder for Reminder {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: RemindRequest,
    ) -> Result<HelloResponse, HandlerError> {
        for step in 0..request.steps {
            ctx.run("step", move || async move { Ok(step) }).await?;
        }
        ctx.sleep(Duration::from_secs(3 * 24 * 3600)).await?;
        let greeting = GreeterClient::new(&ctx)
            .say_hello(HelloRequest { name: request.name })
            .await?;
        Ok(greeting)
    }
}

/// All of the above on one endpoint.
pub fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(GreeterServer::new(Greeter))
        .bind(GreeterProtoServer::new(Greeter))
        .bind(CounterServer::new(Counter))
        .bind(CounterProtoServer::new(Counter))
        .bind(WaiterServer::new(Waiter))
        .bind(ReminderServer::new(Reminder))
        .build()
}
