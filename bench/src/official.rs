//! The benchmarked services written with the official `restate-sdk` crate, with JSON payloads
//! of the same shapes as the ProtoJSON ones of `proto/bench.proto`.

use restate_sdk::prelude::*;
use serde::{Deserialize, Serialize};

use crate::InFlight;

const COUNT: &str = "count";

#[derive(Serialize, Deserialize)]
pub struct HelloRequest {
    pub name: String,
}

#[derive(Serialize, Deserialize)]
pub struct HelloResponse {
    pub message: String,
}

#[derive(Serialize, Deserialize)]
pub struct AddRequest {
    pub delta: i64,
}

#[derive(Serialize, Deserialize)]
pub struct CounterValue {
    pub value: i64,
}

#[derive(Serialize, Deserialize)]
pub struct WaitResult {
    pub value: String,
}

/// The greeter: one journaled `run`.
pub struct OfficialGreeter;

#[restate_sdk::service]
impl OfficialGreeter {
    #[handler(name = "SayHello")]
    async fn say_hello(
        &self,
        ctx: Context<'_>,
        request: Json<HelloRequest>,
    ) -> Result<Json<HelloResponse>, HandlerError> {
        let name = request.into_inner().name;
        let message = ctx
            .run(|| async move { Ok(format!("Hello, {name}!")) })
            .name("greet")
            .await?;
        Ok(Json(HelloResponse { message }))
    }
}

/// The counter object: read the state, add, write it back.
pub struct OfficialCounter;

#[restate_sdk::object]
impl OfficialCounter {
    #[handler(name = "Add")]
    async fn add(
        &self,
        ctx: ObjectContext<'_>,
        request: Json<AddRequest>,
    ) -> Result<Json<CounterValue>, HandlerError> {
        let value = ctx.get::<i64>(COUNT).await?.unwrap_or(0) + request.into_inner().delta;
        ctx.set(COUNT, value);
        Ok(Json(CounterValue { value }))
    }
}

/// Waits on an awakeable nobody completes.
pub struct OfficialWaiter;

#[restate_sdk::service]
impl OfficialWaiter {
    #[handler(name = "Wait")]
    async fn wait(&self, ctx: Context<'_>) -> Result<Json<WaitResult>, HandlerError> {
        let (_id, completion) = ctx.awakeable::<String>();
        let _in_flight = InFlight::enter();
        let value = completion.await?;
        Ok(Json(WaitResult { value }))
    }
}

#[derive(Serialize, Deserialize)]
pub struct StepsRequest {
    /// `STEP_KIND_RUN`, `STEP_KIND_STATE`, `STEP_KIND_CALL` or `STEP_KIND_SLEEP`, as in the
    /// ProtoJSON of `bench.StepsRequest`.
    pub kind: String,
    pub count: u32,
}

#[derive(Serialize, Deserialize)]
pub struct StepsResult {
    pub done: u32,
}

#[derive(Serialize, Deserialize)]
pub struct TouchRequest {
    #[serde(default)]
    pub fill: u32,
}

/// `count` steps of one kind.
pub struct OfficialSteps;

#[restate_sdk::workflow]
impl OfficialSteps {
    #[handler(name = "Run")]
    async fn run(
        &self,
        ctx: WorkflowContext<'_>,
        request: Json<StepsRequest>,
    ) -> Result<Json<StepsResult>, HandlerError> {
        let request = request.into_inner();
        for step in 0..request.count {
            match request.kind.as_str() {
                "STEP_KIND_RUN" => {
                    ctx.run(|| async move { Ok(step) }).name("step").await?;
                }
                "STEP_KIND_STATE" => {
                    let value = ctx.get::<u32>("step").await?.unwrap_or(0);
                    ctx.set("step", value + 1);
                }
                "STEP_KIND_CALL" => {
                    ctx.service_client::<OfficialEchoClient>()
                        .echo(Json(HelloRequest {
                            name: "Ada".to_owned(),
                        }))
                        .call()
                        .await?;
                }
                "STEP_KIND_SLEEP" => ctx.sleep(std::time::Duration::ZERO).await?,
                _ => return Err(TerminalError::new("unknown step kind").into()),
            }
        }
        Ok(Json(StepsResult {
            done: request.count,
        }))
    }
}

/// Answers at once.
pub struct OfficialEcho;

#[restate_sdk::service]
impl OfficialEcho {
    #[handler(name = "Echo")]
    async fn echo(
        &self,
        _ctx: Context<'_>,
        request: Json<HelloRequest>,
    ) -> Result<Json<HelloResponse>, HandlerError> {
        Ok(Json(HelloResponse {
            message: request.into_inner().name,
        }))
    }
}

/// Touches one entry of a large state.
pub struct OfficialBigState;

#[restate_sdk::object]
impl OfficialBigState {
    #[handler(name = "Touch")]
    async fn touch(
        &self,
        ctx: ObjectContext<'_>,
        request: Json<TouchRequest>,
    ) -> Result<Json<StepsResult>, HandlerError> {
        for entry in 0..request.into_inner().fill {
            ctx.set(&format!("entry-{entry}"), entry);
        }
        let value = ctx.get::<u32>("entry-0").await?.unwrap_or(0);
        ctx.set("entry-0", value + 1);
        Ok(Json(StepsResult { done: 1 }))
    }
}

/// All of the above on one endpoint.
pub fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(OfficialGreeter)
        .bind(OfficialCounter)
        .bind(OfficialWaiter)
        .bind(OfficialSteps)
        .bind(OfficialEcho)
        .bind(OfficialBigState)
        .build()
}
