//! Versions of one service's code, for the replay check's tests: v1 records invocations on a
//! real restate-server, the others are the "new builds" checked against them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use restate_runtime::{
    Context, Endpoint, HandlerError, ObjectContext, WorkflowContext, WorkflowSharedContext,
};

/// The code generated from `proto/replay.proto`.
pub mod replay {
    restate_runtime::include_proto!("replay");
}

use replay::*;

/// The durable promise the signup waits on.
const CONFIRMED: &str = "confirmed";

/// One version of the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// What the recorded invocations ran.
    V1,
    /// Adds a `run` after the wait for the confirmation.
    AddsAfterWait,
    /// Inserts a `run` before the mail.
    InsertsRunBeforeMail,
    /// Mails another text.
    ChangesMailText,
    /// Starts waiting for the confirmation, then runs a step before it awaits it: that step is
    /// past the recorded journal of a waiting signup.
    RunsBeforeAwaiting,
    /// The verifier gives up with a terminal error once the code is mailed.
    RejectsAfterMail,
}

/// The services of one version, counting every `run` closure they execute.
#[derive(Debug, Clone)]
pub struct Build {
    version: Version,
    executed: Arc<AtomicUsize>,
}

impl Build {
    /// The services of `version`.
    pub fn new(version: Version) -> Self {
        Self {
            version,
            executed: Arc::default(),
        }
    }

    /// How many `run` closures this build executed.
    pub fn executed_runs(&self) -> usize {
        self.executed.load(Ordering::SeqCst)
    }

    /// An endpoint serving this build.
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::builder()
            .bind(SignupServer::new(self.clone()))
            .bind(MailerServer::new(self.clone()))
            .bind(AccountServer::new(self.clone()))
            .bind(VerifierServer::new(self.clone()))
            .build()
    }

    async fn step(&self, ctx: &Context, name: &str) -> Result<(), HandlerError> {
        let executed = Arc::clone(&self.executed);
        ctx.run(name, move || async move {
            executed.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await?;
        Ok(())
    }
}

impl Signup for Build {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: SignupRequest,
    ) -> Result<SignupResult, HandlerError> {
        if self.version == Version::InsertsRunBeforeMail {
            self.step(&ctx, "check the address").await?;
        }
        self.step(&ctx, "create the user").await?;
        let text = if self.version == Version::ChangesMailText {
            "Hello!"
        } else {
            "Welcome!"
        };
        MailerClient::new(&ctx)
            .send(Mail {
                to: request.email.clone(),
                text: text.to_owned(),
            })
            .await?;
        let confirmed = ctx.promise::<()>(CONFIRMED);
        if self.version == Version::RunsBeforeAwaiting {
            self.step(&ctx, "prepare the welcome pack").await?;
        }
        confirmed.await?;
        if self.version == Version::AddsAfterWait {
            self.step(&ctx, "activate the user").await?;
        }
        Ok(SignupResult {
            user: request.email,
            confirmed: true,
        })
    }

    async fn confirm(&self, ctx: WorkflowSharedContext) -> Result<(), HandlerError> {
        ctx.resolve_promise(CONFIRMED, &()).await?;
        Ok(())
    }
}

impl Mailer for Build {
    async fn send(&self, _ctx: Context, mail: Mail) -> Result<MailReceipt, HandlerError> {
        Ok(MailReceipt {
            id: format!("{}:{}", mail.to, mail.text.len()),
        })
    }
}

impl Account for Build {
    async fn deposit(&self, ctx: ObjectContext, amount: Amount) -> Result<Balance, HandlerError> {
        let balance = ctx.get::<i64>("balance").await?.unwrap_or(0);
        let balance = balance
            .checked_add(amount.cents)
            .ok_or_else(|| restate_runtime::TerminalError::new(400, "the balance overflows"))?;
        ctx.set("balance", &balance);
        ctx.sleep(Duration::from_secs(3600)).await?;
        self.step(&ctx, "send the statement").await?;
        Ok(Balance { cents: balance })
    }
}

impl Verifier for Build {
    async fn verify(
        &self,
        ctx: Context,
        request: SignupRequest,
    ) -> Result<SignupResult, HandlerError> {
        let code: u32 = ctx.rand(|rng| restate_runtime::rand::Rng::random_range(rng, 0..1_000_000));
        let (awakeable, confirmed) = ctx.awakeable::<()>();
        MailerClient::new(&ctx)
            .send(Mail {
                to: request.email.clone(),
                text: format!("Your code is {code:06}; confirm at {awakeable}"),
            })
            .await?;
        if self.version == Version::RejectsAfterMail {
            return Err(
                restate_runtime::TerminalError::new(409, "codes are no longer sent").into(),
            );
        }
        confirmed.await?;
        Ok(SignupResult {
            user: request.email,
            confirmed: true,
        })
    }
}
