//! The instruction guard, `bench guard [--update]`: instructions per invocation of a fixed set
//! of cases, counted by callgrind, against the baseline committed in `bench/instructions.txt`.
//!
//! Instruction counts do not move with the machine's load the way CPU times do, so a change of
//! a few percent is a change of the code, not noise. Each case runs twice on an endpoint (or
//! gateway) process of its own under callgrind, with a small and a large number of invocations;
//! the difference of the two totals divided by the difference of the counts is the cost of one
//! invocation, without the process's start-up. A case that costs more than
//! [`TOLERANCE`] over its baseline fails the guard.

use std::collections::BTreeMap;
use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use restate_test::RestateServer;

use crate::endpoint::{EndpointProcess, Logging, Sdk};
use crate::gateway::{self, GatewayProcess};
use crate::load::{self, Codec, Handler, Scenario, StepKind};

/// Growth over the baseline that fails the guard.
pub const TOLERANCE: f64 = 0.05;

/// Concurrent callers, as in the load.
const CONCURRENCY: usize = 32;

/// What a case invokes.
#[derive(Clone, Copy)]
enum Target {
    /// A handler of the `ours` endpoint through the ingress; the endpoint is measured.
    Endpoint(Handler, Codec, Logging),
    /// The greeter through the generated gRPC gateway; the gateway is measured.
    Gateway,
}

/// One guarded case.
struct Case {
    id: &'static str,
    target: Target,
    /// Invocations of the small and the large run; warm-up before each.
    runs: (usize, usize),
    warmup: usize,
}

fn cases() -> [Case; 6] {
    [
        Case {
            id: "greeter-json",
            target: Target::Endpoint(Handler::Greeter, Codec::Json, Logging::None),
            runs: (200, 1200),
            warmup: 50,
        },
        Case {
            // As the example binaries run: logging to stderr at `info`.
            id: "greeter-json-logged",
            target: Target::Endpoint(Handler::Greeter, Codec::Json, Logging::Default),
            runs: (200, 1200),
            warmup: 50,
        },
        Case {
            id: "greeter-proto",
            target: Target::Endpoint(Handler::Greeter, Codec::Protobuf, Logging::None),
            runs: (200, 1200),
            warmup: 50,
        },
        Case {
            id: "counter-json",
            target: Target::Endpoint(Handler::CounterAdd, Codec::Json, Logging::None),
            runs: (200, 1200),
            warmup: 50,
        },
        Case {
            id: "workflow-20-runs",
            target: Target::Endpoint(
                Handler::Steps {
                    kind: StepKind::Run,
                    count: 20,
                },
                Codec::Json,
                Logging::None,
            ),
            runs: (50, 300),
            warmup: 20,
        },
        Case {
            id: "gateway-greeter",
            target: Target::Gateway,
            runs: (200, 1200),
            warmup: 50,
        },
    ]
}

/// The committed baseline.
pub fn baseline_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("instructions.txt")
}

/// What `bench guard` was asked to do.
#[derive(Debug, Default)]
pub struct GuardOptions {
    /// Write the baseline instead of comparing with it.
    pub update: bool,
    /// Keep the callgrind profiles in this folder (`<case>.<invocations>`), to see where a
    /// case grew: `callgrind_annotate --inclusive=yes DIR/greeter-json.1200`.
    pub profiles: Option<PathBuf>,
}

