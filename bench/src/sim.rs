//! The simulator figures: the reminder workflow (steps, a three-day sleep, a call) unit-tested
//! through `restate_test::sim`, every step a replay. Wall time per test, and per
//! journal entry replayed, as the journal grows.

use std::time::{Duration, Instant};

use restate_runtime::{Codec, Target};
use restate_test::sim::Simulator;

use restate_proto_bench::proto::{HelloResponse, RemindRequest};

/// One journal length's figures.
pub struct SimCase {
    pub steps: u32,
    pub journal_entries: usize,
    pub attempts: u32,
    pub replayed_entries: usize,
    /// Median wall time of one test: a fresh simulator (discovery included) and the call.
    pub per_test: Duration,
}

/// Runs `tests` unit tests of the reminder for each number of steps.
pub fn run(tests: usize) -> Result<Vec<SimCase>, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut cases = Vec::new();
        for steps in [1, 6, 20, 50] {
            let mut times = Vec::with_capacity(tests);
            let mut last = None;
            for test in 0..tests {
                let started = Instant::now();
                let mut sim = Simulator::new(restate_proto_bench::ours::endpoint()).await?;
                let reminder = Target::new("bench.Reminder", "Run", Codec::Json)
                    .with_key(format!("reminder-{test}"));
                let id = sim.send(
                    reminder,
                    &RemindRequest {
                        steps,
                        name: "Ada".to_owned(),
                    },
                )?;
                let outcome = sim.run_until_done(&id).await?;
                times.push(started.elapsed());
                outcome.map_err(|e| format!("the reminder failed: {e}"))?;
                let greeting: HelloResponse = sim.output(&id)?.expect("done")?;
                assert_eq!(greeting.message, "Hello, Ada!");
                last = Some((
                    sim.journal_len(&id)?,
                    sim.attempts(&id)?,
                    sim.replayed_entries(&id)?,
                ));
            }
            times.sort();
            let (journal_entries, attempts, replayed_entries) = last.expect("one test at least");
            cases.push(SimCase {
                steps,
                journal_entries,
                attempts,
                replayed_entries,
                per_test: times[times.len() / 2],
            });
        }
        Ok(cases)
    })
}

/// Prints the figures.
pub fn print(cases: &[SimCase]) {
    println!();
    println!(
        "Simulator: the reminder workflow (steps, a 3-day sleep, a call) unit-tested in process, \
         every step a replay; median of the tests"
    );
    println!(
        "{:<6} {:>15} {:>9} {:>17} {:>10} {:>21}",
        "steps",
        "journal entries",
        "attempts",
        "entries replayed",
        "ms / test",
        "µs / replayed entry"
    );
    for case in cases {
        let per_test_ms = case.per_test.as_secs_f64() * 1e3;
        let per_entry_us = case.per_test.as_secs_f64() * 1e6 / case.replayed_entries.max(1) as f64;
        println!(
            "{:<6} {:>15} {:>9} {:>17} {:>10.2} {:>21.1}",
            case.steps,
            case.journal_entries,
            case.attempts,
            case.replayed_entries,
            per_test_ms,
            per_entry_us
        );
    }
}
