//! Services known to Restate by names other than their proto names — a short name from the
//! build option, a name from `(restate.service_name)`, a handler name from
//! `(restate.handler_name)` — against a real restate-server, through the gRPC gateway, and in
//! the simulator.

use std::net::SocketAddr;

use restate_e2e::grpc::names::Amount as GrpcAmount;
use restate_e2e::grpc::names::tally_client::TallyClient as GrpcTallyClient;
use restate_e2e::names::{Amount, FrontdeskIngressClient, TallyGateway, endpoint};
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_runtime::grpc::Gateway;
use restate_runtime::ingress::Ingress;
use restate_test::TestEnvironment;
use restate_test::sim::Simulator;

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("a JSON body")
}

#[test]
fn restate_knows_the_services_and_handlers_by_their_restate_names() {
    let env = TestEnvironment::start(endpoint()).expect("the test environment starts");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let raw = RawIngress::new(env.ingress_url(), env.admin_url());
        let key = random_key();
        let body = serde_json::to_vec(&serde_json::json!({ "key": key, "value": 2 })).unwrap();

        // The short name and the handler's own name; the proto names are unknown to Restate.
        let added = raw
            .post(&format!("Tally/{key}/add"), body.clone(), &[])
            .await
            .unwrap();
        assert_eq!(
            added.status,
            200,
            "{}",
            String::from_utf8_lossy(&added.body)
        );
        assert_eq!(json(&added.body)["value"], "2");
        for path in [format!("names.Tally/{key}/add"), format!("Tally/{key}/Add")] {
            let unknown = raw.post(&path, body.clone(), &[]).await.unwrap();
            assert_eq!(unknown.status, 404, "{path}");
        }

        // The generated clients: from outside, and from a handler through the journal.
        let ingress = Ingress::new(env.ingress_url());
        let total = FrontdeskIngressClient::new(&ingress)
            .deposit(Amount {
                key: key.clone(),
                value: 3,
            })
            .await
            .expect("Front/Deposit answers");
        assert_eq!(total.value, 5);

        // Discovery announced the Restate names.
        let services = reqwest::get(format!("{}/services", env.admin_url()))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let services: serde_json::Value = serde_json::from_str(&services).unwrap();
        let mut names: Vec<&str> = services["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["Front", "Tally"]);

        // gRPC keeps the proto names: `/names.Tally/Add` forwards to `Tally/{key}/add`.
        let gateway = serve_gateway(env.ingress_url()).await;
        let mut client = GrpcTallyClient::connect(format!("http://{gateway}"))
            .await
            .expect("the gateway accepts");
        let total = client
            .add(GrpcAmount {
                key: key.clone(),
                value: 4,
            })
            .await
            .expect("the gateway forwards")
            .into_inner();
        assert_eq!(total.value, 9);
    });
}

/// A gateway for the tally on a free port of the current runtime.
async fn serve_gateway(ingress_url: &str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let gateway = Gateway::builder(ingress_url).add::<TallyGateway>().build();
    tokio::spawn(gateway.serve_with_shutdown(listener, std::future::pending()));
    address
}

#[tokio::test]
async fn the_simulator_follows_the_restate_names() {
    let sim = Simulator::new(endpoint()).await.unwrap().into_shared();
    let ingress = sim.ingress();
    let front = FrontdeskIngressClient::new(&ingress);
    for expected in [7, 14] {
        let total = front
            .deposit(Amount {
                key: "k".to_owned(),
                value: 7,
            })
            .await
            .expect("the simulated Front answers");
        assert_eq!(total.value, expected);
    }
    let journals = sim.journals().await;
    assert!(
        journals
            .iter()
            .any(|j| j.service == "Tally" && j.handler == "add"),
        "{journals:?}"
    );
}
