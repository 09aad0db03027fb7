//! Restate's SDK conformance scenarios that restart the restate-server (`KillRuntime`,
//! `StopRuntime`): each gets a server of its own, restarted on the same data directory.

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::RawIngress;
use restate_e2e::scenarios::runtime_restart;
use restate_test::TestEnvironment;

/// How the server goes down.
enum Restart {
    /// SIGKILL, as a crash.
    Kill,
    /// SIGTERM, waiting for the process to exit.
    Stop,
}

async fn state_survives(restart: Restart) {
    let mut env = TestEnvironment::start(conformance_endpoint()).expect("the environment starts");
    let key = "my-key";
    runtime_restart::before_restart(&RawIngress::new(env.ingress_url(), env.admin_url()), key)
        .await;

    match restart {
        Restart::Kill => env.server_mut().restart(),
        Restart::Stop => env.server_mut().restart_gracefully(),
    }
    .expect("restate-server comes back");

    runtime_restart::after_restart(env.ingress_url(), env.admin_url(), key).await;
}

/// `KillRuntime.startAndKillRuntimeRetainsTheState`.
#[tokio::test]
async fn kill_runtime_retains_the_state() {
    state_survives(Restart::Kill).await;
}

/// `StopRuntime.startAndStopRuntimeRetainsTheState`.
#[tokio::test]
async fn stop_runtime_retains_the_state() {
    state_survives(Restart::Stop).await;
}
