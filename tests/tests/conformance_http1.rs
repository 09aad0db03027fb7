//! Restate's SDK conformance scenarios with the endpoint registered for HTTP/1.1: every
//! invocation attempt is one request and one response, so the handler suspends whenever it
//! waits for Restate and resumes on a new request that replays its journal.

use std::sync::LazyLock;

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::RawIngress;
use restate_test::TestEnvironment;

static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::builder(conformance_endpoint())
        .http1()
        .start()
        .expect("the test environment starts")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

restate_e2e::core_scenario_tests!(ingress);

// `RunFlush` holds only when every wait is a suspension.
restate_e2e::scenario_tests! { ingress;
    run_flush: restate_e2e::scenarios::run_flush::flush;
}

/// The scenarios above ran over HTTP/1.1 only if Restate recorded the deployment so.
#[tokio::test]
async fn the_deployment_is_request_response() {
    let _ = ingress();
    let deployments: serde_json::Value = reqwest::get(format!("{}/deployments", ENV.admin_url()))
        .await
        .expect("the admin API answers")
        .json()
        .await
        .expect("a JSON list of deployments");
    let deployment = &deployments["deployments"][0];
    assert_eq!(
        deployment["protocol_type"], "RequestResponse",
        "{deployments}"
    );
    assert_eq!(deployment["http_version"], "HTTP/1.1", "{deployments}");
}
