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

/// All of the above on one endpoint.
pub fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(OfficialGreeter)
        .bind(OfficialCounter)
        .bind(OfficialWaiter)
        .build()
}
