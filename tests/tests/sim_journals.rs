//! No drift between the simulator and restate-server: each scenario of the simulator's
//! conformance list runs against a real server whose endpoint is registered for HTTP/1.1 (so
//! every wait suspends and every step replays, as in the simulator) and against the simulator;
//! the journals both keep must have the same shapes: per handler, the same sequences of entry
//! types, ids, keys and times ignored. Shapes are compared as sets, since scenarios poll until
//! a condition holds and the number of polls differs between runs, and notifications that arrive
//! together are compared in any order. The cancellation scenarios are left out: whether the
//! cancellation reaches a journal before or after the handler's next command depends on when the
//! test's request arrives, on a server as in the simulator.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use restate_e2e::conformance::conformance_endpoint;
use restate_e2e::raw_ingress::{RawIngress, eventually};
use restate_e2e::scenarios;
use restate_test::TestEnvironment;
use restate_test::sim::{SharedSimulator, Simulator};

/// A journal's shape: service, handler, entry types.
type Shape = (String, String, Vec<String>);

/// `entries` with each run of consecutive notifications sorted: notifications that arrive
/// together (a run's result and a signal the test sends meanwhile) may land in either order,
/// on a server as in the simulator.
fn normalized(mut entries: Vec<String>) -> Vec<String> {
    let mut start = 0;
    while start < entries.len() {
        let end = entries[start..]
            .iter()
            .position(|entry| !entry.starts_with("Notification:"))
            .map_or(entries.len(), |offset| start + offset);
        entries[start..end].sort();
        start = end + 1;
    }
    entries
}

type Scenario = for<'a> fn(&'a RawIngress) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

macro_rules! scenario_list {
    ($($name:literal: $path:path;)*) => {
        [$(($name, (|ingress| Box::pin($path(ingress))) as Scenario)),*]
    };
}

