//! Faults injected into real processes mid-load: the endpoint killed with SIGKILL, and
//! restate-server killed (SIGKILL) or stopped (SIGTERM), each brought back on the same port and
//! data. Nothing may be lost or applied twice: every deposit in its account exactly once, every
//! workflow finished with its own verdict, side effects repeated only where one was in flight.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use restate_e2e::faults::load::{
    Delivery, Ingresses, check_deposits, check_errands, deliver_deposits, deposit_plan,
    expected_balances, finish_errands, settled_balances, start_errands, wait_errands_started,
};
use restate_e2e::faults::{EndpointProcess, LedgerEntries};
use restate_runtime::testing::RestateServer;

/// The fault endpoint, built by cargo with this test.
const FAULT_ENDPOINT: &str = env!("CARGO_BIN_EXE_fault-endpoint");

/// Workflows waiting on their promises through the faults.
const ERRANDS: usize = 30;
/// Accounts, and deposits into each.
const ACCOUNTS: usize = 8;
const DEPOSITS_PER_ACCOUNT: usize = 40;
/// Deposits in flight at once.
const CONCURRENCY: usize = 16;
/// How long anything may take to settle after the last fault.
const SETTLE: Duration = Duration::from_secs(120);

/// Starts errands and waits until each has journaled its start, then runs the deposits,
/// calling `inject` at evenly spaced points of the load (`faults` times), and checks everything
/// that came out.
async fn survive(
    ingresses: Arc<Ingresses>,
    ledger: &Path,
    prefix: &str,
    deliveries: &[Delivery],
    faults: usize,
    mut inject: impl FnMut(usize),
) {
    let errands: Vec<String> = (0..ERRANDS)
        .map(|n| format!("{prefix}-errand-{n}"))
        .collect();
    start_errands(&ingresses, &errands).await.unwrap();
    wait_errands_started(&ingresses, &errands, SETTLE)
        .await
        .unwrap();

    let plan = deposit_plan(prefix, ACCOUNTS, DEPOSITS_PER_ACCOUNT, deliveries);
    let progress = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(deliver_deposits(
        Arc::clone(&ingresses),
        plan.clone(),
        CONCURRENCY,
        Arc::clone(&progress),
    ));
    for fault in 1..=faults {
        let due = plan.len() * fault / (faults + 1);
        while progress.load(Ordering::Relaxed) < due {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(
            progress.load(Ordering::Relaxed) < plan.len(),
            "fault {fault} came after the load: it would test nothing"
        );
        eprintln!(
            "{prefix}: fault {fault} with {} of {} deposits delivered",
            progress.load(Ordering::Relaxed),
            plan.len()
        );
        tokio::task::block_in_place(|| inject(fault));
    }
    let delivered = load.await.unwrap().unwrap();

    let accounts = expected_balances(&plan).into_keys();
    let balances = settled_balances(&ingresses, accounts, SETTLE)
        .await
        .unwrap();
    let outcomes = finish_errands(&ingresses, &errands).await.unwrap();
    let ledger = LedgerEntries::read(ledger).unwrap();
    eprintln!(
        "{prefix}: {} deposit side effects ran again, {} errand side effects",
        ledger.repeats(restate_e2e::faults::effects::DEPOSIT),
        ledger.repeats(restate_e2e::faults::effects::ERRAND_START)
            + ledger.repeats(restate_e2e::faults::effects::ERRAND_FINISH)
    );
    // One deposit runs per account at a time: a fault interrupts at most one per account.
    let mut problems = check_deposits(&delivered, &balances, &ledger, ACCOUNTS * faults);
    // Every start was journaled before the faults; every finish runs after them.
    problems.extend(check_errands(&errands, &outcomes, &ledger, 0));
    assert!(problems.is_empty(), "{problems:#?}");
}

/// restate-server, the fault endpoint in a process of its own, and its ledger.
struct Setup {
    server: RestateServer,
    endpoint: EndpointProcess,
    ingresses: Arc<Ingresses>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let server = RestateServer::start().expect("restate-server starts");
    let endpoint = EndpointProcess::start(FAULT_ENDPOINT, &[], dir.path().join("ledger"))
        .expect("the endpoint process starts");
    server.register(&endpoint.url()).await.unwrap();
    let ingresses = Arc::new(Ingresses::new([(server.ingress_url(), server.admin_url())]));
    Setup {
        server,
        endpoint,
        ingresses,
        _dir: dir,
    }
}

/// kill -9 of the endpoint, twice, while workflows wait on promises and deposits are in
/// flight by every delivery: calls and sends, with and without idempotency keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_endpoint_is_killed() {
    let Setup {
        server: _server,
        mut endpoint,
        ingresses,
        _dir,
    } = setup().await;
    let ledger = endpoint.ledger().to_owned();
    survive(
        ingresses,
        &ledger,
        "endpoint-kill",
        &Delivery::ALL,
        2,
        |_| {
            endpoint.restart().expect("the endpoint comes back");
        },
    )
    .await;
}

/// SIGKILL of restate-server, twice, mid-load; restarted on the same data. A client cut off
/// cannot know whether its request arrived, so every deposit carries an idempotency key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_restate_server_is_killed() {
    let Setup {
        mut server,
        endpoint,
        ingresses,
        _dir,
    } = setup().await;
    survive(
        ingresses,
        endpoint.ledger(),
        "server-kill",
        &Delivery::IDEMPOTENT,
        2,
        |_| server.restart().expect("restate-server comes back"),
    )
    .await;
}

/// SIGTERM of restate-server, twice, mid-load; restarted on the same data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_restate_server_is_stopped() {
    let Setup {
        mut server,
        endpoint,
        ingresses,
        _dir,
    } = setup().await;
    survive(
        ingresses,
        endpoint.ledger(),
        "server-stop",
        &Delivery::IDEMPOTENT,
        2,
        |_| {
            server
                .restart_gracefully()
                .expect("restate-server comes back")
        },
    )
    .await;
}
