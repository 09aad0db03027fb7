//! Named timers, timeouts on durable futures and the invocation's facts, against a real
//! restate-server.

use std::sync::LazyLock;
use std::time::Duration;

use restate_e2e::TimingService;
use restate_e2e::e2e::TimingServer;
use restate_e2e::raw_ingress::RawIngress;
use restate_runtime::Endpoint;
use restate_test::TestEnvironment;
use serde_json::{Value, json};

static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    let endpoint = Endpoint::builder()
        .bind(TimingServer::new(TimingService))
        .build();
    TestEnvironment::start(endpoint).expect("the test environment starts")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

async fn call(path: &str, body: Value, headers: &[(&str, &str)]) -> Value {
    let response = ingress()
        .post(path, serde_json::to_vec(&body).unwrap(), headers)
        .await
        .expect("the ingress answers");
    assert_eq!(
        response.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&response.body)
    );
    serde_json::from_slice(&response.body).expect("a JSON answer")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_timer_shows_its_name_in_the_journal() {
    let name = format!("cool-down-{}", restate_e2e::raw_ingress::random_key());
    call(
        "e2e.Timing/NamedNap",
        json!({ "name": name, "millis": 10 }),
        &[],
    )
    .await;
    let rows = ingress()
        .query(&format!(
            "SELECT entry_type, name FROM sys_journal WHERE name = '{name}'"
        ))
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        rows[0]["entry_type"].as_str().unwrap().contains("Sleep"),
        "{rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_fires_when_nothing_answers_and_not_when_something_does() {
    let timed_out = call(
        "e2e.Timing/WaitOrTimeOut",
        json!({ "millis": 50, "resolve": false }),
        &[],
    )
    .await;
    assert_eq!(timed_out["timedOut"], true, "{timed_out}");
    assert_eq!(timed_out["code"], 408);
    let answered = call(
        "e2e.Timing/WaitOrTimeOut",
        json!({ "millis": Duration::from_secs(3600).as_millis() as u64, "resolve": true }),
        &[],
    )
    .await;
    assert_eq!(answered["value"], "answered", "{answered}");
    assert!(answered.get("timedOut").is_none(), "{answered}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_invocation_knows_its_headers_and_what_protocol_6_leaves_out() {
    let key = restate_e2e::raw_ingress::random_key();
    let facts = call(
        "e2e.Timing/Facts",
        json!({}),
        &[("idempotency-key", &key), ("x-greeting", "hi")],
    )
    .await;
    assert_eq!(facts["greetingHeader"], "hi", "{facts}");
    // restate-server 1.7 speaks protocol version 6: it neither forwards the idempotency-key
    // header nor carries the key, the scope or the limit key in the start message (version 7
    // does; the endpoint's unit tests cover that). A server that starts to makes this fail,
    // and the README's table then needs its note changed.
    for fact in ["idempotencyKey", "scope", "limitKey"] {
        assert!(facts.get(fact).is_none(), "{fact}: {facts}");
    }
}

/// A server speaking invocation protocol version 7 (experimental in restate-server 1.7, with
/// vqueues for scopes): the start message carries the scope, limit key and idempotency key.
static ENV_V7: LazyLock<TestEnvironment> = LazyLock::new(|| {
    let endpoint = Endpoint::builder()
        .bind(TimingServer::new(TimingService))
        .build();
    TestEnvironment::builder(endpoint)
        .server_env("RESTATE_EXPERIMENTAL_ENABLE_VQUEUES", "true")
        .server_env("RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7", "true")
        .start()
        .expect("the test environment starts")
});

#[tokio::test(flavor = "multi_thread")]
async fn with_protocol_7_the_invocation_knows_its_scope_limit_key_and_idempotency_key() {
    use restate_runtime::ingress::Ingress;
    use restate_runtime::{Bytes, Codec, Request, Target};

    let ingress = Ingress::new(ENV_V7.ingress_url());
    let key = restate_e2e::raw_ingress::random_key();
    let answer = Request::raw(
        &ingress,
        Target::new("e2e.Timing", "Facts", Codec::Json),
        Bytes::from_static(b"{}"),
    )
    .scope("tenant-a")
    .limit_key("user-7")
    .idempotency_key(key.clone())
    .call()
    .await
    .expect("Facts answers");
    let facts: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(facts["idempotencyKey"], key.as_str(), "{facts}");
    assert_eq!(facts["scope"], "tenant-a", "{facts}");
    assert_eq!(facts["limitKey"], "user-7", "{facts}");
}
