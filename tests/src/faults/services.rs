//! `faults.Account` and `faults.Errand`, recording their side effects in a [`Ledger`].

use std::sync::Arc;

use restate_runtime::{
    Endpoint, HandlerError, ObjectContext, ObjectSharedContext, TerminalError, WorkflowContext,
    WorkflowSharedContext,
};

use super::Ledger;
use super::effects::{DEPOSIT, ERRAND_FINISH, ERRAND_START};
use super::proto::{
    Account, AccountServer, DepositRequest, Errand, ErrandOutcome, ErrandProgress, ErrandRequest,
    ErrandServer, Receipt, Verdict,
};

/// State keys.
const BALANCE: &str = "balance";
const DEPOSITS: &str = "deposits";
const APPLIED: &str = "applied";
const START_TOKEN: &str = "start-token";
/// The durable promise an errand waits on.
const VERDICT: &str = "verdict";

/// An endpoint serving both fault services, recording into `ledger`.
pub fn endpoint(ledger: Arc<Ledger>) -> Endpoint {
    Endpoint::builder()
        .bind(AccountServer::new(LedgerAccount {
            ledger: Arc::clone(&ledger),
        }))
        .bind(ErrandServer::new(LedgerErrand { ledger }))
        .build()
}

/// Runs side effect `kind` for `id` durably: records it in the ledger, journals its token.
async fn record(
    ctx: &restate_runtime::Context,
    ledger: &Arc<Ledger>,
    kind: &'static str,
    id: String,
) -> Result<String, HandlerError> {
    let ledger = Arc::clone(ledger);
    Ok(ctx
        .run(kind, move || async move { Ok(ledger.record(kind, &id)?) })
        .await?)
}

/// `faults.Account`.
#[derive(Debug)]
pub struct LedgerAccount {
    ledger: Arc<Ledger>,
}

impl Account for LedgerAccount {
    async fn deposit(
        &self,
        ctx: ObjectContext,
        request: DepositRequest,
    ) -> Result<Receipt, HandlerError> {
        if request.cents <= 0 {
            return Err(TerminalError::new(400, "a deposit must be positive").into());
        }
        if request.id.is_empty() || request.id.contains(char::is_whitespace) {
            return Err(TerminalError::new(400, "a deposit id is one word").into());
        }
        let id = format!("{}/{}", ctx.key(), request.id);
        let token = record(&ctx, &self.ledger, DEPOSIT, id).await?;
        let balance = ctx.get::<i64>(BALANCE).await?.unwrap_or(0);
        let balance = balance.checked_add(request.cents).ok_or_else(|| {
            TerminalError::new(400, "the deposit would leave the range of the balance")
        })?;
        let deposits = ctx
            .get::<u64>(DEPOSITS)
            .await?
            .unwrap_or(0)
            .saturating_add(1);
        // Every application, duplicates included, for the tests to count: ids, space-separated.
        let mut applied = ctx.get::<String>(APPLIED).await?.unwrap_or_default();
        if !applied.is_empty() {
            applied.push(' ');
        }
        applied.push_str(&request.id);
        ctx.set(BALANCE, &balance);
        ctx.set(DEPOSITS, &deposits);
        ctx.set(APPLIED, &applied);
        Ok(Receipt {
            balance_cents: balance,
            deposits,
            token,
            applied: Vec::new(),
        })
    }

    async fn balance(&self, ctx: ObjectSharedContext) -> Result<Receipt, HandlerError> {
        Ok(Receipt {
            balance_cents: ctx.get::<i64>(BALANCE).await?.unwrap_or(0),
            deposits: ctx.get::<u64>(DEPOSITS).await?.unwrap_or(0),
            token: String::new(),
            applied: ctx
                .get::<String>(APPLIED)
                .await?
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// `faults.Errand`.
#[derive(Debug)]
pub struct LedgerErrand {
    ledger: Arc<Ledger>,
}

impl Errand for LedgerErrand {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: ErrandRequest,
    ) -> Result<ErrandOutcome, HandlerError> {
        let key = ctx.key().to_owned();
        let start_token = record(&ctx, &self.ledger, ERRAND_START, key.clone()).await?;
        ctx.set(START_TOKEN, &start_token);
        let verdict: Verdict = ctx.promise(VERDICT).await?;
        let finish_token = record(&ctx, &self.ledger, ERRAND_FINISH, key).await?;
        Ok(ErrandOutcome {
            task: request.task,
            verdict: verdict.verdict,
            start_token,
            finish_token,
        })
    }

    async fn progress(&self, ctx: WorkflowSharedContext) -> Result<ErrandProgress, HandlerError> {
        let started = ctx.get::<String>(START_TOKEN).await?.is_some();
        Ok(ErrandProgress { started })
    }

    async fn decide(
        &self,
        ctx: WorkflowSharedContext,
        verdict: Verdict,
    ) -> Result<(), HandlerError> {
        ctx.resolve_promise(VERDICT, &verdict).await?;
        Ok(())
    }
}
