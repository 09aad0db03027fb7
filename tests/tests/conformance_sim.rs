//! The conformance scenarios the simulator claims, run against it instead of a real
//! restate-server: the simulator serves its ingress over HTTP on loopback, and each scenario
//! talks to it exactly as to Restate's. Scenarios that need what the simulator does not model
//! (the admin API, cancellation, named signals) are left out, and so is `Sleep.sleep`, which
//! checks that real time passed (the simulator's is virtual); `docs/conformance.md` lists which
//! run here.

use std::sync::LazyLock;

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::RawIngress;
use restate_test::sim::Simulator;

/// The simulator's ingress, served from a runtime of its own for the whole binary.
static INGRESS_URL: LazyLock<String> = LazyLock::new(|| {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let sim = Simulator::new(conformance_endpoint())
                .await
                .expect("discovery")
                .into_shared();
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            sim.serve(listener, std::future::pending()).await
        })
    });
    url
});

fn ingress() -> RawIngress {
    // The simulator has no admin API: scenarios that need one are not run here.
    RawIngress::new(&INGRESS_URL, "http://127.0.0.1:9")
}

restate_e2e::scenario_tests! { ingress;
    cancel_from_context_call: restate_e2e::scenarios::cancellation::cancel,
        restate_e2e::scenarios::cancellation::From::Context, "CALL";
    cancel_from_context_sleep: restate_e2e::scenarios::cancellation::cancel,
        restate_e2e::scenarios::cancellation::From::Context, "SLEEP";
    cancel_from_context_awakeable: restate_e2e::scenarios::cancellation::cancel,
        restate_e2e::scenarios::cancellation::From::Context, "AWAKEABLE";
    combinators_signal_first_successful_or_all_failed:
        restate_e2e::scenarios::combinators::signal_first_successful_or_all_failed;
    combinators_signal_all_successful_or_first_failed:
        restate_e2e::scenarios::combinators::signal_all_successful_or_first_failed;
    combinators_signal_all_completed: restate_e2e::scenarios::combinators::signal_all_completed;
    combinators_signal_first_completed: restate_e2e::scenarios::combinators::signal_first_completed;
    combinators_mixed_run_wins_race_against_signal:
        restate_e2e::scenarios::combinators::mixed_run_wins_race_against_signal;
    combinators_mixed_signal_wins_after_run_fails:
        restate_e2e::scenarios::combinators::mixed_signal_wins_after_run_fails;
    combinators_mixed_all_succeeded_run_and_signal:
        restate_e2e::scenarios::combinators::mixed_all_succeeded_run_and_signal;
    combinators_mixed_all_completed_run_signal_and_failed_run:
        restate_e2e::scenarios::combinators::mixed_all_completed_run_signal_and_failed_run;
    signals_resolve: restate_e2e::scenarios::signals::resolve;
    signals_reject: restate_e2e::scenarios::signals::reject;
    combinators_awakeable_or_timeout_using_await_any:
        restate_e2e::scenarios::combinators::awakeable_or_timeout_using_await_any;
    combinators_awakeable_or_timeout_using_awakeable_timeout_command:
        restate_e2e::scenarios::combinators::awakeable_or_timeout_using_awakeable_timeout_command;
    ingress_headers_pass_through: restate_e2e::scenarios::ingress_scenarios::headers_pass_through;
    run_retry_with_success: restate_e2e::scenarios::run_retry::with_success;
    run_retry_executed_only_once: restate_e2e::scenarios::run_retry::executed_only_once;
    run_retry_with_exhausted_attempts: restate_e2e::scenarios::run_retry::with_exhausted_attempts;
    service_to_service_regular_call: restate_e2e::scenarios::service_to_service::regular_call;
    service_to_service_one_way_call: restate_e2e::scenarios::service_to_service::one_way_call;
    service_to_service_one_way_call_with_idempotency_key:
        restate_e2e::scenarios::service_to_service::one_way_call_with_idempotency_key;
    service_to_service_call_with_idempotency_key:
        restate_e2e::scenarios::service_to_service::call_with_idempotency_key;
    combinators_first_successful_completed_awakeable:
        restate_e2e::scenarios::combinators::first_successful_completed_awakeable;
    sleep_many_sleeps: restate_e2e::scenarios::sleep::many_sleeps;
    state_add: restate_e2e::scenarios::state::add;
    state_proxy_one_way_add: restate_e2e::scenarios::state::proxy_one_way_add;
    state_list_state_and_clear_all: restate_e2e::scenarios::state::list_state_and_clear_all;
    user_errors_invoke_terminally_failing_call:
        restate_e2e::scenarios::user_errors::invoke_terminally_failing_call;
    user_errors_fail_several_times: restate_e2e::scenarios::user_errors::fail_several_times;
    user_errors_internal_call_failure_propagation:
        restate_e2e::scenarios::user_errors::internal_call_failure_propagation;
    user_errors_side_effect_with_terminal_error:
        restate_e2e::scenarios::user_errors::side_effect_with_terminal_error;
    user_errors_invoke_terminally_failing_call_with_metadata:
        restate_e2e::scenarios::user_errors::invoke_terminally_failing_call_with_metadata;
    user_errors_fail_several_times_with_metadata:
        restate_e2e::scenarios::user_errors::fail_several_times_with_metadata;
    user_errors_internal_call_failure_propagation_with_metadata:
        restate_e2e::scenarios::user_errors::internal_call_failure_propagation_with_metadata;
    user_errors_side_effect_with_terminal_error_with_metadata:
        restate_e2e::scenarios::user_errors::side_effect_with_terminal_error_with_metadata;
    user_errors_set_state_then_fail_should_persist_state:
        restate_e2e::scenarios::user_errors::set_state_then_fail_should_persist_state;
    user_errors_invocation_with_eventual_success:
        restate_e2e::scenarios::user_errors::invocation_with_eventual_success;
}
