//! The benchmark command: `cargo run --release --manifest-path bench/Cargo.toml [-- OPTIONS]`.
//!
//! Compares this repository's toolchain with the official `restate-sdk` crate (endpoint CPU per
//! invocation, throughput and latency under load, memory with invocations in flight) and with
//! tonic-build (code generation and compile time), and prints whether the targets are met.
//! See README.md beside this file.

mod codegen;
mod endpoint;
mod gateway;
mod guard;
mod journals;
mod load;
mod memory;
mod procfs;
mod replay;
mod report;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use endpoint::{EndpointProcess, Logging, Sdk};
use load::{Handler, Measurement, Scenario};
use restate_proto_bench::names;
use restate_test::{RESTATE_SERVER_VERSION, RestateServer};

const USAGE: &str = "\
usage: bench [OPTIONS]
       bench guard [--update] [--profiles DIR]
                      instructions per invocation against bench/instructions.txt (see README)

  --invocations N     measured invocations per service, split evenly over the rounds
                      (default 5000)
  --concurrency C     invocations in flight from the load generator (default 32)
  --warmup N          unmeasured invocations per service before the first round (default 500)
  --rounds R          rounds over all services, in rotating order, so that other load on
                      the machine falls on every service alike (default 5)
  --in-flight N       waiter invocations held in flight for the memory figure (default 2000)
  --codegen-runs N    timed generator runs each, median taken (default 5)
  --compile-runs N    timed rebuilds of each generated crate, median taken; 0 skips
                      compiling the generated code (default 2)
  --only ID,...       load only these services: greeter-official, greeter-json,
                      greeter-proto, counter-official, counter-json, counter-proto, and
                      journal cases: steps-KIND-N (KIND run, state, call or sleep; N 1, 10
                      or 100), touch
  --logging WHICH     none: the load on endpoints with no subscriber; default: on endpoints
                      logging as the examples do; both (default)
  --journal-invocations N
                      invocations of the 1-step journals; longer journals get fewer, N/sqrt(steps),
                      halved when suspending (default 2000)
  --skip-load | --skip-memory | --skip-codegen | --skip-gateway | --skip-sim | --skip-journals
  | --skip-replay
                      (the gateway case runs with the load: the ProtoJSON greeter through the
                      generated gRPC gateway against the same greeter through the ingress,
                      and tonic alone answering it at the same rate, for scale; the journals
                      case runs workflows of 1, 10 and 100 steps of each kind on both SDKs,
                      streaming and suspending;
                      the sim case unit-tests a workflow through the in-process simulator;
                      the replay case records workflows waiting on a real server and replays
                      them with the replay check)
  --sim-tests N       simulator tests per journal length, median taken (default 20)
  --replay-invocations N
                      waiting workflows of 20 journal entries the replay check replays
                      (default 1000)
  -h, --help

Set BENCH_ENDPOINT_WRAPPER to run the endpoint processes under a profiler ({sdk} becomes
ours or official, with -logged added for the endpoints with default logging and -suspending
for those of the journal cases that suspend), e.g.
  BENCH_ENDPOINT_WRAPPER=\"valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.{sdk}\"
  BENCH_ENDPOINT_WRAPPER=\"strace -f -c -o /tmp/strace.{sdk}\"
and BENCH_GATEWAY_WRAPPER likewise for the gateway process and tonic alone ({sdk} becomes
gateway or tonic-alone).
";

