//! `ServiceToServiceScopeConcurrency`, against a server with vqueues and invocation protocol
//! v7 switched on (experimental in restate-server 1.7) and rule books polled every second.

use std::sync::LazyLock;

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::RawIngress;
use restate_e2e::scenarios::scope_concurrency;
use restate_test::TestEnvironment;

/// One server for the binary: the tests use scopes of their own.
static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::builder(conformance_endpoint())
        .server_env("RESTATE_EXPERIMENTAL_ENABLE_VQUEUES", "true")
        .server_env("RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7", "true")
        .server_env("RESTATE_WORKER__RULE_BOOK_POLL_INTERVAL", "1s")
        .start()
        .expect("the test environment starts")
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_and_limit_key_are_propagated_on_service_to_service_calls() {
    let env = &*ENV;
    let ingress = RawIngress::new(env.ingress_url(), env.admin_url());
    scope_concurrency::scope_and_limit_key_are_propagated(&ingress).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingress_client_sends_into_a_scope() {
    use restate_runtime::ingress::Ingress;
    use restate_runtime::{Bytes, Codec, Request, Target};

    let env = &*ENV;
    let ingress = Ingress::new(env.ingress_url());
    let target = || Target::new("conformance.TestUtilsService", "uppercaseEcho", Codec::Json);
    let echoed = Request::raw(&ingress, target(), Bytes::from_static(br#""hi""#))
        .scope("ingress-tenants")
        .limit_key("acme/alice")
        .call()
        .await
        .expect("the scoped call succeeds");
    assert_eq!(&echoed[..], br#""HI""#);
    let sent = Request::raw(&ingress, target(), Bytes::from_static(br#""hi""#))
        .scope("ingress-tenants")
        .limit_key("acme/bob")
        .send()
        .await
        .expect("the scoped send is accepted");
    let rows = RawIngress::new(env.ingress_url(), env.admin_url())
        .query(&format!(
            "SELECT scope FROM sys_invocation WHERE id = '{}'",
            sent.invocation_id
        ))
        .await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["scope"], "ingress-tenants", "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limit_key_without_a_scope_fails_the_call_terminally() {
    use restate_e2e::conformance::proto::ProxyRequest;

    let env = &*ENV;
    let ingress = RawIngress::new(env.ingress_url(), env.admin_url());
    let request = ProxyRequest {
        service_name: "conformance.TestUtilsService".to_owned(),
        handler_name: "uppercaseEcho".to_owned(),
        message: br#""hi""#.to_vec(),
        limit_key: Some("acme".to_owned()),
        ..Default::default()
    };
    let error = ingress
        .call::<serde_json::Value>("conformance.Proxy/call", &request)
        .await
        .expect_err("no scope, no call");
    assert_eq!(error.status, 400, "{error:?}");
}
