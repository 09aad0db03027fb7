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
use restate_e2e::scenarios::cancellation::From;
use restate_e2e::scenarios::*;
use restate_runtime::testing::TestEnvironment;

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

// RunFlush

#[tokio::test]
async fn run_flush() {
    run_flush::flush(&ingress()).await;
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

/// One test per scenario: `name: scenario function, extra arguments...;`.
macro_rules! scenario_tests {
    ($($name:ident: $scenario:path $(, $argument:expr)*;)*) => {$(
        #[tokio::test]
        async fn $name() {
            $scenario(&ingress() $(, $argument)*).await;
        }
    )*};
}

scenario_tests! {
    cancel_from_admin_api_call: cancellation::cancel, From::AdminApi, "CALL";
    cancel_from_admin_api_sleep: cancellation::cancel, From::AdminApi, "SLEEP";
    cancel_from_admin_api_awakeable: cancellation::cancel, From::AdminApi, "AWAKEABLE";
    cancel_from_context_call: cancellation::cancel, From::Context, "CALL";
    cancel_from_context_sleep: cancellation::cancel, From::Context, "SLEEP";
    cancel_from_context_awakeable: cancellation::cancel, From::Context, "AWAKEABLE";

    combinators_awakeable_or_timeout_using_await_any:
        combinators::awakeable_or_timeout_using_await_any;
    combinators_awakeable_or_timeout_using_awakeable_timeout_command:
        combinators::awakeable_or_timeout_using_awakeable_timeout_command;
    combinators_first_successful_completed_awakeable:
        combinators::first_successful_completed_awakeable;
    combinators_signal_first_successful_or_all_failed:
        combinators::signal_first_successful_or_all_failed;
    combinators_signal_all_successful_or_first_failed:
        combinators::signal_all_successful_or_first_failed;
    combinators_signal_all_completed: combinators::signal_all_completed;
    combinators_signal_first_completed: combinators::signal_first_completed;
    combinators_mixed_run_wins_race_against_signal:
        combinators::mixed_run_wins_race_against_signal;
    combinators_mixed_signal_wins_after_run_fails:
        combinators::mixed_signal_wins_after_run_fails;
    combinators_mixed_all_succeeded_run_and_signal:
        combinators::mixed_all_succeeded_run_and_signal;
    combinators_mixed_all_completed_run_signal_and_failed_run:
        combinators::mixed_all_completed_run_signal_and_failed_run;

    run_retry_with_success: run_retry::with_success;
    run_retry_executed_only_once: run_retry::executed_only_once;
    run_retry_with_exhausted_attempts: run_retry::with_exhausted_attempts;

    service_to_service_regular_call: service_to_service::regular_call;
    service_to_service_one_way_call: service_to_service::one_way_call;
    service_to_service_one_way_call_with_idempotency_key:
        service_to_service::one_way_call_with_idempotency_key;
    service_to_service_call_with_idempotency_key: service_to_service::call_with_idempotency_key;
    service_to_service_one_way_call_with_delay: service_to_service::one_way_call_with_delay;

    signals_resolve: signals::resolve;
    signals_reject: signals::reject;

    sleep: sleep::sleep;
    sleep_many_sleeps: sleep::many_sleeps;

    state_add: state::add;
    state_proxy_one_way_add: state::proxy_one_way_add;
    state_list_state_and_clear_all: state::list_state_and_clear_all;

    user_errors_invoke_terminally_failing_call: user_errors::invoke_terminally_failing_call;
    user_errors_fail_several_times: user_errors::fail_several_times;
    user_errors_internal_call_failure_propagation: user_errors::internal_call_failure_propagation;
    user_errors_side_effect_with_terminal_error: user_errors::side_effect_with_terminal_error;
    user_errors_invoke_terminally_failing_call_with_metadata:
        user_errors::invoke_terminally_failing_call_with_metadata;
    user_errors_fail_several_times_with_metadata: user_errors::fail_several_times_with_metadata;
    user_errors_internal_call_failure_propagation_with_metadata:
        user_errors::internal_call_failure_propagation_with_metadata;
    user_errors_side_effect_with_terminal_error_with_metadata:
        user_errors::side_effect_with_terminal_error_with_metadata;
    user_errors_set_state_then_fail_should_persist_state:
        user_errors::set_state_then_fail_should_persist_state;
    user_errors_invocation_with_eventual_success: user_errors::invocation_with_eventual_success;

    workflow_api_set_and_resolve: workflow_api::set_and_resolve;
}
