//! Load that faults are injected into, and the checks of what came out of it.
//!
//! Deposits and errands go through the generated ingress clients, in turn through every
//! ingress still in rotation. A request that carries an idempotency key (and every errand
//! request, which its workflow key makes idempotent) is retried until Restate answers, on the
//! next ingress; one without is sent once, and any failure of it fails the load.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use restate_runtime::ingress::{Ingress, IngressError};

use super::LedgerEntries;
use super::effects::{DEPOSIT, ERRAND_FINISH, ERRAND_START};
use super::proto::{
    AccountIngressClient, DepositRequest, ErrandIngressClient, ErrandOutcome, ErrandRequest,
    Receipt, Verdict,
};

/// How long a retried request keeps trying before the load gives up on it.
const RETRY_DEADLINE: Duration = Duration::from_secs(180);
/// The pause between two tries of a retried request.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// The most one ingress request may take: a fault must fail a request, not hang it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The ingresses (and admin APIs) load goes through, in turn; one taken out of the rotation
/// gets no more requests.
#[derive(Debug)]
pub struct Ingresses {
    ingresses: Vec<Ingress>,
    admin_urls: Vec<String>,
    down: Vec<AtomicBool>,
    next: AtomicUsize,
}

impl Ingresses {
    /// The nodes at these `(ingress URL, admin URL)` pairs.
    pub fn new<I, A>(nodes: impl IntoIterator<Item = (I, A)>) -> Self
    where
        I: AsRef<str>,
        A: Into<String>,
    {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("a reqwest client");
        let (ingresses, admin_urls): (Vec<_>, Vec<_>) = nodes
            .into_iter()
            .map(|(ingress, admin)| (Ingress::with_client(ingress, client.clone()), admin.into()))
            .unzip();
        let down = ingresses.iter().map(|_| AtomicBool::new(false)).collect();
        Self {
            ingresses,
            admin_urls,
            down,
            next: AtomicUsize::new(0),
        }
    }

    /// Takes node `index` out of the rotation, e.g. because it was killed.
    pub fn take_down(&self, index: usize) {
        self.down[index].store(true, Ordering::Relaxed);
    }

    /// The next ingress in rotation.
    fn pick(&self) -> &Ingress {
        &self.ingresses[self.pick_index()]
    }

    /// The admin API of a node in rotation.
    fn admin_url(&self) -> &str {
        &self.admin_urls[self.pick_index()]
    }

    fn pick_index(&self) -> usize {
        let count = self.ingresses.len();
        for _ in 0..count {
            let index = self.next.fetch_add(1, Ordering::Relaxed) % count;
            if !self.down[index].load(Ordering::Relaxed) {
                return index;
            }
        }
        panic!("every node is out of the rotation");
    }
}

/// Whether a failed ingress request may have been lost on the way, rather than refused: worth
/// another try when the request is idempotent.
fn transient(error: &IngressError) -> bool {
    match error {
        IngressError::Connection(_) | IngressError::Protocol(_) => true,
        IngressError::Rejected { status, .. } => status.is_server_error(),
        // The fault services fail terminally only on bad input, with a 4xx; a 5xx is Restate's
        // own (a partition without a leader yet, a node shutting down).
        IngressError::Terminal(error) => error.code() >= 500,
        IngressError::Codec(_) | IngressError::Request(_) => false,
    }
}

/// Runs `request` until it succeeds, retrying transient failures (on the next ingress) when
/// `retried`; `what` names the request in errors.
async fn deliver<T, F, Fut>(
    ingresses: &Ingresses,
    what: &str,
    retried: bool,
    mut request: F,
) -> Result<T, String>
where
    F: FnMut(&Ingress) -> Fut,
    Fut: Future<Output = Result<T, IngressError>>,
{
    let deadline = Instant::now() + RETRY_DEADLINE;
    loop {
        match request(ingresses.pick()).await {
            Ok(value) => return Ok(value),
            Err(error) if retried && transient(&error) && Instant::now() < deadline => {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            Err(error) => return Err(format!("{what}: {error}")),
        }
    }
}

/// How a deposit reaches Restate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// A call, waiting for the receipt; sent once.
    Call,
    /// A call with an idempotency key; retried until answered.
    IdempotentCall,
    /// A one-way send; sent once.
    Send,
    /// A one-way send with an idempotency key; retried until accepted.
    IdempotentSend,
}

