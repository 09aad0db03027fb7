//! The approval example: `approval.Approval`, a workflow whose run waits on a durable promise
//! that the shared `Decide` handler resolves, rejects the request when no decision comes within
//! three days, and sends the outcome to `approval.Notifier`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use restate_runtime::{HandlerError, WorkflowContext, WorkflowSharedContext};

/// The code generated from `proto/approval.proto`.
pub mod approval {
    restate_runtime::include_proto!("approval");
}

use approval::{ApprovalOutcome, ApprovalRequest, ApprovalStatus, Decision, NotifierClient};

/// The durable promise the run waits on.
const DECISION: &str = "decision";
/// How long a request waits for a decision before it is rejected.
pub const DECISION_DEADLINE: Duration = Duration::from_secs(3 * 24 * 3600);
/// The state key of the status.
const STATUS: &str = "status";

/// Runs approvals, counting how often each approval's body actually executed.
#[derive(Debug, Clone, Default)]
pub struct MyApproval {
    executions: Arc<Mutex<HashMap<String, u32>>>,
}

impl MyApproval {
    /// How many times the run body of approval `id` executed in this process.
    pub fn executions(&self, id: &str) -> u32 {
        self.executions
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }
}

impl approval::Approval for MyApproval {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: ApprovalRequest,
    ) -> Result<ApprovalOutcome, HandlerError> {
        let executions = Arc::clone(&self.executions);
        let id = ctx.key().to_owned();
        ctx.run("count execution", move || async move {
            *executions.lock().unwrap().entry(id).or_default() += 1;
            Ok(())
        })
        .await?;
        ctx.set(STATUS, &"waiting for a decision".to_string());
        // No decision within the deadline rejects the request.
        let decision = ctx.promise::<Decision>(DECISION).map(Some);
        let deadline = ctx.sleep(DECISION_DEADLINE).map(|()| None);
        let (_, decided) = restate_runtime::select(vec![decision, deadline]).await?;
        let decision = decided?.unwrap_or_else(|| Decision {
            approved: false,
            by: "nobody: the deadline passed".to_owned(),
        });
        let status = if decision.approved {
            "approved"
        } else {
            "rejected"
        };
        ctx.set(STATUS, &status.to_string());
        let outcome = ApprovalOutcome {
            title: request.title,
            approved: decision.approved,
            by: decision.by,
        };
        // One-way: the notice goes out durably, the workflow does not wait for it.
        NotifierClient::new(&ctx).notify(outcome.clone()).send()?;
        Ok(outcome)
    }

    async fn decide(
        &self,
        ctx: WorkflowSharedContext,
        decision: Decision,
    ) -> Result<(), HandlerError> {
        ctx.resolve_promise(DECISION, &decision).await?;
        Ok(())
    }

    async fn status(&self, ctx: WorkflowSharedContext) -> Result<ApprovalStatus, HandlerError> {
        let status = ctx
            .get::<String>(STATUS)
            .await?
            .unwrap_or_else(|| "not started".to_owned());
        Ok(ApprovalStatus { status })
    }
}

/// Delivers notices of outcomes; this example only logs them.
#[derive(Debug, Clone, Copy, Default)]
pub struct MyNotifier;

impl approval::Notifier for MyNotifier {
    async fn notify(
        &self,
        _ctx: restate_runtime::Context,
        outcome: ApprovalOutcome,
    ) -> Result<(), HandlerError> {
        tracing::info!(
            title = %outcome.title,
            approved = outcome.approved,
            by = %outcome.by,
            "request decided"
        );
        Ok(())
    }
}

/// An endpoint serving `approval` and the notifier.
pub fn endpoint(approval: MyApproval) -> restate_runtime::Endpoint {
    restate_runtime::Endpoint::builder()
        .bind(approval::ApprovalServer::new(approval))
        .bind(approval::NotifierServer::new(MyNotifier))
        .build()
}
