//! The approval workflow unit-tested in the in-process simulator: no server, and the three-day
//! deadline passes in virtual time.

use std::time::Duration;

use approval::approval::{ApprovalIngressClient, ApprovalRequest, Decision};
use approval::{DECISION_DEADLINE, MyApproval};
use restate_runtime::testing::sim::{SharedSimulator, Simulator};

async fn simulator(approvals: &MyApproval) -> SharedSimulator {
    Simulator::new(approval::endpoint(approvals.clone()))
        .await
        .expect("the endpoint answers discovery")
        .into_shared()
}

fn request() -> ApprovalRequest {
    ApprovalRequest {
        title: "laptop".to_owned(),
    }
}

#[tokio::test]
async fn a_decision_within_the_deadline_is_the_outcome() {
    let approvals = MyApproval::default();
    let sim = simulator(&approvals).await;
    let workflow = ApprovalIngressClient::new(&sim.ingress(), "expense-1");
    workflow.run(request()).send().await.unwrap();
    // Two days later, still waiting.
    sim.lock()
        .await
        .advance(Duration::from_secs(2 * 24 * 3600))
        .await
        .unwrap();
    assert_eq!(
        workflow.status().await.unwrap().status,
        "waiting for a decision"
    );
    workflow
        .decide(Decision {
            approved: true,
            by: "Grace".to_owned(),
        })
        .await
        .unwrap();
    let outcome = workflow.handle().attach().await.unwrap();
    assert!(outcome.approved);
    assert_eq!(outcome.by, "Grace");
    assert_eq!(approvals.executions("expense-1"), 1);
}

#[tokio::test]
async fn no_decision_within_three_days_rejects_the_request() {
    let approvals = MyApproval::default();
    let sim = simulator(&approvals).await;
    let workflow = ApprovalIngressClient::new(&sim.ingress(), "expense-2");
    workflow.run(request()).send().await.unwrap();
    sim.lock()
        .await
        .advance(DECISION_DEADLINE - Duration::from_millis(1))
        .await
        .unwrap();
    assert!(workflow.handle().get_output().await.unwrap().is_none());
    sim.lock()
        .await
        .advance(Duration::from_millis(1))
        .await
        .unwrap();
    let outcome = workflow
        .handle()
        .get_output()
        .await
        .unwrap()
        .expect("decided");
    assert!(!outcome.approved);
    assert_eq!(outcome.by, "nobody: the deadline passed");
    assert_eq!(workflow.status().await.unwrap().status, "rejected");
    // A late decision changes nothing.
    workflow
        .decide(Decision {
            approved: true,
            by: "Grace".to_owned(),
        })
        .await
        .unwrap();
    assert!(!workflow.handle().attach().await.unwrap().approved);
}
