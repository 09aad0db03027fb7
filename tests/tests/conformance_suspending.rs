//! Restate's SDK conformance scenarios against restate-servers whose invoker suspends an
//! invocation as soon as it waits for anything (`inactivity-timeout = 0s`): every completion
//! then reaches the handler through a replay of its journal.
//!
//! `NonDeterminismErrors` gets a server of its own that also kills an invocation on its first
//! failure, as the suite configures it; the other scenarios would not survive that policy
//! (some rely on Restate retrying).

use std::sync::LazyLock;

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::RawIngress;
use restate_e2e::scenarios::non_determinism;
use restate_test::TestEnvironment;

const INACTIVITY_TIMEOUT: (&str, &str) = ("RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT", "0s");

/// Suspends at every wait.
static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::builder(conformance_endpoint())
        .server_env(INACTIVITY_TIMEOUT.0, INACTIVITY_TIMEOUT.1)
        .start()
        .expect("the test environment starts")
});

/// Suspends at every wait, and kills an invocation at its first failure.
static NON_DETERMINISM_ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::builder(conformance_endpoint())
        .server_env(INACTIVITY_TIMEOUT.0, INACTIVITY_TIMEOUT.1)
        .server_env("RESTATE_DEFAULT_RETRY_POLICY__MAX_ATTEMPTS", "1")
        .server_env("RESTATE_DEFAULT_RETRY_POLICY__ON_MAX_ATTEMPTS", "kill")
        .server_env("RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL", "1ms")
        .start()
        .expect("the test environment starts")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

// NonDeterminismErrors

/// The suite's `method(handler)`, plus: the failure is the journal mismatch (570), both for
/// the caller and in Restate's record of the invocation.
async fn non_determinism(handler: &str) {
    let env = &*NON_DETERMINISM_ENV;
    let ingress = RawIngress::new(env.ingress_url(), env.admin_url());
    let (error, key) = non_determinism::method(&ingress, handler).await;
    assert_eq!(error.status, 570, "{error}");
    assert!(error.message.contains("mismatch"), "{error}");

    let rows = ingress
        .query(&format!(
            "SELECT status, completion_result, completion_failure FROM sys_invocation \
             WHERE target_service_name = 'conformance.NonDeterministic' \
             AND target_service_key = '{key}' AND target_handler_name = '{handler}'"
        ))
        .await;
    let [row] = rows.as_slice() else {
        panic!("expected one invocation of {handler}: {rows:?}");
    };
    assert_eq!(row["status"], "completed", "{row}");
    assert_eq!(row["completion_result"], "failure", "{row}");
    assert!(
        row["completion_failure"]
            .as_str()
            .is_some_and(|failure| failure.starts_with("[570]")),
        "{row}"
    );
}

#[tokio::test]
async fn non_determinism_either_sleep_or_call() {
    non_determinism("eitherSleepOrCall").await;
}

#[tokio::test]
async fn non_determinism_call_different_method() {
    non_determinism("callDifferentMethod").await;
}

#[tokio::test]
async fn non_determinism_background_invoke_with_different_targets() {
    non_determinism("backgroundInvokeWithDifferentTargets").await;
}

#[tokio::test]
async fn non_determinism_set_different_key() {
    non_determinism("setDifferentKey").await;
}

// The core scenarios again, every wait a suspension.

restate_e2e::core_scenario_tests!(ingress);

// `RunFlush` holds only when every wait is a suspension.
restate_e2e::scenario_tests! { ingress;
    run_flush: restate_e2e::scenarios::run_flush::flush;
}
