//! Cost as journals grow: workflows of 1, 10 and 100 steps of each kind (`run`, state get and
//! set, calls, sleeps of 0 ms) and an object whose state holds 1,000 entries, on both SDKs, with
//! Restate streaming the journal and with every await suspending the invocation (a server whose
//! inactivity timeout is 0).

use std::io;

use crate::endpoint::{EndpointProcess, Sdk};
use crate::load::{self, Codec, Handler, Measurement, Scenario, StepKind};
use restate_proto_bench::names;

/// The journal lengths measured.
pub const STEP_COUNTS: [u32; 3] = [1, 10, 100];

/// State entries of the large-state object.
pub const STATE_ENTRIES: u32 = 1000;

/// How Restate talks to the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One request per invocation, the journal streamed both ways.
    Streaming,
    /// Restate suspends the invocation whenever it waits for Restate (inactivity timeout 0):
    /// every such await ends an attempt, and the next attempt replays the journal so far.
    Suspending,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Streaming => "streaming",
            Mode::Suspending => "suspending",
        }
    }
}

/// One handler measured on both SDKs.
pub struct JournalCase {
    pub handler: Handler,
    pub mode: Mode,
    pub ours: Measurement,
    pub official: Measurement,
}

/// Invocations measured for a journal of `steps` steps: fewer as journals grow, so every
/// case takes a comparable time.
fn invocations(base: usize, steps: u32, mode: Mode) -> usize {
    let scaled = base as f64 / f64::from(steps).sqrt();
    let scaled = match mode {
        Mode::Streaming => scaled,
        Mode::Suspending => scaled / 2.0,
    };
    (scaled as usize).max(20)
}

/// The `--only` ids of the cases, e.g. `steps-run-100`, `touch`.
pub fn ids() -> Vec<String> {
    handlers()
        .into_iter()
        .map(|handler| {
            Scenario {
                handler,
                sdk: Sdk::Ours,
                codec: Codec::Json,
                logging: crate::endpoint::Logging::None,
            }
            .id()
        })
        .collect()
}

fn handlers() -> Vec<Handler> {
    let mut handlers: Vec<Handler> = Vec::new();
    for kind in StepKind::ALL {
        for count in STEP_COUNTS {
            handlers.push(Handler::Steps { kind, count });
        }
    }
    handlers.push(Handler::Touch);
    handlers
}

/// Measures every case (those `only` names, if given) on `ours` and `official`, registered
/// with the server in `mode`.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    client: &reqwest::Client,
    ingress: &str,
    ours: &EndpointProcess,
    official: &EndpointProcess,
    mode: Mode,
    base: usize,
    concurrency: usize,
    only: Option<&[String]>,
) -> io::Result<Vec<JournalCase>> {
    fill_big_states(client, ingress, concurrency).await?;

    let mut cases = Vec::new();
    for handler in handlers() {
        let scenario = |sdk| Scenario {
            handler,
            sdk,
            codec: Codec::Json,
            logging: ours.logging,
        };
        let (mine, theirs) = (scenario(Sdk::Ours), scenario(Sdk::Official));
        if only.is_some_and(|only| !only.contains(&mine.id())) {
            continue;
        }
        let steps = match handler {
            Handler::Steps { count, .. } => count,
            _ => 1,
        };
        let count = invocations(base, steps, mode);
        let warmup = (count / 10).max(10);
        let (mut ours_measured, mut official_measured) =
            (Measurement::default(), Measurement::default());
        // Two halves in opposite order, so that other load falls on both alike.
        for half in 0..2 {
            let part = count * (half + 1) / 2 - count * half / 2;
            let order = if half == 0 {
                [(&mine, ours), (&theirs, official)]
            } else {
                [(&theirs, official), (&mine, ours)]
            };
            for (scenario, endpoint) in order {
                if half == 0 {
                    let warm =
                        load::run(client, ingress, scenario, endpoint.pid, warmup, concurrency)
                            .await?;
                    if let Some(error) = warm.first_error {
                        return Err(io::Error::other(format!(
                            "{} ({}, {}) fails: {error}",
                            scenario.handler_label(),
                            scenario.sdk_label(),
                            mode.label()
                        )));
                    }
                }
                let measured =
                    load::run(client, ingress, scenario, endpoint.pid, part, concurrency).await?;
                match scenario.sdk {
                    Sdk::Ours => ours_measured.merge(measured),
                    Sdk::Official => official_measured.merge(measured),
                }
            }
        }
        eprintln!(
            "journals, {}: {:<22} ours {:>8.1} µs/inv, restate-sdk {:>8.1} µs/inv",
            mode.label(),
            mine.handler_label(),
            ours_measured.cpu_micros_per_invocation(),
            official_measured.cpu_micros_per_invocation(),
        );
        cases.push(JournalCase {
            handler,
            mode,
            ours: ours_measured,
            official: official_measured,
        });
    }
    Ok(cases)
}

