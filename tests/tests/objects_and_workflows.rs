//! Virtual objects and workflows end to end, against a real restate-server.

use std::sync::LazyLock;
use std::time::Duration;

use approval::MyApproval;
use restate_runtime::Endpoint;
use restate_test::TestEnvironment;
use serde_json::{Value, json};

/// The approval service, kept so tests can count executions of its run body.
static APPROVAL: LazyLock<MyApproval> = LazyLock::new(MyApproval::default);

/// One restate-server and endpoint for the tests that do not restart anything.
static ENV: LazyLock<TestEnvironment> =
    LazyLock::new(|| TestEnvironment::start(endpoint()).expect("the test environment starts"));

fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(counter::counter::CounterServer::new(counter::MyCounter))
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .bind(approval::approval::ApprovalServer::new(APPROVAL.clone()))
        .bind(restate_e2e::e2e::ApprovalDriverServer::new(
            restate_e2e::Driver,
        ))
        .build()
}

async fn post(env: &TestEnvironment, path: &str, body: Value) -> (u16, Value) {
    let response = restate_e2e::raw_ingress::http_client()
        .post(format!("{}/{path}", env.ingress_url()))
        .json(&body)
        .send()
        .await
        .expect("the ingress answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(env: &TestEnvironment, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}/{path}", env.ingress_url()))
        .await
        .expect("the ingress answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The status of an invocation, from the admin API's SQL interface.
async fn invocation_status(env: &TestEnvironment, invocation_id: &str) -> String {
    let response: Value = restate_e2e::raw_ingress::http_client()
        .post(format!("{}/query", env.admin_url()))
        .header("accept", "application/json")
        .json(&json!({
            "query": format!("SELECT status FROM sys_invocation WHERE id = '{invocation_id}'")
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["rows"][0]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("no status for {invocation_id}: {response}"))
        .to_owned()
}

#[tokio::test]
async fn concurrent_adds_on_one_key_end_at_the_exact_sum() {
    let adds = (1..=200).map(|delta| {
        let env = &*ENV;
        async move { post(env, "counter.Counter/sum/Add", json!({ "delta": delta })).await }
    });
    for (status, body) in futures::future::join_all(adds).await {
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = post(&ENV, "counter.Counter/sum/Get", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "value": (1..=200).sum::<i64>().to_string() }));
}

#[tokio::test]
async fn shared_get_answers_while_an_exclusive_handler_holds_the_key() {
    let env = &*ENV;
    post(env, "counter.Counter/busy/Add", json!({ "delta": 5 })).await;
    let (status, sent) = post(
        env,
        "counter.Counter/busy/SlowAdd/send",
        json!({ "delta": 100, "pauseMillis": 3000 }),
    )
    .await;
    assert_eq!(status, 202, "{sent}");
    let slow_id = sent["invocationId"].as_str().unwrap().to_owned();

    // Wait until the slow handler has started (it then holds the key until it completes).
    loop {
        let status = invocation_status(env, &slow_id).await;
        if status != "pending" && status != "scheduled" && status != "inboxed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, body) = post(env, "counter.Counter/busy/Get", json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "value": "5" }),
        "Get saw the slow handler's write"
    );
    assert_ne!(
        invocation_status(env, &slow_id).await,
        "completed",
        "the slow handler finished before Get answered"
    );

    let (status, slow) = get(env, &format!("restate/invocation/{slow_id}/attach")).await;
    assert_eq!(status, 200, "{slow}");
    assert_eq!(slow, json!({ "value": "105" }));
}

#[tokio::test]
async fn workflow_run_waits_on_its_promise_and_runs_once_per_id() {
    let env = &*ENV;
    let id = "expense-42";
    let (status, sent) = post(
        env,
        &format!("approval.Approval/{id}/Run/send"),
        json!({ "title": "new laptop" }),
    )
    .await;
    assert_eq!(status, 202, "{sent}");

    // The run blocks on the promise: no output yet.
    loop {
        let (_, status) = post(env, &format!("approval.Approval/{id}/Status"), json!({})).await;
        if status["status"] == "waiting for a decision" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (status, output) = get(
        env,
        &format!("restate/workflow/approval.Approval/{id}/output"),
    )
    .await;
    assert_eq!(
        status, 470,
        "the run finished before the decision: {output}"
    );

    let (status, body) = post(
        env,
        &format!("approval.Approval/{id}/Decide"),
        json!({ "approved": true, "by": "Grace" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let expected = json!({ "title": "new laptop", "approved": true, "by": "Grace" });
    let (status, outcome) = get(
        env,
        &format!("restate/workflow/approval.Approval/{id}/attach"),
    )
    .await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome, expected);

    // Submitting the same id again runs nothing; the caller gets the first run's result.
    let (status, resubmitted) = post(
        env,
        &format!("approval.Approval/{id}/Run/send"),
        json!({ "title": "a different title" }),
    )
    .await;
    assert_eq!(status, 202, "{resubmitted}");
    assert_eq!(resubmitted["status"], "PreviouslyAccepted", "{resubmitted}");
    assert_eq!(resubmitted["invocationId"], sent["invocationId"]);
    let (status, again) = get(
        env,
        &format!("restate/workflow/approval.Approval/{id}/attach"),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, expected);
    assert_eq!(APPROVAL.executions(id), 1);

    // A second decision finds the promise completed already.
    let (status, body) = post(
        env,
        &format!("approval.Approval/{id}/Decide"),
        json!({ "approved": false, "by": "Mallory" }),
    )
    .await;
    assert!(status >= 400, "resolving twice succeeded: {body}");
}

#[tokio::test]
async fn a_handler_submits_peeks_signals_and_attaches_to_a_workflow() {
    let (status, body) = post(
        &ENV,
        "e2e.ApprovalDriver/Drive",
        json!({ "id": "driven-1", "title": "conference trip" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // `outputBeforeDecision` is false, which proto3 JSON leaves out.
    assert_eq!(
        body,
        json!({
            "title": "conference trip",
            "approved": true,
            "by": "the driver"
        })
    );
    assert_eq!(APPROVAL.executions("driven-1"), 1);
}

#[tokio::test]
async fn state_survives_an_endpoint_restart() {
    let mut env = TestEnvironment::start(endpoint()).expect("the test environment starts");
    let (status, body) = post(&env, "counter.Counter/durable/Add", json!({ "delta": 7 })).await;
    assert_eq!(status, 200, "{body}");

    env.restart_endpoint().expect("the endpoint restarts");

    let (status, body) = post(&env, "counter.Counter/durable/Add", json!({ "delta": 1 })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "value": "8" }));
}

#[tokio::test]
async fn configuration_documentation_and_schemas_reach_the_admin_api() {
    let service: Value = reqwest::get(format!("{}/services/counter.Counter", ENV.admin_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    // Service settings from `(restate.service_config)`.
    assert_eq!(service["journal_retention"], "1h", "{service:#}");
    assert_eq!(service["metadata"]["example"], "counter", "{service:#}");
    assert_eq!(
        service["retry_policy"]["exponentiation_factor"], 2.0,
        "{service:#}"
    );
    assert_eq!(service["retry_policy"]["max_attempts"], 20, "{service:#}");
    // Documentation from proto comments.
    assert_eq!(
        service["documentation"], "A counter per key, kept in Restate's state.",
        "{service:#}"
    );
    let handler = |name: &str| {
        service["handlers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("no handler {name}"))
            .clone()
    };
    // Handler settings from `(restate.handler_config)`.
    assert_eq!(handler("Get")["inactivity_timeout"], "10s");
    assert_eq!(
        handler("Add")["documentation"],
        "Adds `delta` to the counter and returns the new value."
    );
    // JSON Schemas of the proto3 JSON mapping: int64 travels as a string (or a number).
    let add = handler("Add");
    assert_eq!(add["input_json_schema"]["title"], "AddRequest");
    assert_eq!(
        add["input_json_schema"]["properties"]["delta"]["type"],
        json!(["string", "integer"])
    );
    assert_eq!(add["output_json_schema"]["title"], "CounterValue");

    let workflow: Value = reqwest::get(format!("{}/services/approval.Approval", ENV.admin_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        workflow["workflow_completion_retention"], "7d",
        "{workflow:#}"
    );
}

/// Posts with a bound on the wait, so that a handler stuck in retries fails the test instead of
/// hanging it.
async fn post_bounded(path: &str, body: Value) -> (u16, Value) {
    tokio::time::timeout(Duration::from_secs(60), post(&ENV, path, body))
        .await
        .unwrap_or_else(|_| panic!("{path} is still being retried"))
}

#[tokio::test]
async fn a_sleep_past_the_protocol_s_clock_is_a_400_and_frees_the_key() {
    let (status, body) = post_bounded(
        "counter.Counter/far-future/SlowAdd",
        json!({ "delta": 1, "pauseMillis": u64::MAX.to_string() }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("out of range"), "{body}");
    // Not paused holding the key: the next exclusive call runs.
    let (status, body) =
        post_bounded("counter.Counter/far-future/Add", json!({ "delta": 2 })).await;
    assert_eq!((status, body), (200, json!({ "value": "2" })));
}

#[tokio::test]
async fn a_counter_overflow_is_a_400_and_frees_the_key() {
    let add = json!({ "delta": i64::MAX.to_string() });
    let (status, _) = post_bounded("counter.Counter/overflow/Add", add.clone()).await;
    assert_eq!(status, 200);
    let (status, body) = post_bounded("counter.Counter/overflow/Add", add).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("leaves the range"), "{body}");
    let (status, body) = post_bounded("counter.Counter/overflow/Get", json!({})).await;
    assert_eq!(
        (status, body),
        (200, json!({ "value": i64::MAX.to_string() }))
    );
}
