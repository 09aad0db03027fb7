//! Restate's SDK conformance scenarios against a restate-server with its default configuration.
//!
//! One server and endpoint serve every scenario that leaves them running; the scenarios use
//! fresh keys, so they run in parallel without interfering. `SleepWithFailures` restarts the
//! endpoint and so gets an environment of its own.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_e2e::scenarios::cancellation::From;
use restate_e2e::scenarios::*;
use restate_runtime::testing::{RestateServer, TestEnvironment};

/// One restate-server and endpoint for every scenario that does not restart anything.
static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::start(conformance_endpoint()).expect("the test environment starts")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

// CallOrdering

#[tokio::test]
async fn call_ordering_send_first() {
    call_ordering::ordering(&ingress(), [true, false, false]).await;
}

#[tokio::test]
async fn call_ordering_send_second() {
    call_ordering::ordering(&ingress(), [false, true, false]).await;
}

#[tokio::test]
async fn call_ordering_two_sends_first() {
    call_ordering::ordering(&ingress(), [true, true, false]).await;
}

// Cancellation

#[tokio::test]
async fn cancel_from_admin_api_call() {
    cancellation::cancel(&ingress(), From::AdminApi, "CALL").await;
}

#[tokio::test]
async fn cancel_from_admin_api_sleep() {
    cancellation::cancel(&ingress(), From::AdminApi, "SLEEP").await;
}

#[tokio::test]
async fn cancel_from_admin_api_awakeable() {
    cancellation::cancel(&ingress(), From::AdminApi, "AWAKEABLE").await;
}

#[tokio::test]
async fn cancel_from_context_call() {
    cancellation::cancel(&ingress(), From::Context, "CALL").await;
}

#[tokio::test]
async fn cancel_from_context_sleep() {
    cancellation::cancel(&ingress(), From::Context, "SLEEP").await;
}

#[tokio::test]
async fn cancel_from_context_awakeable() {
    cancellation::cancel(&ingress(), From::Context, "AWAKEABLE").await;
}

// Combinators

#[tokio::test]
async fn combinators_awakeable_or_timeout_using_await_any() {
    combinators::awakeable_or_timeout_using_await_any(&ingress()).await;
}

#[tokio::test]
async fn combinators_awakeable_or_timeout_using_awakeable_timeout_command() {
    combinators::awakeable_or_timeout_using_awakeable_timeout_command(&ingress()).await;
}

#[tokio::test]
async fn combinators_first_successful_completed_awakeable() {
    combinators::first_successful_completed_awakeable(&ingress()).await;
}

#[tokio::test]
async fn combinators_signal_first_successful_or_all_failed() {
    combinators::signal_first_successful_or_all_failed(&ingress()).await;
}

#[tokio::test]
async fn combinators_signal_all_successful_or_first_failed() {
    combinators::signal_all_successful_or_first_failed(&ingress()).await;
}

#[tokio::test]
async fn combinators_signal_all_completed() {
    combinators::signal_all_completed(&ingress()).await;
}

#[tokio::test]
async fn combinators_signal_first_completed() {
    combinators::signal_first_completed(&ingress()).await;
}

#[tokio::test]
async fn combinators_mixed_run_wins_race_against_signal() {
    combinators::mixed_run_wins_race_against_signal(&ingress()).await;
}

#[tokio::test]
async fn combinators_mixed_signal_wins_after_run_fails() {
    combinators::mixed_signal_wins_after_run_fails(&ingress()).await;
}

#[tokio::test]
async fn combinators_mixed_all_succeeded_run_and_signal() {
    combinators::mixed_all_succeeded_run_and_signal(&ingress()).await;
}

#[tokio::test]
async fn combinators_mixed_all_completed_run_signal_and_failed_run() {
    combinators::mixed_all_completed_run_signal_and_failed_run(&ingress()).await;
}

// RawIngress

#[tokio::test]
async fn ingress_headers_pass_through() {
    ingress_scenarios::headers_pass_through(&ingress()).await;
}

// KillInvocation

#[tokio::test]
async fn kill_invocation() {
    kill_invocation::kill(&ingress()).await;
}

// RunRetry

#[tokio::test]
async fn run_retry_with_success() {
    run_retry::with_success(&ingress()).await;
}

#[tokio::test]
async fn run_retry_executed_only_once() {
    run_retry::executed_only_once(&ingress()).await;
}

#[tokio::test]
async fn run_retry_with_exhausted_attempts() {
    run_retry::with_exhausted_attempts(&ingress()).await;
}

// ServiceToServiceCommunication

#[tokio::test]
async fn service_to_service_regular_call() {
    service_to_service::regular_call(&ingress()).await;
}

#[tokio::test]
async fn service_to_service_one_way_call() {
    service_to_service::one_way_call(&ingress()).await;
}

#[tokio::test]
async fn service_to_service_one_way_call_with_idempotency_key() {
    service_to_service::one_way_call_with_idempotency_key(&ingress()).await;
}

#[tokio::test]
async fn service_to_service_call_with_idempotency_key() {
    service_to_service::call_with_idempotency_key(&ingress()).await;
}

#[tokio::test]
async fn service_to_service_one_way_call_with_delay() {
    service_to_service::one_way_call_with_delay(&ingress()).await;
}

// Signals

#[tokio::test]
async fn signals_resolve() {
    signals::resolve(&ingress()).await;
}

#[tokio::test]
async fn signals_reject() {
    signals::reject(&ingress()).await;
}

// Sleep

