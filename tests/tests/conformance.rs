//! Restate's SDK conformance scenarios against a restate-server with its default configuration.
//!
//! One server and endpoint serve every scenario that leaves them running; the scenarios use
//! fresh keys, so they run in parallel without interfering. `SleepWithFailures` restarts the
//! endpoint and so gets an environment of its own.

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_e2e::scenarios::*;
use restate_test::{RestateServer, TestEnvironment};

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

// RawIngress

#[tokio::test]
async fn ingress_headers_pass_through() {
    ingress_scenarios::headers_pass_through(&ingress()).await;
}

#[tokio::test]
async fn ingress_raw_handler() {
    ingress_scenarios::raw_handler(&ingress()).await;
}

// KillInvocation

#[tokio::test]
async fn kill_invocation() {
    kill_invocation::kill(&ingress()).await;
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

// The core scenarios, shared with the suspending and HTTP/1.1 suites.

restate_e2e::core_scenario_tests!(ingress);