impl Delivery {
    /// Every delivery.
    pub const ALL: [Delivery; 4] = [
        Delivery::Call,
        Delivery::IdempotentCall,
        Delivery::Send,
        Delivery::IdempotentSend,
    ];
    /// The deliveries that survive a lost connection to Restate.
    pub const IDEMPOTENT: [Delivery; 2] = [Delivery::IdempotentCall, Delivery::IdempotentSend];

    fn idempotent(self) -> bool {
        matches!(self, Delivery::IdempotentCall | Delivery::IdempotentSend)
    }
}

/// One deposit of the load.
#[derive(Debug, Clone)]
pub struct Deposit {
    /// The account's object key.
    pub account: String,
    /// Names the deposit (and its idempotency key).
    pub id: String,
    /// How much.
    pub cents: i64,
    /// How it is sent.
    pub delivery: Delivery,
}

impl Deposit {
    /// The deposit's id in the ledger.
    fn ledger_id(&self) -> String {
        format!("{}/{}", self.account, self.id)
    }
}

/// `per_account` deposits into each of `accounts` accounts named `{prefix}-{n}`, interleaved
/// across accounts, cycling through `deliveries`.
pub fn deposit_plan(
    prefix: &str,
    accounts: usize,
    per_account: usize,
    deliveries: &[Delivery],
) -> Vec<Deposit> {
    (0..per_account * accounts)
        .map(|n| Deposit {
            account: format!("{prefix}-{}", n % accounts),
            id: format!("d{n}"),
            cents: 1 + i64::try_from(n * 7919 % 1000).expect("below 1000"),
            delivery: deliveries[n % deliveries.len()],
        })
        .collect()
}

/// A deposit delivered: with its receipt, when it was a call.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// What was sent.
    pub deposit: Deposit,
    /// What a call answered.
    pub receipt: Option<Receipt>,
}