#[derive(Debug, Clone)]
pub struct Options {
    pub invocations: usize,
    pub concurrency: usize,
    pub warmup: usize,
    pub rounds: usize,
    pub in_flight: usize,
    pub codegen_runs: usize,
    pub compile_runs: usize,
    pub only: Option<Vec<String>>,
    /// How the endpoints under load log: each of these in turn.
    pub logging: Vec<Logging>,
    /// Whether to measure the simulator, and with how many tests per journal length.
    pub sim: bool,
    pub sim_tests: usize,
    pub load: bool,
    pub memory: bool,
    pub codegen: bool,
    pub gateway: bool,
    pub journals: bool,
    pub journal_invocations: usize,
    pub replay: bool,
    pub replay_invocations: usize,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options {
            invocations: 5000,
            concurrency: 32,
            warmup: 500,
            rounds: 5,
            in_flight: 2000,
            codegen_runs: 5,
            compile_runs: 2,
            only: None,
            logging: vec![Logging::None, Logging::Default],
            sim: true,
            sim_tests: 20,
            load: true,
            memory: true,
            codegen: true,
            gateway: true,
            journals: true,
            journal_invocations: 2000,
            replay: true,
            replay_invocations: 1000,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut number = |name: &str| -> Result<usize, String> {
                args.next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v: &usize| v > 0 || name == "--warmup" || name == "--compile-runs")
                    .ok_or_else(|| {
                        format!(
                            "{name} needs a number (above 0, except --warmup and --compile-runs)"
                        )
                    })
            };
            match arg.as_str() {
                "--invocations" => options.invocations = number(arg)?,
                "--concurrency" => options.concurrency = number(arg)?,
                "--warmup" => options.warmup = number(arg)?,
                "--rounds" => options.rounds = number(arg)?,
                "--in-flight" => options.in_flight = number(arg)?,
                "--codegen-runs" => options.codegen_runs = number(arg)?,
                "--compile-runs" => options.compile_runs = number(arg)?,
                "--only" => {
                    let ids: Vec<String> = args
                        .next()
                        .ok_or("--only needs scenario ids")?
                        .split(',')
                        .map(str::to_owned)
                        .collect();
                    let mut known: Vec<String> = Scenario::all().iter().map(Scenario::id).collect();
                    known.extend(journals::ids());
                    if let Some(unknown) = ids.iter().find(|id| !known.contains(id)) {
                        return Err(format!(
                            "unknown scenario {unknown}; known: {}",
                            known.join(", ")
                        ));
                    }
                    options.only = Some(ids);
                }
                "--logging" => {
                    options.logging = match args.next().map(String::as_str) {
                        Some("none") => vec![Logging::None],
                        Some("default") => vec![Logging::Default],
                        Some("both") => vec![Logging::None, Logging::Default],
                        _ => return Err("--logging needs none, default or both".to_owned()),
                    }
                }
                "--skip-load" => options.load = false,
                "--skip-memory" => options.memory = false,
                "--skip-codegen" => options.codegen = false,
                "--skip-gateway" => options.gateway = false,
                "--skip-sim" => options.sim = false,
                "--skip-journals" => options.journals = false,
                "--skip-replay" => options.replay = false,
                "--replay-invocations" => options.replay_invocations = number(arg)?,
                "--journal-invocations" => options.journal_invocations = number(arg)?,
                "--sim-tests" => options.sim_tests = number(arg)?,
                "-h" | "--help" => return Err(String::new()),
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(options)
    }
}

/// The gateway case's figures.
pub struct GatewayResults {
    pub loaded: (Measurement, gateway::GatewayMeasurement),
    pub unloaded: (Measurement, gateway::GatewayMeasurement),
    /// Tonic alone, called at the gateway's rate, and the delay it answered after.
    pub tonic_alone: (gateway::GatewayMeasurement, Duration),
}

