//! Services the operations features are tested with: invocation spans and the replay filter.

use std::collections::HashSet;
use std::sync::Mutex;

use restate_runtime::{Context, Endpoint, HandlerError};

/// The code generated from `proto/operations.proto`.
pub mod ops {
    restate_runtime::include_proto!("ops");
}

use ops::*;

/// Logs a line per step, and fails the first attempt of every id after its steps.
#[derive(Debug, Default)]
pub struct StepsService {
    failed_once: Mutex<HashSet<String>>,
}

impl Steps for StepsService {
    async fn log_steps(
        &self,
        ctx: Context,
        request: StepsRequest,
    ) -> Result<StepsResponse, HandlerError> {
        for step in 1..=request.steps {
            tracing::info!(run = %request.id, step, "before step");
            ctx.run("step", move || async move { Ok(step) }).await?;
        }
        let first_attempt = self
            .failed_once
            .lock()
            .expect("not poisoned")
            .insert(request.id.clone());
        if first_attempt {
            return Err(HandlerError::retryable(
                "the first attempt fails after its steps",
            ));
        }
        tracing::info!(run = %request.id, "done");
        Ok(StepsResponse {
            steps: request.steps,
        })
    }
}

/// The endpoint of the operations tests.
pub fn operations_endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(StepsServer::new(StepsService::default()))
        .build()
}