/// Delivers every deposit of `plan`, `concurrency` at a time, counting each delivered one in
/// `progress`; fails on the first deposit that cannot be delivered.
pub async fn deliver_deposits(
    ingresses: Arc<Ingresses>,
    plan: Vec<Deposit>,
    concurrency: usize,
    progress: Arc<AtomicUsize>,
) -> Result<Vec<Delivered>, String> {
    futures::stream::iter(plan)
        .map(|deposit| {
            let (ingresses, progress) = (Arc::clone(&ingresses), Arc::clone(&progress));
            async move {
                let delivered = deliver_deposit(&ingresses, deposit).await;
                progress.fetch_add(1, Ordering::Relaxed);
                delivered
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn deliver_deposit(ingresses: &Ingresses, deposit: Deposit) -> Result<Delivered, String> {
    let what = format!("deposit {} ({:?})", deposit.ledger_id(), deposit.delivery);
    let idempotency_key = deposit.delivery.idempotent().then(|| deposit.ledger_id());
    let request = |ingress: &Ingress| {
        let mut request =
            AccountIngressClient::new(ingress, deposit.account.clone()).deposit(DepositRequest {
                cents: deposit.cents,
                id: deposit.id.clone(),
            });
        if let Some(key) = &idempotency_key {
            request = request.idempotency_key(key.clone());
        }
        request
    };
    let retried = idempotency_key.is_some();
    let receipt = match deposit.delivery {
        Delivery::Call | Delivery::IdempotentCall => {
            Some(deliver(ingresses, &what, retried, |i| request(i).call()).await?)
        }
        Delivery::Send | Delivery::IdempotentSend => {
            deliver(ingresses, &what, retried, |i| request(i).send()).await?;
            None
        }
    };
    Ok(Delivered { deposit, receipt })
}

/// What each account should end with: the sum of its deposits, and how many.
pub fn expected_balances(plan: &[Deposit]) -> BTreeMap<String, (i64, u64)> {
    let mut expected = BTreeMap::<String, (i64, u64)>::new();
    for deposit in plan {
        let (cents, count) = expected.entry(deposit.account.clone()).or_default();
        *cents += deposit.cents;
        *count += 1;
    }
    expected
}

/// Waits (up to `timeout`) until no deposit is left to run, then reads every account's
/// balance: sends still running when their delivery returned have finished by then.
pub async fn settled_balances(
    ingresses: &Ingresses,
    accounts: impl IntoIterator<Item = String>,
    timeout: Duration,
) -> Result<BTreeMap<String, Receipt>, String> {
    let deadline = Instant::now() + timeout;
    loop {
        let pending = pending_invocations(ingresses, "faults.Account").await;
        if pending == Some(0) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "deposits still running after {timeout:?}: {pending:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut balances = BTreeMap::new();
    for account in accounts {
        let receipt = deliver(ingresses, &format!("balance of {account}"), true, |i| {
            AccountIngressClient::new(i, account.clone())
                .balance()
                .call()
        })
        .await?;
        balances.insert(account, receipt);
    }
    Ok(balances)
}

/// How many invocations of `service` Restate has not completed; `None` when the admin API
/// does not answer.
async fn pending_invocations(ingresses: &Ingresses, service: &str) -> Option<u64> {
    let admin = ingresses.admin_url().to_owned();
    let sql = format!(
        "SELECT count(*) AS pending FROM sys_invocation \
         WHERE target_service_name = '{service}' AND status != 'completed'"
    );
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{admin}/query"))
        .header("accept", "application/json")
        .json(&serde_json::json!({ "query": sql }))
        .timeout(REQUEST_TIMEOUT)
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    response["rows"][0]["pending"].as_u64()
}

/// The deposits of `delivered` missing from their account's applied ids, and those applied
/// more than once (once per extra application), as `{account}/{id}`.
pub fn lost_and_duplicated(
    delivered: &[Delivered],
    balances: &BTreeMap<String, Receipt>,
) -> (Vec<String>, Vec<String>) {
    let mut applied = BTreeMap::<String, i64>::new();
    for (account, receipt) in balances {
        for id in &receipt.applied {
            *applied.entry(format!("{account}/{id}")).or_default() += 1;
        }
    }
    for Delivered { deposit, .. } in delivered {
        *applied.entry(deposit.ledger_id()).or_default() -= 1;
    }
    let (mut lost, mut duplicated) = (Vec::new(), Vec::new());
    for (id, surplus) in applied {
        if surplus < 0 {
            lost.extend(std::iter::repeat_n(id, surplus.unsigned_abs() as usize));
        } else {
            duplicated.extend(std::iter::repeat_n(id, surplus as usize));
        }
    }
    (lost, duplicated)
}

/// Checks the deposits against the balances and the ledger; returns every discrepancy.
///
/// Every account must hold exactly its deposits (each applied once, and balance and count to
/// match); every deposit's side effect must have run,
/// and a call's receipt must carry the token of one of its runs; at most `max_repeats` side
/// effects may have run again (those in flight at a fault).
pub fn check_deposits(
    delivered: &[Delivered],
    balances: &BTreeMap<String, Receipt>,
    ledger: &LedgerEntries,
    max_repeats: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    let plan: Vec<Deposit> = delivered.iter().map(|d| d.deposit.clone()).collect();
    for (account, (cents, count)) in expected_balances(&plan) {
        match balances.get(&account) {
            Some(receipt) if receipt.balance_cents == cents && receipt.deposits == count => {}
            Some(receipt) => problems.push(format!(
                "{account}: {} cents in {} deposits, expected {cents} in {count}",
                receipt.balance_cents, receipt.deposits
            )),
            None => problems.push(format!("{account}: no balance")),
        }
    }
    let (lost, duplicated) = lost_and_duplicated(delivered, balances);
    if !lost.is_empty() {
        problems.push(format!("deposits lost: {lost:?}"));
    }
    if !duplicated.is_empty() {
        problems.push(format!("deposits applied twice: {duplicated:?}"));
    }
    for Delivered { deposit, receipt } in delivered {
        let executions = ledger.executions(DEPOSIT, &deposit.ledger_id());
        if executions.is_empty() {
            problems.push(format!(
                "{}: its side effect never ran",
                deposit.ledger_id()
            ));
        }
        if let Some(receipt) = receipt
            && !executions.contains(&receipt.token)
        {
            problems.push(format!(
                "{}: the receipt's token {} is none of its runs' {executions:?}",
                deposit.ledger_id(),
                receipt.token
            ));
        }
    }
    let repeats = deposit_repeats(delivered, ledger);
    if repeats > max_repeats {
        problems.push(format!(
            "{repeats} deposit side effects ran again, more than the {max_repeats} in flight at faults"
        ));
    }
    problems
}

/// How many deposit side effects of `delivered` ran again.
pub fn deposit_repeats(delivered: &[Delivered], ledger: &LedgerEntries) -> usize {
    let ids: Vec<String> = delivered.iter().map(|d| d.deposit.ledger_id()).collect();
    ledger.repeats(DEPOSIT, ids.iter().map(String::as_str))
}

/// How many side effects of the errands `keys` ran again.
pub fn errand_repeats(keys: &[String], ledger: &LedgerEntries) -> usize {
    let ids = || keys.iter().map(String::as_str);
    ledger.repeats(ERRAND_START, ids()) + ledger.repeats(ERRAND_FINISH, ids())
}

/// Starts errand workflows `keys`.
pub async fn start_errands(ingresses: &Ingresses, keys: &[String]) -> Result<(), String> {
    for key in keys {
        deliver(ingresses, &format!("start errand {key}"), true, |i| {
            ErrandIngressClient::new(i, key.clone())
                .run(ErrandRequest {
                    task: format!("task of {key}"),
                })
                .send()
        })
        .await?;
    }
    Ok(())
}

/// Waits (up to `timeout`) until every errand of `keys` has recorded its start.
pub async fn wait_errands_started(
    ingresses: &Ingresses,
    keys: &[String],
    timeout: Duration,
) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    for key in keys {
        loop {
            let progress = deliver(ingresses, &format!("progress of {key}"), true, |i| {
                ErrandIngressClient::new(i, key.clone()).progress().call()
            })
            .await?;
            if progress.started {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("errand {key} has not started after {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(())
}

/// The verdict errand `key` is given.
fn verdict_for(key: &str) -> String {
    format!("approved {key}")
}

/// Gives every errand of `keys` its verdict and waits for its outcome.
pub async fn finish_errands(
    ingresses: &Ingresses,
    keys: &[String],
) -> Result<Vec<ErrandOutcome>, String> {
    let mut outcomes = Vec::with_capacity(keys.len());
    for key in keys {
        deliver(ingresses, &format!("verdict for {key}"), true, |i| {
            ErrandIngressClient::new(i, key.clone())
                .decide(Verdict {
                    verdict: verdict_for(key),
                })
                .idempotency_key(format!("verdict-{key}"))
                .call()
        })
        .await?;
    }
    for key in keys {
        let outcome = deliver(ingresses, &format!("outcome of {key}"), true, |i| {
            let errand = ErrandIngressClient::new(i, key.clone());
            async move { errand.handle().attach().await }
        })
        .await?;
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

/// Checks errand outcomes against the ledger; returns every discrepancy.
///
/// Every errand must have its own verdict, and each of its two side effects must have run
/// with the token its outcome carries; at most `max_repeats` of them may have run again (none
/// when every start was journaled before the faults and every finish ran after them).
pub fn check_errands(
    keys: &[String],
    outcomes: &[ErrandOutcome],
    ledger: &LedgerEntries,
    max_repeats: usize,
) -> Vec<String> {
    let mut problems = Vec::new();
    if outcomes.len() != keys.len() {
        problems.push(format!(
            "{} outcomes for {} errands",
            outcomes.len(),
            keys.len()
        ));
    }
    for (key, outcome) in keys.iter().zip(outcomes) {
        if outcome.verdict != verdict_for(key) || outcome.task != format!("task of {key}") {
            problems.push(format!("errand {key}: wrong outcome {outcome:?}"));
        }
        for (effect, token) in [
            (ERRAND_START, &outcome.start_token),
            (ERRAND_FINISH, &outcome.finish_token),
        ] {
            let executions = ledger.executions(effect, key);
            if !executions.contains(token) {
                problems.push(format!(
                    "errand {key}: the outcome's {effect} token {token} is none of its runs' \
                     {executions:?}"
                ));
            }
        }
    }
    let repeats = errand_repeats(keys, ledger);
    if repeats > max_repeats {
        problems.push(format!(
            "{repeats} errand side effects ran again, more than the {max_repeats} allowed"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::Ledger;

    /// Two deposits into one account, a call and a send, their side effects recorded once;
    /// returns them with the balances and the ledger that say all went well.
    fn clean_run() -> (Vec<Delivered>, BTreeMap<String, Receipt>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("ledger")).unwrap();
        let plan = deposit_plan("a", 1, 2, &[Delivery::Call, Delivery::Send]);
        let delivered: Vec<Delivered> = plan
            .iter()
            .map(|deposit| {
                let token = ledger.record(DEPOSIT, &deposit.ledger_id()).unwrap();
                Delivered {
                    deposit: deposit.clone(),
                    receipt: (deposit.delivery == Delivery::Call).then(|| Receipt {
                        token,
                        ..Receipt::default()
                    }),
                }
            })
            .collect();
        let (cents, deposits) = expected_balances(&plan)["a-0"];
        let balances = BTreeMap::from([(
            "a-0".to_owned(),
            Receipt {
                balance_cents: cents,
                deposits,
                token: String::new(),
                applied: plan.iter().map(|d| d.id.clone()).collect(),
            },
        )]);
        (delivered, balances, dir)
    }

    fn ledger(dir: &tempfile::TempDir) -> LedgerEntries {
        LedgerEntries::read(dir.path().join("ledger")).unwrap()
    }

    #[test]
    fn a_clean_run_passes() {
        let (delivered, balances, dir) = clean_run();
        assert_eq!(
            check_deposits(&delivered, &balances, &ledger(&dir), 0),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_deposit_applied_twice_is_caught() {
        let (delivered, mut balances, dir) = clean_run();
        let receipt = balances.get_mut("a-0").unwrap();
        receipt.deposits += 1;
        receipt.balance_cents += delivered[0].deposit.cents;
        receipt.applied.push(delivered[0].deposit.id.clone());
        let problems = check_deposits(&delivered, &balances, &ledger(&dir), 0);
        assert!(problems[0].contains("expected"), "{problems:?}");
    }

    #[test]
    fn a_lost_deposit_hidden_by_a_duplicate_of_the_same_amount_is_caught() {
        let (mut delivered, mut balances, dir) = clean_run();
        // Same amounts: balance and count alone cannot tell.
        delivered[1].deposit.cents = delivered[0].deposit.cents;
        let receipt = balances.get_mut("a-0").unwrap();
        receipt.balance_cents = 2 * delivered[0].deposit.cents;
        receipt.applied = vec![delivered[0].deposit.id.clone(); 2];
        let problems = check_deposits(&delivered, &balances, &ledger(&dir), 0);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("lost"), "{problems:?}");
        assert!(problems[1].contains("twice"), "{problems:?}");
        let (lost, duplicated) = lost_and_duplicated(&delivered, &balances);
        assert_eq!((lost.len(), duplicated.len()), (1, 1));
    }

    #[test]
    fn a_side_effect_that_never_ran_or_ran_too_often_is_caught() {
        let (mut delivered, balances, dir) = clean_run();
        delivered[1].deposit.id = "never-sent".to_owned();
        let problems = check_deposits(&delivered, &balances, &ledger(&dir), 0);
        assert!(
            problems.iter().any(|p| p.contains("never ran")),
            "{problems:?}"
        );

        let (delivered, balances, dir) = clean_run();
        let again = Ledger::open(dir.path().join("ledger")).unwrap();
        again
            .record(DEPOSIT, &delivered[0].deposit.ledger_id())
            .unwrap();
        let problems = check_deposits(&delivered, &balances, &ledger(&dir), 0);
        assert!(
            problems.iter().any(|p| p.contains("ran again")),
            "{problems:?}"
        );
        assert!(check_deposits(&delivered, &balances, &ledger(&dir), 1).is_empty());
    }

    #[test]
    fn a_receipt_with_a_token_no_run_returned_is_caught() {
        let (mut delivered, balances, dir) = clean_run();
        delivered[0].receipt.as_mut().unwrap().token = "forged".to_owned();
        let problems = check_deposits(&delivered, &balances, &ledger(&dir), 0);
        assert!(
            problems.iter().any(|p| p.contains("forged")),
            "{problems:?}"
        );
    }

    #[test]
    fn errands_are_held_to_their_verdicts_and_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let ledger_file = Ledger::open(dir.path().join("ledger")).unwrap();
        let key = "e-0".to_owned();
        let outcome = ErrandOutcome {
            task: format!("task of {key}"),
            verdict: verdict_for(&key),
            start_token: ledger_file.record(ERRAND_START, &key).unwrap(),
            finish_token: ledger_file.record(ERRAND_FINISH, &key).unwrap(),
        };
        let keys = [key.clone()];
        assert!(check_errands(&keys, std::slice::from_ref(&outcome), &ledger(&dir), 0).is_empty());

        let wrong = ErrandOutcome {
            verdict: "rejected".to_owned(),
            ..outcome.clone()
        };
        assert!(!check_errands(&keys, &[wrong], &ledger(&dir), 0).is_empty());
        assert!(!check_errands(&keys, &[], &ledger(&dir), 0).is_empty());
        ledger_file.record(ERRAND_FINISH, &key).unwrap();
        assert!(!check_errands(&keys, &[outcome], &ledger(&dir), 0).is_empty());
    }
}
