//! The soak: rounds of mixed load against a real restate-server and the fault endpoint in a
//! process of its own, with the endpoint and the server killed (SIGKILL) or stopped (SIGTERM)
//! at random points, until the time is up. Prints what every round and the whole run
//! survived: invocations, faults injected, lost, duplicated; exits non-zero on any loss,
//! duplicate or discrepancy.
//!
//! ```text
//! cargo run --release -p restate-e2e --bin soak -- --minutes 10
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use restate_e2e::faults::load::{Delivery, Ingresses};
use restate_e2e::faults::{EndpointProcess, Report, Scenario};
use restate_test::RestateServer;

/// What a fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// SIGKILL of the endpoint process, started again at once.
    KillEndpoint,
    /// SIGKILL of restate-server, started again on the same data.
    KillServer,
    /// SIGTERM of restate-server, started again on the same data.
    StopServer,
}

impl Fault {
    fn random(rng: &mut StdRng) -> Self {
        match rng.random_range(0..3) {
            0 => Fault::KillEndpoint,
            1 => Fault::KillServer,
            _ => Fault::StopServer,
        }
    }
}

/// Totals over every round.
#[derive(Debug, Default)]
struct Totals {
    rounds: usize,
    invocations: usize,
    faults: [usize; 3],
    lost: usize,
    duplicated: usize,
    repeated_effects: usize,
    problems: Vec<String>,
}

impl Totals {
    fn add(&mut self, faults: &[Fault], report: Report) {
        self.rounds += 1;
        self.invocations += report.invocations;
        for fault in faults {
            self.faults[*fault as usize] += 1;
        }
        self.lost += report.lost;
        self.duplicated += report.duplicated;
        self.repeated_effects += report.repeated_effects;
        self.problems.extend(report.problems);
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        // The endpoint process: this same binary, re-executed.
        Some("serve") => match restate_e2e::faults::serve_from_args(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("soak serve: {error}");
                ExitCode::FAILURE
            }
        },
        Some("--minutes") => match args.next().map(|m| m.parse::<f64>()) {
            Some(Ok(minutes)) if minutes > 0.0 && minutes < 100_000.0 => {
                soak(Duration::from_secs_f64(minutes * 60.0))
            }
            _ => usage(),
        },
        None => soak(Duration::from_secs(5 * 60)),
        Some(_) => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: soak [--minutes <minutes, 5 by default>]");
    ExitCode::FAILURE
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn soak(duration: Duration) -> ExitCode {
    match run(duration).await {
        Ok(totals) => {
            println!(
                "soak: {} rounds, {} invocations, {} faults injected \
                 ({} endpoint kills, {} server kills, {} server stops), \
                 {} lost, {} duplicated, {} side effects re-run after a fault",
                totals.rounds,
                totals.invocations,
                totals.faults.iter().sum::<usize>(),
                totals.faults[Fault::KillEndpoint as usize],
                totals.faults[Fault::KillServer as usize],
                totals.faults[Fault::StopServer as usize],
                totals.lost,
                totals.duplicated,
                totals.repeated_effects,
            );
            for problem in &totals.problems {
                println!("problem: {problem}");
            }
            if totals.lost == 0 && totals.duplicated == 0 && totals.problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("soak: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(duration: Duration) -> Result<Totals, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut server = RestateServer::start().map_err(|e| e.to_string())?;
    let binary = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut endpoint = EndpointProcess::start(binary, &["serve"], dir.path().join("ledger"))
        .map_err(|e| e.to_string())?;
    server
        .register(&endpoint.url())
        .await
        .map_err(|e| e.to_string())?;
    let ingresses = Arc::new(Ingresses::new([(server.ingress_url(), server.admin_url())]));
    let ledger = endpoint.ledger().to_owned();

    let mut rng = StdRng::from_os_rng();
    let mut totals = Totals::default();
    let deadline = Instant::now() + duration;
    while Instant::now() < deadline {
        let faults: Vec<Fault> = (0..rng.random_range(1..=3))
            .map(|_| Fault::random(&mut rng))
            .collect();
        // A client cut off from restate-server cannot tell whether its request arrived: only
        // idempotent requests go out in rounds that take the server down.
        let deliveries: &[Delivery] = if faults.iter().all(|f| *f == Fault::KillEndpoint) {
            &Delivery::ALL
        } else {
            &Delivery::IDEMPOTENT
        };
        let scenario = Scenario {
            prefix: format!("round-{}", totals.rounds + 1),
            errands: rng.random_range(10..=50),
            accounts: rng.random_range(4..=16),
            deposits_per_account: rng.random_range(20..=80),
            concurrency: rng.random_range(8..=32),
            deliveries,
            faults: faults.len(),
            settle: Duration::from_secs(300),
        };
        let jitter: Vec<Duration> = faults
            .iter()
            .map(|_| Duration::from_millis(rng.random_range(0..50)))
            .collect();
        let report = scenario
            .run(Arc::clone(&ingresses), &ledger, |n| {
                std::thread::sleep(jitter[n - 1]);
                let restarted = match faults[n - 1] {
                    Fault::KillEndpoint => endpoint.restart().map_err(|e| e.to_string()),
                    Fault::KillServer => server.restart().map_err(|e| e.to_string()),
                    Fault::StopServer => server.restart_gracefully().map_err(|e| e.to_string()),
                };
                if let Err(error) = restarted {
                    panic!("{:?} did not come back: {error}", faults[n - 1]);
                }
            })
            .await
            .map_err(|e| format!("{}: {e}", scenario.prefix))?;
        let injected = &faults[..report.faults];
        println!(
            "{}: {} invocations, faults {injected:?}, {} lost, {} duplicated, {} side effects \
             re-run{}",
            scenario.prefix,
            report.invocations,
            report.lost,
            report.duplicated,
            report.repeated_effects,
            if report.problems.is_empty() {
                String::new()
            } else {
                format!(", {} problems", report.problems.len())
            }
        );
        totals.add(injected, report);
    }
    Ok(totals)
}
