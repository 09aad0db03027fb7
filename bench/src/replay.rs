//! The replay check's figures: workflows left waiting on a real restate-server, recorded through
//! its admin API and replayed against a build of the same code, as `replay-check` does before a
//! deploy.

use std::time::{Duration, Instant};

use restate_runtime::replay::{ReplayCheck, Selection, export};
use restate_test::TestEnvironment;

/// `steps` runs, then the three-day sleep: 1 + 2 × 9 + 1 = 20 journal entries.
const STEPS: u32 = 9;

/// What the check took.
pub struct ReplayFigures {
    pub invocations: usize,
    pub entries_per_journal: usize,
    /// Recording them from the admin API.
    pub export: Duration,
    /// Replaying them all.
    pub check: Duration,
}

/// Leaves `invocations` reminders waiting, records and checks them.
pub fn run(invocations: usize) -> Result<ReplayFigures, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let env = TestEnvironment::start(restate_proto_bench::ours::endpoint())?;
        let client = reqwest::Client::new();
        let url = |i: usize| format!("{}/bench.Reminder/replay-{i}/Run/send", env.ingress_url());
        let body = format!(r#"{{"steps":{STEPS},"name":"Ada"}}"#);
        for batch in (0..invocations).collect::<Vec<_>>().chunks(32) {
            let mut sends = tokio::task::JoinSet::new();
            for &i in batch {
                let request = client
                    .post(url(i))
                    .header("content-type", "application/json")
                    .body(body.clone());
                sends.spawn(async move { request.send().await.map(|r| r.status()) });
            }
            while let Some(sent) = sends.join_next().await {
                let status = sent??;
                if !status.is_success() {
                    return Err(format!("a reminder was refused: {status}").into());
                }
            }
        }
        let selection = Selection::in_flight().service("bench.Reminder");
        let deadline = Instant::now() + Duration::from_secs(120);
        let (recorded, export_time) = loop {
            let started = Instant::now();
            let recorded = export(env.admin_url(), &selection).await?;
            let took = started.elapsed();
            let waiting = recorded
                .iter()
                .filter(|r| r.entries.len() == 2 * STEPS as usize + 2)
                .count();
            if waiting == invocations {
                break (recorded, took);
            }
            if Instant::now() > deadline {
                return Err(format!("{waiting} of {invocations} reminders wait").into());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let check = ReplayCheck::new(restate_proto_bench::ours::endpoint());
        let started = Instant::now();
        let report = check.check_all(&recorded).await;
        let check_time = started.elapsed();
        let (compatible, ..) = report.counts();
        if compatible != invocations {
            return Err(format!("not every reminder replays:\n{report}").into());
        }
        Ok(ReplayFigures {
            invocations,
            entries_per_journal: recorded[0].entries.len(),
            export: export_time,
            check: check_time,
        })
    })
}

/// Prints the figures.
pub fn print(figures: &ReplayFigures) {
    println!();
    println!(
        "Replay check: {} reminder workflows waiting on restate-server {}, {} journal entries each",
        figures.invocations,
        restate_test::RESTATE_SERVER_VERSION,
        figures.entries_per_journal
    );
    println!(
        "  recorded through the admin API in {:.0} ms; replayed in {:.0} ms ({:.1} µs per invocation)",
        figures.export.as_secs_f64() * 1e3,
        figures.check.as_secs_f64() * 1e3,
        figures.check.as_secs_f64() * 1e6 / figures.invocations as f64
    );
}
