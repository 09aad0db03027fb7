//! The schedule service: against a real restate-server (fires, stop, one pending timer across
//! an idempotent start, an endpoint restart and a kill -9 of restate-server) and in the simulator with virtual time (a week
//! of hourly fires).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use counter::counter::{CounterIngressClient, CounterServer};
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_runtime::Endpoint;
use restate_runtime::ingress::Ingress;
use restate_runtime::schedule::{
    ScheduleIndexServer, ScheduleIngressClient, ScheduleServer, StartSchedule,
};
use restate_test::TestEnvironment;
use restate_test::sim::Simulator;
use serde_json::json;

fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(CounterServer::new(counter::MyCounter))
        .bind(ScheduleServer)
        .bind(ScheduleIndexServer)
        .build()
}

/// Adds 1 to the counter `key` whenever `cron` comes due.
fn adding_one(cron: &str, key: &str) -> StartSchedule {
    StartSchedule::new(cron, "counter.Counter", "Add")
        .key(key)
        .payload(json!({ "delta": 1 }))
}

async fn count(ingress: &Ingress, key: &str) -> i64 {
    CounterIngressClient::new(ingress, key)
        .get()
        .await
        .expect("the counter answers")
        .value
}

/// The statuses of the schedule `name`'s timers that have not completed.
async fn open_timers(raw: &RawIngress, name: &str) -> Vec<String> {
    raw.query(&format!(
        "SELECT status FROM sys_invocation WHERE target_service_name = 'Schedule' \
         AND target_service_key = '{name}' AND target_handler_name = 'Fire' \
         AND status != 'completed'"
    ))
    .await
    .iter()
    .map(|row| row["status"].as_str().unwrap_or_default().to_owned())
    .collect()
}

#[test]
fn a_schedule_fires_keeps_one_timer_and_stops() {
    let mut env = TestEnvironment::start(endpoint()).expect("the test environment starts");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ingress, raw) = (
        Ingress::new(env.ingress_url()),
        RawIngress::new(env.ingress_url(), env.admin_url()),
    );
    let (name, key) = (random_key(), random_key());
    let schedule = ScheduleIngressClient::new(&ingress, &name);
    runtime.block_on(async {
        let started = schedule
            .start(adding_one("* * * * * *", &key))
            .await
            .unwrap();
        assert!(started.active && started.next_fire_at_millis.is_some());
        // Started again with the same definition: nothing changes, one timer.
        schedule
            .start(adding_one("* * * * * *", &key))
            .await
            .unwrap();
        let listed = restate_runtime::schedule::ScheduleClient::list(&ingress)
            .await
            .unwrap();
        assert!(listed.names.contains(&name), "{listed:?}");
        tokio::time::sleep(Duration::from_millis(3_200)).await;
        assert!(count(&ingress, &key).await >= 2);
        let scheduled = open_timers(&raw, &name).await;
        let waiting = scheduled.iter().filter(|s| *s == "scheduled").count();
        assert!(waiting <= 1, "{scheduled:?}");
    });

    // The endpoint goes away and comes back: the schedule goes on, still with one timer.
    env.restart_endpoint().expect("the endpoint restarts");
    runtime.block_on(async {
        let before = count(&ingress, &key).await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(
            count(&ingress, &key).await > before,
            "fires after the restart"
        );
        let scheduled = open_timers(&raw, &name).await;
        let waiting = scheduled.iter().filter(|s| *s == "scheduled").count();
        assert!(waiting <= 1, "{scheduled:?}");
    });

    // restate-server killed (SIGKILL) and back: the timer was journaled, the schedule goes on;
    // the fires it missed while down coalesce into one.
    env.server_mut().restart().expect("restate-server restarts");
    runtime.block_on(async {
        let before = count(&ingress, &key).await;
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(
            count(&ingress, &key).await > before,
            "fires after the server's restart"
        );
        let scheduled = open_timers(&raw, &name).await;
        let waiting = scheduled.iter().filter(|s| *s == "scheduled").count();
        assert!(waiting <= 1, "{scheduled:?}");

        let stopped = schedule.stop().await.unwrap();
        assert!(!stopped.active && stopped.next_fire_at_millis.is_none());
        // The last sends land; then nothing more.
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let settled = count(&ingress, &key).await;
        assert_eq!(settled, i64::try_from(stopped.fires).unwrap());
        tokio::time::sleep(Duration::from_millis(2_000)).await;
        assert_eq!(count(&ingress, &key).await, settled, "no fire after stop");
        assert!(open_timers(&raw, &name).await.is_empty());
        let listed = restate_runtime::schedule::ScheduleClient::list(&ingress)
            .await
            .unwrap();
        assert!(!listed.names.contains(&name), "{listed:?}");
    });
}

#[test]
fn a_bad_cron_expression_is_refused() {
    let env = TestEnvironment::start(endpoint()).expect("the test environment starts");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ingress = Ingress::new(env.ingress_url());
        let error = ScheduleIngressClient::new(&ingress, "bad")
            .start(adding_one("every hour", "k"))
            .await
            .unwrap_err();
        assert!(
            error.to_string().contains("invalid cron expression"),
            "{error}"
        );
    });
}

fn hours(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).unwrap().as_secs() / 3600
}

#[tokio::test]
async fn a_week_of_hourly_fires_in_virtual_time() {
    let sim = Simulator::new(endpoint()).await.unwrap().into_shared();
    let ingress = sim.ingress();
    ScheduleIngressClient::new(&ingress, "hourly")
        .start(adding_one("0 * * * *", "week"))
        .await
        .unwrap();
    let started = sim.lock().await.now();
    {
        let mut sim = sim.lock().await;
        sim.advance(Duration::from_secs(7 * 24 * 3600))
            .await
            .unwrap();
        sim.run_until_idle().await.unwrap();
    }
    let ended = sim.lock().await.now();
    let expected = i64::try_from(hours(ended) - hours(started)).unwrap();
    assert_eq!(expected, 168);
    assert_eq!(count(&ingress, "week").await, expected);
    let info = ScheduleIngressClient::new(&ingress, "hourly")
        .describe()
        .await
        .unwrap();
    assert_eq!(info.fires, 168);
}
