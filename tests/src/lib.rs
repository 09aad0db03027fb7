//! Services for the end-to-end tests, implemented with the generated traits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use restate_runtime::{Context, Endpoint, HandlerError, TerminalError};

pub mod conformance;
pub mod raw_ingress;
pub mod scenarios;

/// The code generated from `proto/e2e.proto`.
pub mod e2e {
    restate_runtime::include_proto!("e2e");
}

use e2e::*;
use greeter::helloworld::{GreeterClient, HelloRequest};

/// Echoes in binary Protobuf.
pub struct Echo;

impl BinaryEcho for Echo {
    async fn echo(
        &self,
        _ctx: Context,
        request: EchoRequest,
    ) -> Result<EchoResponse, HandlerError> {
        Ok(EchoResponse {
            text: request.text,
            number: request.number,
            blob_sum: request.blob.iter().map(|b| u32::from(*b)).sum(),
            tags: request.tags,
        })
    }
}

/// Implements every `Misc` handler but `Unimplemented`.
#[derive(Default)]
pub struct MiscService {
    attempts: Mutex<HashMap<String, u32>>,
}

impl MiscService {
    /// Counts one more attempt for `key` and returns the count.
    fn count_attempt(&self, key: String) -> u32 {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let count = attempts.entry(key).or_default();
        *count += 1;
        *count
    }
}

impl Misc for MiscService {
    async fn fail_once(
        &self,
        _ctx: Context,
        request: FailOnceRequest,
    ) -> Result<FailOnceResponse, HandlerError> {
        let attempts = self.count_attempt(request.key);
        if attempts == 1 {
            return Err(HandlerError::retryable("the first attempt always fails"));
        }
        Ok(FailOnceResponse { attempts })
    }

    async fn panic_once(
        &self,
        _ctx: Context,
        request: FailOnceRequest,
    ) -> Result<FailOnceResponse, HandlerError> {
        let attempts = self.count_attempt(request.key);
        if attempts == 1 {
            panic!("the first attempt always panics");
        }
        Ok(FailOnceResponse { attempts })
    }

    async fn nap(&self, ctx: Context, request: NapRequest) -> Result<(), HandlerError> {
        ctx.sleep(Duration::from_millis(request.millis)).await?;
        Ok(())
    }

    async fn who_am_i(&self, ctx: Context) -> Result<WhoAmIResponse, HandlerError> {
        Ok(WhoAmIResponse {
            invocation_id: ctx.invocation_id().to_owned(),
            greeting_header: ctx.header("x-greeting").unwrap_or_default().to_owned(),
        })
    }

    async fn greet_through_greeter(
        &self,
        ctx: Context,
        request: GreetRequest,
    ) -> Result<GreetResponse, HandlerError> {
        let response = GreeterClient::new(&ctx)
            .say_hello(HelloRequest { name: request.name })
            .await?;
        Ok(GreetResponse {
            greeting: response.message,
        })
    }

    async fn random_is_replayed(
        &self,
        ctx: Context,
        request: FailOnceRequest,
    ) -> Result<RandomResponse, HandlerError> {
        let drawn = ctx.random_uuid().to_string();
        let journaled = drawn.clone();
        let recorded: String = ctx
            .run("record the draw", || async move { Ok(journaled) })
            .await?;
        let attempts = self.count_attempt(request.key);
        if attempts == 1 {
            return Err(HandlerError::retryable("fail once, to replay the journal"));
        }
        Ok(RandomResponse {
            same_on_retry: drawn == recorded,
            attempts,
        })
    }

    async fn timer_race(
        &self,
        ctx: Context,
        request: TimerRaceRequest,
    ) -> Result<TimerRaceResponse, HandlerError> {
        let timers = |ctx: &Context| -> Vec<restate_runtime::DurableFuture<()>> {
            request
                .millis
                .iter()
                .map(|millis| ctx.sleep(Duration::from_millis(*millis)))
                .collect()
        };
        let mut completions = restate_runtime::Completions::new(timers(&ctx));
        let mut completion_order = Vec::new();
        while let Some((index, result)) = completions.next().await? {
            result?;
            completion_order.push(u32::try_from(index)?);
        }
        let (winner, result) = restate_runtime::select(timers(&ctx)).await?;
        result?;
        Ok(TimerRaceResponse {
            completion_order,
            select_winner: u32::try_from(winner)?,
        })
    }

    async fn ask_internal(
        &self,
        ctx: Context,
        request: GreetRequest,
    ) -> Result<GreetResponse, HandlerError> {
        Ok(InternalClient::new(&ctx).whisper(request).await?)
    }

