//! Faults injected into real processes mid-load: the endpoint killed with SIGKILL, and
//! restate-server killed (SIGKILL) or stopped (SIGTERM), each brought back on the same port and
//! data. Nothing may be lost or applied twice: every deposit in its account exactly once, every
//! workflow finished with its own verdict, side effects repeated only where one was in flight.

use std::sync::Arc;
use std::time::Duration;

use restate_e2e::faults::load::{Delivery, Ingresses};
use restate_e2e::faults::{EndpointProcess, Scenario};
use restate_test::{RestateServer, TestError};

/// The fault endpoint, built by cargo with this test.
const FAULT_ENDPOINT: &str = env!("CARGO_BIN_EXE_fault-endpoint");

/// Two faults in a round of 30 workflows and 320 deposits into 8 accounts, 16 at a time.
fn scenario(prefix: &str, deliveries: &'static [Delivery]) -> Scenario<'static> {
    Scenario {
        prefix: prefix.to_owned(),
        errands: 30,
        accounts: 8,
        deposits_per_account: 40,
        concurrency: 16,
        deliveries,
        faults: 2,
        settle: Duration::from_secs(120),
    }
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
    let report = scenario("endpoint-kill", &Delivery::ALL)
        .run(ingresses, &ledger, |_| {
            endpoint.restart().expect("the endpoint comes back");
        })
        .await
        .unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.faults, 2, "both faults struck mid-load");
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// restate-server taken down by `restart` twice mid-load, and restarted on the same data. A
/// client cut off cannot know whether its request arrived, so every deposit carries an
/// idempotency key.
async fn survive_server_restarts(
    prefix: &str,
    restart: fn(&mut RestateServer) -> Result<(), TestError>,
) {
    let Setup {
        mut server,
        endpoint,
        ingresses,
        _dir,
    } = setup().await;
    let report = scenario(prefix, &Delivery::IDEMPOTENT)
        .run(ingresses, endpoint.ledger(), |_| {
            restart(&mut server).expect("restate-server comes back");
        })
        .await
        .unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.faults, 2, "both faults struck mid-load");
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}

/// SIGKILL of restate-server, as a crash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_restate_server_is_killed() {
    survive_server_restarts("server-kill", RestateServer::restart).await;
}

/// SIGTERM of restate-server, as a redeployment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_restate_server_is_stopped() {
    survive_server_restarts("server-stop", RestateServer::restart_gracefully).await;
}
