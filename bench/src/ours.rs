//! The benchmarked services built with `restate-codegen` and `restate-runtime`.

use std::time::Duration;

use restate_runtime::{Context, Endpoint, HandlerError, ObjectContext, WorkflowContext};

use crate::InFlight;
use crate::proto::{
    AddRequest, BigStateServer, CounterProtoServer, CounterServer, CounterValue, EchoClient,
    EchoServer, GreeterClient, GreeterProtoServer, GreeterServer, HelloRequest, HelloResponse,
    RemindRequest, ReminderServer, StepKind, StepsRequest, StepsResult, StepsServer, TouchRequest,
    WaitResult, WaiterServer,
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

/// `count` steps of one kind.
pub struct Steps;

impl crate::proto::Steps for Steps {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: StepsRequest,
    ) -> Result<StepsResult, HandlerError> {
        let kind = StepKind::try_from(request.kind)
            .map_err(|_| restate_runtime::TerminalError::new(400, "unknown step kind"))?;
        for step in 0..request.count {
            match kind {
                StepKind::Run => {
                    ctx.run("step", move || async move { Ok(step) }).await?;
                }
                StepKind::State => {
                    let value = ctx.get::<u32>("step").await?.unwrap_or(0);
                    ctx.set("step", &(value + 1));
                }
                StepKind::Call => {
                    EchoClient::new(&ctx)
                        .echo(HelloRequest {
                            name: "Ada".to_owned(),
                        })
                        .await?;
                }
                StepKind::Sleep => ctx.sleep(Duration::ZERO).await?,
            }
        }
        Ok(StepsResult {
            done: request.count,
        })
    }
}

/// Answers at once.
pub struct Echo;

impl crate::proto::Echo for Echo {
    async fn echo(
        &self,
        _ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        Ok(HelloResponse {
            message: request.name,
        })
    }
}

/// Touches one entry of a large state.
pub struct BigState;

impl crate::proto::BigState for BigState {
    async fn touch(
        &self,
        ctx: ObjectContext,
        request: TouchRequest,
    ) -> Result<StepsResult, HandlerError> {
        for entry in 0..request.fill {
            ctx.set(&format!("entry-{entry}"), &entry);
        }
        let value = ctx.get::<u32>("entry-0").await?.unwrap_or(0);
        ctx.set("entry-0", &(value + 1));
        Ok(StepsResult { done: 1 })
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
        .bind(StepsServer::new(Steps))
        .bind(EchoServer::new(Echo))
        .bind(BigStateServer::new(BigState))
        .build()
}
