//! The approval workflow unit-tested in the in-process simulator: no server, the three-day
//! deadline passing in virtual time, and a stub for the notifier it calls.

use std::time::Duration;

use std::sync::{Arc, Mutex};

use approval::approval::{
    ApprovalIngressClient, ApprovalOutcome, ApprovalRequest, ApprovalServer, Decision,
};
use approval::{DECISION_DEADLINE, MyApproval};
use restate_runtime::{Codec, Endpoint, Target};
use restate_test::sim::{SharedSimulator, Simulator};

/// The workflow alone, with a stub for the notifier it calls: the notices it was sent.
async fn simulator(approvals: &MyApproval) -> (SharedSimulator, Arc<Mutex<Vec<ApprovalOutcome>>>) {
    let endpoint = Endpoint::builder()
        .bind(ApprovalServer::new(approvals.clone()))
        .build();
    let mut sim = Simulator::new(endpoint)
        .await
        .expect("the endpoint answers discovery");
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::clone(&notices);
    sim.stub(
        Target::new("approval.Notifier", "Notify", Codec::Json),
        move |notice: ApprovalOutcome| {
            sent.lock().unwrap().push(notice);
            Ok(())
        },
    );
    (sim.into_shared(), notices)
}

fn request() -> ApprovalRequest {
    ApprovalRequest {
        title: "laptop".to_owned(),
    }
}

#[tokio::test]
async fn a_decision_within_the_deadline_is_the_outcome() {
    let approvals = MyApproval::default();
    let (sim, notices) = simulator(&approvals).await;
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
    // The notifier got the outcome, once; the promise holds the decision.
    assert_eq!(*notices.lock().unwrap(), [outcome]);
    let decision = sim
        .lock()
        .await
        .promise("approval.Approval", "expense-1", "decision");
    assert!(decision.expect("completed").is_ok());
}

#[tokio::test]
async fn no_decision_within_three_days_rejects_the_request() {
    let approvals = MyApproval::default();
    let (sim, notices) = simulator(&approvals).await;
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
    assert_eq!(
        sim.lock().await.stub_calls("approval.Notifier", "Notify"),
        1
    );
    assert!(!notices.lock().unwrap()[0].approved);
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