#[tokio::test]
async fn sleep() {
    sleep::sleep(&ingress()).await;
}

#[tokio::test]
async fn sleep_many_sleeps() {
    sleep::many_sleeps(&ingress()).await;
}

// SleepWithFailures

/// How long the sleep of the `SleepWithFailures` scenarios lasts.
const LONG_SLEEP: Duration = Duration::from_secs(4);

/// Starts a 4 s sleep on a fresh key in the background; resolves to how long the call took.
fn start_long_sleep(ingress: RawIngress) -> tokio::task::JoinHandle<Duration> {
    tokio::spawn(async move {
        let started = Instant::now();
        let millis = i64::try_from(LONG_SLEEP.as_millis()).expect("a small duration");
        let result: String = ingress
            .call(
                &format!(
                    "conformance.VirtualObjectCommandInterpreter/{}/interpretCommands",
                    random_key()
                ),
                &combinators::await_sleep(millis),
            )
            .await
            .unwrap_or_else(|e| panic!("the sleeping call failed: {e}"));
        assert_eq!(result, "sleep");
        started.elapsed()
    })
}

/// A random pause of 1 to 2 s: the restart lands while the sleep is in progress.
fn pause_into_the_sleep() -> Duration {
    use restate_runtime::rand::{Rng, SeedableRng};
    let mut rng = restate_runtime::rand::rngs::StdRng::seed_from_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos() as u64,
    );
    Duration::from_millis(rng.random_range(1000..2000))
}

/// `sleepAndKillServiceEndpoint`: the endpoint goes away abruptly mid-sleep and comes back on
/// the same address; the invocation resumes and the sleep still lasts its full time.
#[tokio::test]
async fn sleep_with_failures_kill_service_endpoint() {
    let mut env = TestEnvironment::start(conformance_endpoint()).expect("the environment starts");
    let call = start_long_sleep(RawIngress::new(env.ingress_url(), env.admin_url()));
    tokio::time::sleep(pause_into_the_sleep()).await;
    env.restart_endpoint().expect("the endpoint restarts");
    let elapsed = call.await.expect("the call task");
    assert!(elapsed >= LONG_SLEEP, "the sleep ended after {elapsed:?}");
}

/// `sleepAndTerminateServiceEndpoint`: the endpoint is stopped gracefully mid-sleep (open
/// connections get a grace period, as on SIGTERM) and served again on the same address.
#[tokio::test]
async fn sleep_with_failures_terminate_service_endpoint() {
    let server = RestateServer::start().expect("restate-server starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("a local address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(conformance_endpoint().serve_with_shutdown(listener, async {
        let _ = stopped.await;
    }));
    server
        .register(&format!("http://{address}"))
        .await
        .expect("the endpoint registers");

    let call = start_long_sleep(RawIngress::new(server.ingress_url(), server.admin_url()));
    tokio::time::sleep(pause_into_the_sleep()).await;
    let _ = stop.send(());
    serving
        .await
        .expect("the endpoint task")
        .expect("the endpoint stops cleanly");
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .expect("the address is free again");
    let serving =
        tokio::spawn(conformance_endpoint().serve_with_shutdown(listener, std::future::pending()));

    let elapsed = call.await.expect("the call task");
    assert!(elapsed >= LONG_SLEEP, "the sleep ended after {elapsed:?}");
    serving.abort();
}

// State

#[tokio::test]
async fn state_add() {
    state::add(&ingress()).await;
}

#[tokio::test]
async fn state_proxy_one_way_add() {
    state::proxy_one_way_add(&ingress()).await;
}

#[tokio::test]
async fn state_list_state_and_clear_all() {
    state::list_state_and_clear_all(&ingress()).await;
}

// UserErrors

#[tokio::test]
async fn user_errors_invoke_terminally_failing_call() {
    user_errors::invoke_terminally_failing_call(&ingress()).await;
}

#[tokio::test]
async fn user_errors_fail_several_times() {
    user_errors::fail_several_times(&ingress()).await;
}

#[tokio::test]
async fn user_errors_internal_call_failure_propagation() {
    user_errors::internal_call_failure_propagation(&ingress()).await;
}

#[tokio::test]
async fn user_errors_side_effect_with_terminal_error() {
    user_errors::side_effect_with_terminal_error(&ingress()).await;
}

#[tokio::test]
async fn user_errors_invoke_terminally_failing_call_with_metadata() {
    user_errors::invoke_terminally_failing_call_with_metadata(&ingress()).await;
}

#[tokio::test]
async fn user_errors_fail_several_times_with_metadata() {
    user_errors::fail_several_times_with_metadata(&ingress()).await;
}

#[tokio::test]
async fn user_errors_internal_call_failure_propagation_with_metadata() {
    user_errors::internal_call_failure_propagation_with_metadata(&ingress()).await;
}

#[tokio::test]
async fn user_errors_side_effect_with_terminal_error_with_metadata() {
    user_errors::side_effect_with_terminal_error_with_metadata(&ingress()).await;
}

#[tokio::test]
async fn user_errors_set_state_then_fail_should_persist_state() {
    user_errors::set_state_then_fail_should_persist_state(&ingress()).await;
}

#[tokio::test]
async fn user_errors_invocation_with_eventual_success() {
    user_errors::invocation_with_eventual_success(&ingress()).await;
}

// WorkflowAPI

#[tokio::test]
async fn workflow_api_set_and_resolve() {
    workflow_api::set_and_resolve(&ingress()).await;
}