/// Writes the state entries of the large-state objects, one per concurrent sender's key, on
/// both SDKs.
async fn fill_big_states(
    client: &reqwest::Client,
    ingress: &str,
    concurrency: usize,
) -> io::Result<()> {
    let body = format!(r#"{{"fill":{STATE_ENTRIES}}}"#);
    for (service, handler) in [names::OURS_BIG_STATE, names::OFFICIAL_BIG_STATE] {
        for worker in 0..concurrency {
            let response = client
                .post(format!("{ingress}/{service}/w{worker}/{handler}"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .map_err(io::Error::other)?;
            if !response.status().is_success() {
                return Err(io::Error::other(format!(
                    "filling the state of {service} answered {}",
                    response.status()
                )));
            }
        }
    }
    Ok(())
}

/// Prints the table: CPU per invocation and per journal entry on both SDKs.
pub fn print(cases: &[JournalCase]) -> Vec<(String, f64)> {
    println!();
    println!(
        "Cost as journals grow: workflows of N steps of one kind, a new workflow per invocation, and an object"
    );
    println!(
        "whose state holds {STATE_ENTRIES} entries (sent with every invocation); streaming, and suspending at every"
    );
    println!(
        "await (inactivity timeout 0). µs/entry = (CPU/inv at N - CPU/inv at N=1) / (N - 1): what each further step adds;"
    );
    println!(
        "suspending, each of the N attempts replays the journal so far, so the total grows with N²."
    );
    println!(
        "{:<22} {:<11} {:>11} {:>11} {:>6} {:>11} {:>11} {:>6}",
        "steps", "mode", "ours µs/inv", "sdk µs/inv", "×", "ours µs/ent", "sdk µs/ent", "×"
    );
    let mut ratios = Vec::new();
    for case in cases {
        let (ours, official) = (
            case.ours.cpu_micros_per_invocation(),
            case.official.cpu_micros_per_invocation(),
        );
        let per_entry = |sdk: Sdk| -> Option<f64> {
            let Handler::Steps { kind, count } = case.handler else {
                return None;
            };
            if count <= 1 {
                return None;
            }
            let one = cases.iter().find(|other| {
                other.mode == case.mode && other.handler == Handler::Steps { kind, count: 1 }
            })?;
            let (at_n, at_one) = match sdk {
                Sdk::Ours => (ours, one.ours.cpu_micros_per_invocation()),
                Sdk::Official => (official, one.official.cpu_micros_per_invocation()),
            };
            Some((at_n - at_one) / f64::from(count - 1))
        };
        let (ours_entry, official_entry) = (per_entry(Sdk::Ours), per_entry(Sdk::Official));
        let show = |value: Option<f64>| value.map_or("—".to_owned(), |v| format!("{v:.2}"));
        let entry_ratio = match (ours_entry, official_entry) {
            (Some(o), Some(t)) => Some(o / t),
            _ => None,
        };
        println!(
            "{:<22} {:<11} {:>11.1} {:>11.1} {:>6.2} {:>11} {:>11} {:>6}{}",
            case_label(case),
            case.mode.label(),
            ours,
            official,
            ours / official,
            show(ours_entry),
            show(official_entry),
            entry_ratio.map_or("—".to_owned(), |r| format!("{r:.2}")),
            if case.ours.errors + case.official.errors > 0 {
                format!("  ({} errors)", case.ours.errors + case.official.errors)
            } else {
                String::new()
            }
        );
        if let Some(ratio) = entry_ratio {
            ratios.push((
                format!(
                    "CPU per journal entry, {}, {}",
                    case_label(case),
                    case.mode.label()
                ),
                ratio,
            ));
        }
    }
    ratios
}

fn case_label(case: &JournalCase) -> String {
    match case.handler {
        Handler::Steps { kind, count } => format!("{count} × {}", kind.label()),
        _ => format!("{STATE_ENTRIES}-entry state"),
    }
}