    async fn work_elsewhere(
        &self,
        ctx: Context,
        request: GreetRequest,
    ) -> Result<GreetResponse, HandlerError> {
        let (awakeable_id, greeting) = ctx.awakeable::<String>();
        let worker = ctx.clone();
        let task = tokio::spawn(async move {
            let name: String = worker
                .run("shout", || async move { Ok(request.name.to_uppercase()) })
                .await?;
            worker.sleep(Duration::from_millis(10)).await?;
            let response = GreeterClient::new(&worker)
                .say_hello(HelloRequest { name })
                .await?;
            // Let the handler's attempt go idle first: the resolution, which nothing waits
            // for here, must wake it to be sent.
            tokio::time::sleep(Duration::from_millis(50)).await;
            worker.resolve_awakeable(&awakeable_id, &response.message);
            Ok::<_, HandlerError>(())
        });
        let greeting = greeting.await?;
        task.await
            .map_err(|error| HandlerError::retryable(error.to_string()))??;
        Ok(GreetResponse { greeting })
    }

    async fn forward_map(
        &self,
        ctx: Context,
        request: MapRequest,
    ) -> Result<MapResponse, HandlerError> {
        let key = request.key.clone();
        let counted = MiscClient::new(&ctx).count_entries(request).await?;
        let attempts = self.count_attempt(key);
        if attempts == 1 {
            return Err(HandlerError::retryable("fail once, to replay the call"));
        }
        Ok(MapResponse {
            entries: counted.entries,
            attempts,
        })
    }

    async fn count_entries(
        &self,
        _ctx: Context,
        request: MapRequest,
    ) -> Result<MapResponse, HandlerError> {
        Ok(MapResponse {
            entries: u32::try_from(request.entries.len())?,
            attempts: 1,
        })
    }

    async fn fail_terminally(
        &self,
        _ctx: Context,
        request: FailRequest,
    ) -> Result<(), HandlerError> {
        let code = u16::try_from(request.code).unwrap_or(500);
        Err(TerminalError::new(code, request.message).into())
    }
}

/// Drives `approval.Approval` through its generated client.
pub struct Driver;

impl ApprovalDriver for Driver {
    async fn drive(
        &self,
        ctx: Context,
        request: DriveRequest,
    ) -> Result<DriveResponse, HandlerError> {
        use approval::approval::{ApprovalClient, ApprovalRequest, Decision};
        let approval = ApprovalClient::new(&ctx, request.id);
        approval
            .run(ApprovalRequest {
                title: request.title,
            })
            .send()?;
        let before = approval.handle().get_output().await?;
        approval
            .decide(Decision {
                approved: true,
                by: "the driver".to_owned(),
            })
            .await?;
        let outcome = approval.handle().attach().await?;
        Ok(DriveResponse {
            output_before_decision: before.is_some(),
            title: outcome.title,
            approved: outcome.approved,
            by: outcome.by,
        })
    }
}

/// The code generated from `proto/gocompat.proto`, annotated with sdk-go's options only.
pub mod gocompat {
    restate_runtime::include_proto!("gocompat");
}

/// Implements `gocompat.Tally` with state.
pub struct TallyObject;

impl gocompat::Tally for TallyObject {
    async fn increment(
        &self,
        ctx: restate_runtime::ObjectContext,
    ) -> Result<gocompat::TallyValue, HandlerError> {
        let total = ctx.get::<u32>("total").await?.unwrap_or(0) + 1;
        ctx.set("total", &total);
        Ok(gocompat::TallyValue { total })
    }

    async fn peek(
        &self,
        ctx: restate_runtime::ObjectSharedContext,
    ) -> Result<gocompat::TallyValue, HandlerError> {
        let total = ctx.get::<u32>("total").await?.unwrap_or(0);
        Ok(gocompat::TallyValue { total })
    }
}

/// Implements `e2e.Internal`.
pub struct InternalService;

impl Internal for InternalService {
    async fn whisper(
        &self,
        _ctx: Context,
        request: GreetRequest,
    ) -> Result<GreetResponse, HandlerError> {
        Ok(GreetResponse {
            greeting: format!("psst, {}", request.name),
        })
    }
}

/// An endpoint with every test service and the greeter example.
pub fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(BinaryEchoServer::new(Echo))
        .bind(MiscServer::new(MiscService::default()))
        .bind(InternalServer::new(InternalService))
        .bind(greeter::helloworld::GreeterServer::new(greeter::MyGreeter))
        .bind(gocompat::TallyServer::new(TallyObject))
        .build()
}