/// Measures every case and compares it with the baseline (or writes the baseline).
/// `Ok(false)` when a case grew past the tolerance.
pub fn run(options: &GuardOptions) -> Result<bool, Box<dyn Error>> {
    let valgrind = Command::new("valgrind").arg("--version").output();
    if !valgrind.is_ok_and(|output| output.status.success()) {
        return Err("the guard needs valgrind on the PATH (apt-get install valgrind)".into());
    }
    let server = RestateServer::builder().start()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY * 2)
        .timeout(Duration::from_secs(120))
        .build()?;
    let work = options.profiles.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("restate-guard-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work)?;
    let mut measured = BTreeMap::new();
    for case in cases() {
        let mut totals = Vec::new();
        for count in [case.runs.0, case.runs.1] {
            let profile = work.join(format!("{}.{count}", case.id));
            let wrapper = format!(
                "valgrind --quiet --tool=callgrind --callgrind-out-file={}",
                profile.display()
            );
            eprintln!(
                "guard: {} with {count} invocations under callgrind...",
                case.id
            );
            // Processes are started from this thread, so that they die with it.
            match case.target {
                Target::Endpoint(handler, codec, logging) => {
                    let endpoint =
                        EndpointProcess::start_wrapped(Sdk::Ours, logging, "", Some(wrapper))?;
                    let scenario = Scenario {
                        handler,
                        sdk: Sdk::Ours,
                        codec,
                        logging,
                    };
                    runtime.block_on(async {
                        server.register(&endpoint.url).await?;
                        for count in [case.warmup, count] {
                            let run = load::run(
                                &client,
                                server.ingress_url(),
                                &scenario,
                                endpoint.pid,
                                count,
                                CONCURRENCY,
                            )
                            .await?;
                            if let Some(error) = run.first_error {
                                return Err(format!("{} fails: {error}", case.id).into());
                            }
                        }
                        Ok::<_, Box<dyn Error>>(())
                    })?;
                    // Stopped with SIGTERM: callgrind writes the profile as the process exits.
                    drop(endpoint);
                }
                Target::Gateway => {
                    let endpoint =
                        EndpointProcess::start_wrapped(Sdk::Ours, Logging::None, "", None)?;
                    let gateway = GatewayProcess::start_wrapped(server.ingress_url(), wrapper)?;
                    runtime.block_on(async {
                        server.register(&endpoint.url).await?;
                        for count in [case.warmup, count] {
                            let run =
                                gateway::run(&gateway, endpoint.pid, count, CONCURRENCY).await?;
                            if let Some(error) = run.calls.first_error {
                                return Err(format!("{} fails: {error}", case.id).into());
                            }
                        }
                        Ok::<_, Box<dyn Error>>(())
                    })?;
                    drop(gateway);
                    drop(endpoint);
                }
            }
            totals.push(callgrind_total(&profile)?);
        }
        let per_invocation =
            totals[1].saturating_sub(totals[0]) / (case.runs.1 - case.runs.0) as u64;
        measured.insert(case.id.to_owned(), per_invocation);
    }
    runtime.shutdown_background();
    if options.profiles.is_none() {
        let _ = std::fs::remove_dir_all(&work);
    }

    let path = baseline_path();
    if options.update {
        write_baseline(&path, &measured)?;
        print(&measured, &BTreeMap::new());
        println!("baseline written to {}", path.display());
        return Ok(true);
    }
    let baseline = read_baseline(&path)?;
    let passed = print(&measured, &baseline);
    if !passed {
        println!();
        println!(
            "Instructions per invocation grew more than {:.0}% over the baseline in {}.",
            TOLERANCE * 100.0,
            path.display()
        );
        println!(
            "If the growth is meant (say what it buys in the change's note), update the baseline and commit it:"
        );
        println!("  cargo run --release --manifest-path bench/Cargo.toml -- guard --update");
    }
    Ok(passed)
}

/// Prints each case against its baseline; whether none grew past the tolerance.
fn print(measured: &BTreeMap<String, u64>, baseline: &BTreeMap<String, u64>) -> bool {
    println!();
    println!(
        "Instructions per invocation (callgrind; the endpoint's, the gateway's for the gateway case)"
    );
    println!(
        "{:<20} {:>12} {:>12} {:>8}  verdict",
        "case", "baseline", "now", "change"
    );
    let mut passed = true;
    for (id, &now) in measured {
        let Some(&before) = baseline.get(id) else {
            println!("{id:<20} {:>12} {now:>12} {:>8}  no baseline", "—", "—");
            passed = false;
            continue;
        };
        let change = now as f64 / before as f64 - 1.0;
        let verdict = if change > TOLERANCE {
            passed = false;
            "GREW"
        } else if change < -TOLERANCE {
            "cheaper: update the baseline to keep the gain"
        } else {
            "ok"
        };
        println!(
            "{id:<20} {before:>12} {now:>12} {:>+7.1}%  {verdict}",
            change * 100.0
        );
    }
    passed
}

/// The total instruction count of a callgrind profile.
fn callgrind_total(profile: &Path) -> Result<u64, Box<dyn Error>> {
    let text = std::fs::read_to_string(profile)
        .map_err(|error| format!("no callgrind profile at {}: {error}", profile.display()))?;
    text.lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .and_then(|total| total.trim().parse().ok())
        .ok_or_else(|| format!("no total in {}", profile.display()).into())
}

/// Reads `case instructions` lines; `#` starts a comment.
fn read_baseline(path: &Path) -> Result<BTreeMap<String, u64>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the baseline {}: {error}", path.display()))?;
    let mut baseline = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(id), Some(count), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!("unreadable baseline line {line:?} in {}", path.display()).into());
        };
        let count = count
            .parse()
            .map_err(|_| format!("unreadable count in {line:?} in {}", path.display()))?;
        baseline.insert(id.to_owned(), count);
    }
    Ok(baseline)
}

fn write_baseline(path: &Path, measured: &BTreeMap<String, u64>) -> std::io::Result<()> {
    let mut text = String::from(
        "# Instructions per invocation, counted by callgrind (`bench guard`; see bench/README.md).\n\
         # Written by `cargo run --release --manifest-path bench/Cargo.toml -- guard --update`:\n\
         # update it on purpose, and say in the change's note what the growth buys.\n",
    );
    for (id, count) in measured {
        text.push_str(&format!("{id} {count}\n"));
    }
    std::fs::write(path, text)
}
