//! A three-node Restate cluster on loopback: load through every node's ingress, one node
//! killed with SIGKILL mid-load, the load carried on through the others. No result lost or
//! doubled, exact balances, every workflow finished once.

use std::sync::Arc;
use std::time::Duration;

use restate_e2e::faults::load::{Delivery, Ingresses};
use restate_e2e::faults::{EndpointProcess, Scenario};
use restate_test::RestateCluster;

/// The fault endpoint, built by cargo with this test.
const FAULT_ENDPOINT: &str = env!("CARGO_BIN_EXE_fault-endpoint");

/// The node killed: not the one that provisioned the cluster, nor the one registered through.
const VICTIM: usize = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_keeps_every_promise_when_a_node_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = RestateCluster::start(3).expect("the cluster forms");
    let endpoint = EndpointProcess::start(FAULT_ENDPOINT, &[], dir.path().join("ledger"))
        .expect("the endpoint process starts");
    cluster.register(&endpoint.url()).await.unwrap();
    let ingresses = Arc::new(Ingresses::new(
        cluster
            .nodes()
            .iter()
            .map(|node| (node.ingress_url(), node.admin_url())),
    ));

    let scenario = Scenario {
        prefix: "cluster".to_owned(),
        errands: 30,
        accounts: 8,
        deposits_per_account: 40,
        concurrency: 16,
        // Requests to the dead node are cut off: only idempotent ones may be retried.
        deliveries: &Delivery::IDEMPOTENT,
        faults: 1,
        settle: Duration::from_secs(180),
    };
    let report = scenario
        .run(Arc::clone(&ingresses), endpoint.ledger(), |_| {
            ingresses.take_down(VICTIM);
            cluster.node_mut(VICTIM).kill();
        })
        .await
        .unwrap();
    eprintln!("{report:?}");
    assert_eq!(report.faults, 1, "the node died mid-load");
    assert!(!cluster.node_mut(VICTIM).is_running());
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
}