/// The journal shapes of the invocations the server has and `known` does not, once all of them
/// have finished.
async fn server_shapes(ingress: &RawIngress, known: &mut HashSet<String>) -> BTreeSet<Shape> {
    eventually(
        "every invocation finished",
        Duration::from_secs(30),
        || async {
            let running = ingress
                .query("SELECT id FROM sys_invocation WHERE status != 'completed'")
                .await;
            if running.is_empty() {
                Ok(())
            } else {
                Err(format!("{running:?}"))
            }
        },
    )
    .await;
    let rows = ingress
        .query(
            "SELECT j.id, j.index, j.entry_type, i.target_service_name, i.target_handler_name \
             FROM sys_journal j JOIN sys_invocation i ON j.id = i.id",
        )
        .await;
    let mut journals: BTreeMap<String, (String, String, BTreeMap<u64, String>)> = BTreeMap::new();
    for row in rows {
        let id = row["id"].as_str().unwrap_or_default().to_owned();
        if known.contains(&id) {
            continue;
        }
        let journal = journals.entry(id).or_insert_with(|| {
            (
                row["target_service_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                row["target_handler_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                BTreeMap::new(),
            )
        });
        journal.2.insert(
            row["index"].as_u64().unwrap_or_default(),
            row["entry_type"].as_str().unwrap_or_default().to_owned(),
        );
    }
    known.extend(journals.keys().cloned());
    journals
        .into_values()
        .map(|(service, handler, entries)| {
            (
                service,
                handler,
                normalized(entries.into_values().collect()),
            )
        })
        .collect()
}

/// The journal shapes of the simulator's invocations after the first `seen`.
async fn simulator_shapes(sim: &SharedSimulator, seen: &mut usize) -> BTreeSet<Shape> {
    let journals = sim.journals().await;
    let shapes = journals[*seen..]
        .iter()
        .map(|journal| {
            (
                journal.service.clone(),
                journal.handler.clone(),
                normalized(journal.entries.clone()),
            )
        })
        .collect();
    *seen = journals.len();
    shapes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_keeps_the_journals_the_server_keeps() {
    let env = TestEnvironment::builder(conformance_endpoint())
        .http1()
        .start()
        .expect("the test environment starts");
    let server = RawIngress::new(env.ingress_url(), env.admin_url());

    let sim = Simulator::new(conformance_endpoint())
        .await
        .unwrap()
        .into_shared();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(sim.clone().serve(listener, std::future::pending()));
    let simulated = RawIngress::new(&sim_url, "http://127.0.0.1:9");

    // A fresh server: every invocation it reports comes from the scenarios.
    let mut known = HashSet::new();
    let mut seen = 0;
    let list = scenario_list! {
        "awakeable or timeout (await any)": scenarios::combinators::awakeable_or_timeout_using_await_any;
        "awakeable or timeout (command)": scenarios::combinators::awakeable_or_timeout_using_awakeable_timeout_command;
        "first successful awakeable": scenarios::combinators::first_successful_completed_awakeable;
        "headers pass through": scenarios::ingress_scenarios::headers_pass_through;
        "run retry with success": scenarios::run_retry::with_success;
        "run executed only once": scenarios::run_retry::executed_only_once;
        "run retry exhausted": scenarios::run_retry::with_exhausted_attempts;
        "regular call": scenarios::service_to_service::regular_call;
        "one-way call": scenarios::service_to_service::one_way_call;
        "many sleeps": scenarios::sleep::many_sleeps;
        "state add": scenarios::state::add;
        "state proxy one-way add": scenarios::state::proxy_one_way_add;
        "state list and clear": scenarios::state::list_state_and_clear_all;
        "terminally failing call": scenarios::user_errors::invoke_terminally_failing_call;
        "internal call failure propagation": scenarios::user_errors::internal_call_failure_propagation;
        "side effect with terminal error": scenarios::user_errors::side_effect_with_terminal_error;
        "set state then fail": scenarios::user_errors::set_state_then_fail_should_persist_state;
        "one-way call with idempotency key": scenarios::service_to_service::one_way_call_with_idempotency_key;
        "call with idempotency key": scenarios::service_to_service::call_with_idempotency_key;
        "fail several times": scenarios::user_errors::fail_several_times;
        "fail several times with metadata": scenarios::user_errors::fail_several_times_with_metadata;
        "terminally failing call with metadata": scenarios::user_errors::invoke_terminally_failing_call_with_metadata;
        "internal call failure propagation with metadata": scenarios::user_errors::internal_call_failure_propagation_with_metadata;
        "side effect with terminal error with metadata": scenarios::user_errors::side_effect_with_terminal_error_with_metadata;
        "invocation with eventual success": scenarios::user_errors::invocation_with_eventual_success;
        "signal first successful or all failed": scenarios::combinators::signal_first_successful_or_all_failed;
        "signal all successful or first failed": scenarios::combinators::signal_all_successful_or_first_failed;
        "signal all completed": scenarios::combinators::signal_all_completed;
        "signal first completed": scenarios::combinators::signal_first_completed;
        "run wins race against signal": scenarios::combinators::mixed_run_wins_race_against_signal;
        "signal wins after run fails": scenarios::combinators::mixed_signal_wins_after_run_fails;
        "all succeeded run and signal": scenarios::combinators::mixed_all_succeeded_run_and_signal;
        "all completed run, signal, failed run": scenarios::combinators::mixed_all_completed_run_signal_and_failed_run;
        "signals resolve": scenarios::signals::resolve;
        "signals reject": scenarios::signals::reject;
    };
    let mut drifted = Vec::new();
    for (name, scenario) in list {
        scenario(&server).await;
        let on_server = server_shapes(&server, &mut known).await;
        scenario(&simulated).await;
        let in_simulator = simulator_shapes(&sim, &mut seen).await;
        if on_server != in_simulator {
            drifted.push(format!(
                "{name}:\n  server only: {:?}\n  simulator only: {:?}",
                on_server.difference(&in_simulator).collect::<Vec<_>>(),
                in_simulator.difference(&on_server).collect::<Vec<_>>()
            ));
        }
    }
    assert!(drifted.is_empty(), "{}", drifted.join("\n"));
}