/// Everything the run measured, for the report.
#[derive(Default)]
pub struct Results {
    pub load: Vec<(Scenario, Measurement)>,
    pub memory: Vec<(Sdk, memory::MemoryResult)>,
    pub codegen: Option<codegen::CodegenResult>,
    /// The greeter through the ingress and through the gateway, under load and one call at a
    /// time.
    pub gateway: Option<GatewayResults>,
    /// The simulator's figures, by journal length.
    pub sim: Option<Vec<sim::SimCase>>,
    /// Cost as journals grow, streaming and suspending.
    pub journals: Vec<journals::JournalCase>,
    /// The replay check's time.
    pub replay: Option<replay::ReplayFigures>,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("gateway") {
        let ingress = args.get(2).map_or("", String::as_str);
        return match gateway::serve(ingress) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("gateway: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if args.get(1).map(String::as_str) == Some("tonic-alone") {
        let Some(delay) = args.get(2).and_then(|micros| micros.parse().ok()) else {
            eprintln!("usage: bench tonic-alone <delay in µs>");
            return ExitCode::from(2);
        };
        return match gateway::serve_tonic_alone(Duration::from_micros(delay)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("tonic-alone: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if args.get(1).map(String::as_str) == Some("guard") {
        let mut options = guard::GuardOptions::default();
        let mut rest = args[2..].iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--update" => options.update = true,
                "--profiles" => match rest.next() {
                    Some(dir) => options.profiles = Some(PathBuf::from(dir)),
                    None => {
                        eprintln!("usage: bench guard [--update] [--profiles DIR]");
                        return ExitCode::from(2);
                    }
                },
                other => {
                    eprintln!(
                        "usage: bench guard [--update] [--profiles DIR] (unknown argument {other})"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        prepare_environment();
        return match guard::run(&options) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(error) => {
                eprintln!("guard: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if args.get(1).map(String::as_str) == Some("endpoint") {
        let which = args.get(2).map_or("", String::as_str);
        let logging = args.get(3).map_or("no-logging", String::as_str);
        return match endpoint::serve(which, logging) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("endpoint: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let options = match Options::parse(&args[1..]) {
        Ok(options) => options,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("{message}\n");
            }
            eprint!("{USAGE}");
            return if message.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    prepare_environment();
    match run(&options) {
        Ok(results) => {
            report::print(&options, &results);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("benchmark failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the benchmark keeps what it builds: its own target directory.
fn work_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// Sets the process environment while no other thread runs: one protoc for both generators,
/// and the restate-server the repository's own tests installed, if there is one.
fn prepare_environment() {
    if std::env::var_os("PROTOC").is_none()
        && let Ok(protoc) = protoc_bin_vendored::protoc_bin_path()
    {
        // SAFETY: single-threaded here; nothing reads the environment concurrently.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    if std::env::var_os("RESTATE_SERVER_BIN").is_none() {
        let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/restate")
            .join(format!("restate-server-{RESTATE_SERVER_VERSION}"))
            .join("node_modules/@restatedev");
        let binary = std::fs::read_dir(&installed).ok().and_then(|entries| {
            entries
                .flatten()
                .map(|e| e.path().join("bin/restate-server"))
                .find(|p| p.exists())
        });
        if let Some(binary) = binary {
            // SAFETY: as above.
            unsafe { std::env::set_var("RESTATE_SERVER_BIN", binary) };
        }
    }
}

fn run(options: &Options) -> Result<Results, Box<dyn std::error::Error>> {
    let mut results = Results::default();
    if options.load || options.memory {
        eprintln!("starting restate-server {RESTATE_SERVER_VERSION} and the endpoints...");
        let server = RestateServer::builder()
            // Measure memory before Restate suspends the idle waiters.
            .env("RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT", "30m")
            // Room for every waiter of both endpoints at once (the default is 1000).
            .env(
                "RESTATE_WORKER__INVOKER__CONCURRENT_INVOCATIONS_LIMIT",
                (2 * options.in_flight + 1000).to_string(),
            )
            .start()?;
        // Started from the main thread, so they die with this process whatever happens. The
        // load runs twice: on endpoints with no subscriber, then on endpoints logging as users
        // run the examples (registered last, so they serve the same services from then on).
        let ours = EndpointProcess::start(Sdk::Ours, Logging::None)?;
        let official = EndpointProcess::start(Sdk::Official, Logging::None)?;
        // A second server that suspends an invocation as soon as it waits (an inactivity
        // timeout of 0), with endpoints of its own: every await that Restate completes is a
        // suspension, and the next attempt replays the journal so far. (The official SDK serves
        // HTTP/2 only, so Restate's request-response mode over HTTP/1.1 cannot be used for it.)
        let suspending = if options.load && options.journals {
            Some((
                RestateServer::builder()
                    .env("RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT", "0s")
                    .start()?,
                EndpointProcess::start_as(Sdk::Ours, Logging::None, "-suspending")?,
                EndpointProcess::start_as(Sdk::Official, Logging::None, "-suspending")?,
            ))
        } else {
            None
        };
        let logged = if options.load && options.logging.contains(&Logging::Default) {
            Some((
                EndpointProcess::start(Sdk::Ours, Logging::Default)?,
                EndpointProcess::start(Sdk::Official, Logging::Default)?,
            ))
        } else {
            None
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            server.register(&ours.url).await?;
            server.register(&official.url).await?;
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(options.concurrency * 2)
                .timeout(Duration::from_secs(60))
                .build()?;
            if options.load && options.logging.contains(&Logging::None) {
                results.load = run_load(options, &client, &server, &ours, &official).await?;
            }
            if options.load && options.journals {
                results.journals = journals::run(
                    &client,
                    server.ingress_url(),
                    &ours,
                    &official,
                    journals::Mode::Streaming,
                    options.journal_invocations,
                    options.concurrency,
                    options.only.as_deref(),
                )
                .await?;
            }
            if options.load && options.gateway {
                let gateway = gateway::GatewayProcess::start(server.ingress_url())?;
                results.gateway =
                    Some(run_gateway(options, &client, &server, &ours, &gateway).await?);
            }
            if options.memory {
                for endpoint in [&ours, &official] {
                    let waiter = match endpoint.sdk {
                        Sdk::Ours => names::OURS_WAITER,
                        Sdk::Official => names::OFFICIAL_WAITER,
                    };
                    eprintln!(
                        "memory: {} invocations of {} in flight...",
                        options.in_flight, waiter.0
                    );
                    let result = memory::measure(
                        &client,
                        server.ingress_url(),
                        server.admin_url(),
                        endpoint,
                        waiter,
                        options.in_flight,
                        options.concurrency,
                    )
                    .await?;
                    results.memory.push((endpoint.sdk, result));
                }
            }
            if let Some((ours, official)) = &logged {
                server.register(&ours.url).await?;
                server.register(&official.url).await?;
                let as_users_run = run_load(options, &client, &server, ours, official).await?;
                results.load.extend(as_users_run);
            }
            if let Some((server, ours, official)) = &suspending {
                server.register(&ours.url).await?;
                server.register(&official.url).await?;
                let suspended = journals::run(
                    &client,
                    server.ingress_url(),
                    ours,
                    official,
                    journals::Mode::Suspending,
                    options.journal_invocations,
                    options.concurrency,
                    options.only.as_deref(),
                )
                .await?;
                results.journals.extend(suspended);
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        runtime.shutdown_background();
        drop((ours, official, logged, suspending));
        drop(server);
    }
    if options.sim {
        eprintln!(
            "simulator: the reminder workflow, {} tests per journal length...",
            options.sim_tests
        );
        results.sim = Some(sim::run(options.sim_tests)?);
    }
    if options.replay {
        eprintln!(
            "replay check: {} waiting workflows recorded and replayed...",
            options.replay_invocations
        );
        results.replay = Some(replay::run(options.replay_invocations)?);
    }
    if options.codegen {
        eprintln!(
            "codegen: {}×{} proto, restate-codegen against tonic-build...",
            codegen::SERVICES,
            codegen::RPCS
        );
        results.codegen = Some(codegen::run(
            &work_dir().join("codegen-bench"),
            options.codegen_runs,
            options.compile_runs,
        )?);
    }
    Ok(results)
}

/// The greeter (ProtoJSON) through the ingress and through the gateway, in alternating rounds.
async fn run_gateway(
    options: &Options,
    client: &reqwest::Client,
    server: &RestateServer,
    ours: &EndpointProcess,
    gateway: &gateway::GatewayProcess,
) -> Result<GatewayResults, Box<dyn std::error::Error>> {
    let direct = Scenario {
        handler: Handler::Greeter,
        sdk: Sdk::Ours,
        codec: load::Codec::Json,
        logging: ours.logging,
    };
    let ingress = server.ingress_url();
    if options.warmup > 0 {
        eprintln!("warm-up: greeter through the gRPC gateway");
        let warm = gateway::run(gateway, ours.pid, options.warmup, options.concurrency).await?;
        if let Some(error) = warm.calls.first_error {
            return Err(format!("the greeter through the gateway fails: {error}").into());
        }
    }
    let (mut through_ingress, mut through_gateway) = (
        Measurement::default(),
        gateway::GatewayMeasurement::default(),
    );
    for round in 0..options.rounds {
        let count = options.invocations * (round + 1) / options.rounds
            - options.invocations * round / options.rounds;
        let plain = load::run(
            client,
            ingress,
            &direct,
            ours.pid,
            count,
            options.concurrency,
        )
        .await?;
        let forwarded = gateway::run(gateway, ours.pid, count, options.concurrency).await?;
        eprintln!(
            "gateway round {}/{}: ingress p50 {:>6.1} ms, gateway p50 {:>6.1} ms, gateway CPU {:>6.1} µs/call",
            round + 1,
            options.rounds,
            plain.latency_quantile(0.5).as_secs_f64() * 1e3,
            forwarded.calls.latency_quantile(0.5).as_secs_f64() * 1e3,
            forwarded.gateway_micros_per_call(),
        );
        through_ingress.merge(plain);
        through_gateway.merge(forwarded);
    }
    // One call at a time: the latency the hop itself adds, without queueing for the CPU.
    let single = (options.invocations / 10).max(100);
    let plain = load::run(client, ingress, &direct, ours.pid, single, 1).await?;
    let forwarded = gateway::run(gateway, ours.pid, single, 1).await?;
    // Tonic's own share: a server answering by itself, after a delay that makes the same
    // callers call it at the rate they called the gateway.
    let tonic_alone = tonic_alone(options, ours, through_gateway.calls.throughput()).await?;
    Ok(GatewayResults {
        loaded: (through_ingress, through_gateway),
        unloaded: (plain, forwarded),
        tonic_alone,
    })
}

/// Tonic alone, called at `rate` calls per second: it answers after a caller's mean round trip
/// at that rate, less what the round trip itself takes (tokio's timer rounds sleeps up to its
/// next millisecond), found with a first probing run.
async fn tonic_alone(
    options: &Options,
    ours: &EndpointProcess,
    rate: f64,
) -> Result<(gateway::GatewayMeasurement, Duration), Box<dyn std::error::Error>> {
    let round_trip = (options.concurrency as f64 / rate).min(60.0);
    let probe_calls = options.warmup.max(200);
    let probe = gateway::GatewayProcess::start_tonic_alone(Duration::from_secs_f64(round_trip))?;
    let probed = gateway::run(&probe, ours.pid, probe_calls, options.concurrency).await?;
    drop(probe);
    if let Some(error) = probed.calls.first_error {
        return Err(format!("tonic alone fails: {error}").into());
    }
    let overhead = options.concurrency as f64 / probed.calls.throughput() - round_trip;
    let delay = Duration::from_secs_f64((round_trip - overhead.max(0.0)).max(0.0));
    eprintln!("tonic alone: the greeter answering after {delay:?}");
    let alone = gateway::GatewayProcess::start_tonic_alone(delay)?;
    gateway::run(&alone, ours.pid, probe_calls, options.concurrency).await?;
    let measured = gateway::run(&alone, ours.pid, options.invocations, options.concurrency).await?;
    Ok((measured, delay))
}

async fn run_load(
    options: &Options,
    client: &reqwest::Client,
    server: &RestateServer,
    ours: &EndpointProcess,
    official: &EndpointProcess,
) -> Result<Vec<(Scenario, Measurement)>, Box<dyn std::error::Error>> {
    let scenarios: Vec<Scenario> = Scenario::all()
        .into_iter()
        .filter(|s| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.contains(&s.id()))
        })
        .map(|s| Scenario {
            logging: ours.logging,
            ..s
        })
        .collect();
    let pid = |scenario: &Scenario| match scenario.sdk {
        Sdk::Ours => ours.pid,
        Sdk::Official => official.pid,
    };
    let ingress = server.ingress_url();
    for scenario in &scenarios {
        if options.warmup > 0 {
            eprintln!(
                "warm-up: {} {} {} ({})",
                scenario.handler_label(),
                scenario.sdk_label(),
                scenario.codec_label(),
                scenario.logging.label()
            );
            let warm = load::run(
                client,
                ingress,
                scenario,
                pid(scenario),
                options.warmup,
                options.concurrency,
            )
            .await?;
            if let Some(error) = warm.first_error {
                return Err(format!(
                    "{} {} {} fails: {error}",
                    scenario.handler_label(),
                    scenario.sdk_label(),
                    scenario.codec_label()
                )
                .into());
            }
        }
    }
    let mut measured: Vec<Measurement> = vec![Measurement::default(); scenarios.len()];
    for round in 0..options.rounds {
        // The rounds add up to exactly `invocations`.
        let count = options.invocations * (round + 1) / options.rounds
            - options.invocations * round / options.rounds;
        // Each round starts at another scenario, so none always runs first or last.
        for offset in 0..scenarios.len() {
            let index = (offset + round) % scenarios.len();
            let scenario = &scenarios[index];
            let result = load::run(
                client,
                ingress,
                scenario,
                pid(scenario),
                count,
                options.concurrency,
            )
            .await?;
            eprintln!(
                "round {}/{}: {:<16} {:<17} {:<13} {:<15} {:>8.0} inv/s  p50 {:>6.1} ms  p99 {:>6.1} ms  CPU {:>6.1} µs/inv{}",
                round + 1,
                options.rounds,
                scenario.handler_label(),
                scenario.sdk_label(),
                scenario.codec_label(),
                scenario.logging.label(),
                result.throughput(),
                result.latency_quantile(0.5).as_secs_f64() * 1e3,
                result.latency_quantile(0.99).as_secs_f64() * 1e3,
                result.cpu_micros_per_invocation(),
                if result.errors > 0 {
                    format!("  ({} errors)", result.errors)
                } else {
                    String::new()
                },
            );
            measured[index].merge(result);
        }
    }
    Ok(scenarios.into_iter().zip(measured).collect())
}
