//! One round of load with faults injected, and the report of what survived it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::LedgerEntries;
use super::load::{
    Delivery, Ingresses, check_deposits, check_errands, deliver_deposits, deposit_plan,
    deposit_repeats, errand_repeats, expected_balances, finish_errands, lost_and_duplicated,
    settled_balances, start_errands, wait_errands_started,
};

/// What one round does: workflows that wait on their promises through the faults, and
/// deposits in flight when each fault strikes.
#[derive(Debug, Clone)]
pub struct Scenario<'a> {
    /// Names the round's accounts and workflows, unique per round.
    pub prefix: String,
    /// Workflows started (and journaled) before the first fault, finished after the last.
    pub errands: usize,
    /// Accounts, and deposits into each.
    pub accounts: usize,
    /// Deposits into each account.
    pub deposits_per_account: usize,
    /// Deposits in flight at once.
    pub concurrency: usize,
    /// How deposits are sent, in turn.
    pub deliveries: &'a [Delivery],
    /// How many faults, evenly spaced through the deposits.
    pub faults: usize,
    /// How long anything may take to settle.
    pub settle: Duration,
}

/// What came out of a round.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Invocations made: deposits, plus each workflow's run and verdict.
    pub invocations: usize,
    /// Faults injected: those due after the last deposit was delivered are left out.
    pub faults: usize,
    /// Deposits missing from their accounts, and workflows without their outcome.
    pub lost: usize,
    /// Deposits applied more than once.
    pub duplicated: usize,
    /// Side effects that ran again because a fault cut them off before they were journaled.
    pub repeated_effects: usize,
    /// Every discrepancy found; none when the round kept every promise.
    pub problems: Vec<String>,
}

impl Scenario<'_> {
    /// Runs the round through `ingresses`, calling `inject(n)` for fault `n` (from 1) mid-load;
    /// `ledger` is the endpoint's ledger file. Errors are failures to drive the load at all
    /// (e.g. a request that could not be delivered); what the load found is in the report.
    pub async fn run(
        &self,
        ingresses: Arc<Ingresses>,
        ledger: &Path,
        mut inject: impl FnMut(usize),
    ) -> Result<Report, String> {
        let errands: Vec<String> = (0..self.errands)
            .map(|n| format!("{}-errand-{n}", self.prefix))
            .collect();
        start_errands(&ingresses, &errands).await?;
        wait_errands_started(&ingresses, &errands, self.settle).await?;

        let plan = deposit_plan(
            &self.prefix,
            self.accounts,
            self.deposits_per_account,
            self.deliveries,
        );
        let progress = Arc::new(AtomicUsize::new(0));
        let load = tokio::spawn(deliver_deposits(
            Arc::clone(&ingresses),
            plan.clone(),
            self.concurrency,
            Arc::clone(&progress),
        ));
        let mut injected = 0;
        for fault in 1..=self.faults {
            let due = plan.len() * fault / (self.faults + 1);
            while progress.load(Ordering::Relaxed) < due && !load.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // A fault after the last delivery would test nothing: leave it out (the report
            // counts the faults injected).
            if load.is_finished() || progress.load(Ordering::Relaxed) >= plan.len() {
                break;
            }
            tokio::task::block_in_place(|| inject(fault));
            injected += 1;
        }
        let delivered = load.await.map_err(|e| e.to_string())??;

        let expected = expected_balances(&plan);
        let balances = settled_balances(&ingresses, expected.keys().cloned(), self.settle).await?;
        let outcomes = finish_errands(&ingresses, &errands).await?;
        let ledger = LedgerEntries::read(ledger).map_err(|e| e.to_string())?;

        let (lost, duplicated) = lost_and_duplicated(&delivered, &balances);
        // One deposit runs per account at a time: a fault cuts off at most one per account.
        let mut problems =
            check_deposits(&delivered, &balances, &ledger, self.accounts * self.faults);
        // Every start was journaled before the faults; every finish ran after them.
        problems.extend(check_errands(&errands, &outcomes, &ledger, 0));
        Ok(Report {
            invocations: plan.len() + 2 * errands.len(),
            faults: injected,
            lost: lost.len() + errands.len().saturating_sub(outcomes.len()),
            duplicated: duplicated.len(),
            repeated_effects: deposit_repeats(&delivered, &ledger)
                + errand_repeats(&errands, &ledger),
            problems,
        })
    }
}
