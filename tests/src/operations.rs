//! Services the operations features are tested with: invocation spans and the replay filter,
//! and settings given at bind time.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use restate_runtime::codegen::pbjson_types::StringValue;
use restate_runtime::{
    Context, Endpoint, HandlerError, HandlerOptions, ObjectContext, ObjectSharedContext,
    OnMaxAttempts, ServiceOptions, TerminalError,
};

/// The code generated from `proto/operations.proto`.
pub mod ops {
    restate_runtime::include_proto!("ops");
}

use ops::*;

/// Logs a line before each step and one inside it (the step's `run` closure, which runs on the
/// first attempt only). The first attempt for an id fails after its steps, the second while it
/// replays them (before step 2), the third succeeds.
#[derive(Debug, Default)]
pub struct StepsService {
    attempts: Mutex<HashMap<String, u32>>,
}

impl Steps for StepsService {
    async fn log_steps(
        &self,
        ctx: Context,
        request: StepsRequest,
    ) -> Result<StepsResponse, HandlerError> {
        let attempt = {
            let mut attempts = self.attempts.lock().expect("not poisoned");
            let attempt = attempts.entry(request.id.clone()).or_default();
            *attempt += 1;
            *attempt
        };
        for step in 1..=request.steps {
            tracing::info!(run = %request.id, step, "before step");
            if attempt == 2 && step == 2 {
                return Err(HandlerError::retryable(
                    "the second attempt fails in replay",
                ));
            }
            let id = request.id.clone();
            ctx.run("step", move || async move {
                tracing::info!(run = %id, step, "in step");
                Ok(step)
            })
            .await?;
        }
        if attempt == 1 {
            return Err(HandlerError::retryable(
                "the first attempt fails after its steps",
            ));
        }
        tracing::info!(run = %request.id, "done");
        Ok(StepsResponse {
            steps: request.steps,
        })
    }

    async fn flip(
        &self,
        ctx: Context,
        request: StepsRequest,
    ) -> Result<StepsResponse, HandlerError> {
        let first = {
            let mut attempts = self.attempts.lock().expect("not poisoned");
            let attempt = attempts.entry(request.id).or_default();
            *attempt += 1;
            *attempt == 1
        };
        if first {
            ctx.sleep(Duration::from_millis(10)).await?;
        } else {
            ctx.run("step", || async { Ok(1u32) }).await?;
        }
        Ok(StepsResponse { steps: 1 })
    }
}

/// Waits on awakeables completed from outside.
#[derive(Debug)]
pub struct WaiterObject;

/// The state entry holding the awakeable id.
const AWAKEABLE_ID: &str = "awakeable_id";

impl Waiter for WaiterObject {
    async fn wait(&self, ctx: ObjectContext) -> Result<StringValue, HandlerError> {
        let (id, value) = ctx.awakeable::<String>();
        ctx.set(AWAKEABLE_ID, &id);
        Ok(value.await?.into())
    }

    async fn awakeable_id(&self, ctx: ObjectSharedContext) -> Result<StringValue, HandlerError> {
        Ok(ctx
            .get::<String>(AWAKEABLE_ID)
            .await?
            .unwrap_or_default()
            .into())
    }
}

/// Naps, fails once, and refuses: what the metrics test counts.
#[derive(Debug, Default)]
pub struct MeteredService {
    failed_once: Mutex<HashSet<String>>,
}

impl Metered for MeteredService {
    async fn nap(&self, ctx: Context, request: NapRequest) -> Result<(), HandlerError> {
        ctx.sleep(Duration::from_millis(u64::from(request.millis)))
            .await?;
        Ok(())
    }

    async fn flaky(
        &self,
        ctx: Context,
        request: StepsRequest,
    ) -> Result<StepsResponse, HandlerError> {
        ctx.run("step", || async { Ok(1u32) }).await?;
        if self
            .failed_once
            .lock()
            .expect("not poisoned")
            .insert(request.id)
        {
            return Err(HandlerError::retryable("the first attempt fails"));
        }
        Ok(StepsResponse { steps: 1 })
    }

    async fn refuse(&self, _ctx: Context) -> Result<(), HandlerError> {
        Err(TerminalError::new(403, "refused").into())
    }
}

/// Resolves awakeables of other invocations.
#[derive(Debug)]
pub struct ResolverService;

impl Resolver for ResolverService {
    async fn resolve(&self, ctx: Context, request: ResolveRequest) -> Result<(), HandlerError> {
        ctx.resolve_awakeable(&request.awakeable_id, &request.value);
        Ok(())
    }
}

/// The endpoint of the operations tests: the counter and approval examples are bound with
/// settings that replace some of their protos'.
pub fn operations_endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(StepsServer::new(StepsService::default()))
        .bind(WaiterServer::new(WaiterObject))
        .bind(ResolverServer::new(ResolverService))
        .bind_with_options(
            MeteredServer::new(MeteredService::default()),
            ServiceOptions::new().handler(
                "Nap",
                HandlerOptions::new().inactivity_timeout(Duration::from_millis(500)),
            ),
        )
        .bind_with_options(
            counter::counter::CounterServer::new(counter::MyCounter),
            ServiceOptions::new()
                .journal_retention(Duration::from_secs(2 * 3600))
                .retry_max_attempts(7)
                .retry_on_max_attempts(OnMaxAttempts::Kill)
                .metadata("example", "overridden")
                .metadata("environment", "test")
                .handler(
                    "Get",
                    HandlerOptions::new().inactivity_timeout(Duration::from_secs(20)),
                )
                .handler("Add", HandlerOptions::new().ingress_private(true)),
        )
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .bind_with_options(
            approval::approval::ApprovalServer::new(approval::MyApproval::default()),
            ServiceOptions::new().workflow_completion_retention(Duration::from_secs(2 * 86_400)),
        )
        .build()
}
