//! The load: a fixed number of invocations through the ingress at a fixed concurrency, with the
//! latency of each and the endpoint process's CPU time around the whole run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message;

use crate::endpoint::{Logging, Sdk};
use crate::procfs;
use restate_proto_bench::{names, proto};

/// The handler a scenario invokes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// The greeter: one `run`.
    Greeter,
    /// The counter object's `Add`: one state read, one state write.
    CounterAdd,
    /// A `Steps` workflow of `count` steps of one kind, a new workflow id per invocation.
    Steps { kind: StepKind, count: u32 },
    /// `BigState/Touch` on an object whose state has been filled with 1,000 entries.
    Touch,
}

/// What each step of a `Steps` workflow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    Run,
    State,
    Call,
    Sleep,
}

impl StepKind {
    pub const ALL: [StepKind; 4] = [
        StepKind::Run,
        StepKind::State,
        StepKind::Call,
        StepKind::Sleep,
    ];

    /// The enum value's name in ProtoJSON, which the official implementation takes too.
    fn json(self) -> &'static str {
        match self {
            StepKind::Run => "STEP_KIND_RUN",
            StepKind::State => "STEP_KIND_STATE",
            StepKind::Call => "STEP_KIND_CALL",
            StepKind::Sleep => "STEP_KIND_SLEEP",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StepKind::Run => "run",
            StepKind::State => "state get+set",
            StepKind::Call => "call",
            StepKind::Sleep => "sleep 0 ms",
        }
    }
}

/// Workflow ids never repeat within a run of the benchmark (one restate-server per run).
static NEXT_WORKFLOW: AtomicU64 = AtomicU64::new(0);

/// The payload encoding of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Json,
    Protobuf,
}

/// One benchmarked handler of one implementation.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub handler: Handler,
    pub sdk: Sdk,
    pub codec: Codec,
    /// How the endpoint serving it logs.
    pub logging: Logging,
}

impl Scenario {
    pub fn all() -> Vec<Scenario> {
        let mut all = Vec::new();
        for handler in [Handler::Greeter, Handler::CounterAdd] {
            for (sdk, codec) in [
                (Sdk::Official, Codec::Json),
                (Sdk::Ours, Codec::Json),
                (Sdk::Ours, Codec::Protobuf),
            ] {
                all.push(Scenario {
                    handler,
                    sdk,
                    codec,
                    logging: Logging::None,
                });
            }
        }
        all
    }

    /// The ingress URL of the next request of concurrent sender `worker`: objects get one key
    /// per sender, so no two requests queue on one key; workflows a new id every time.
    pub fn url(&self, ingress: &str, worker: usize) -> String {
        let object =
            |(service, handler): (&str, &str)| format!("{ingress}/{service}/w{worker}/{handler}");
        let workflow = |(service, handler): (&str, &str)| {
            let id = NEXT_WORKFLOW.fetch_add(1, Ordering::Relaxed);
            format!("{ingress}/{service}/run{id}/{handler}")
        };
        match (self.handler, self.sdk, self.codec) {
            (Handler::Steps { .. }, Sdk::Official, _) => workflow(names::OFFICIAL_STEPS),
            (Handler::Steps { .. }, Sdk::Ours, _) => workflow(names::OURS_STEPS),
            (Handler::Touch, Sdk::Official, _) => object(names::OFFICIAL_BIG_STATE),
            (Handler::Touch, Sdk::Ours, _) => object(names::OURS_BIG_STATE),
            (Handler::Greeter, Sdk::Official, _) => {
                format!("{ingress}/{}", names::OFFICIAL_GREETER)
            }
            (Handler::Greeter, Sdk::Ours, Codec::Json) => {
                format!("{ingress}/{}", names::OURS_GREETER_JSON)
            }
            (Handler::Greeter, Sdk::Ours, Codec::Protobuf) => {
                format!("{ingress}/{}", names::OURS_GREETER_PROTO)
            }
            (Handler::CounterAdd, Sdk::Official, _) => object(names::OFFICIAL_COUNTER),
            (Handler::CounterAdd, Sdk::Ours, Codec::Json) => object(names::OURS_COUNTER_JSON),
            (Handler::CounterAdd, Sdk::Ours, Codec::Protobuf) => object(names::OURS_COUNTER_PROTO),
        }
    }

    fn content_type(&self) -> &'static str {
        match self.codec {
            Codec::Json => "application/json",
            Codec::Protobuf => "application/proto",
        }
    }

    pub fn body(&self) -> Bytes {
        match (self.handler, self.codec) {
            (Handler::Steps { kind, count }, _) => {
                format!(r#"{{"kind":"{}","count":{count}}}"#, kind.json()).into()
            }
            (Handler::Touch, _) => Bytes::from_static(br#"{"fill":0}"#),
            (Handler::Greeter, Codec::Json) => Bytes::from_static(br#"{"name":"Ada"}"#),
            (Handler::Greeter, Codec::Protobuf) => proto::HelloRequest { name: "Ada".into() }
                .encode_to_vec()
                .into(),
            (Handler::CounterAdd, Codec::Json) => Bytes::from_static(br#"{"delta":1}"#),
            (Handler::CounterAdd, Codec::Protobuf) => {
                proto::AddRequest { delta: 1 }.encode_to_vec().into()
            }
        }
    }

    /// Whether a 200 response body is the answer the handler gives.
    fn answer_ok(&self, body: &[u8]) -> bool {
        let json = || serde_json::from_slice::<serde_json::Value>(body).unwrap_or_default();
        match (self.handler, self.codec) {
            (Handler::Steps { count, .. }, _) => json()["done"] == count,
            (Handler::Touch, _) => json()["done"] == 1,
            (Handler::Greeter, Codec::Json) => serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|v| v["message"].as_str() == Some("Hello, Ada!")),
            (Handler::Greeter, Codec::Protobuf) => {
                proto::HelloResponse::decode(body).is_ok_and(|r| r.message == "Hello, Ada!")
            }
            // ProtoJSON writes int64 as a string, serde_json as a number.
            (Handler::CounterAdd, Codec::Json) => serde_json::from_slice::<serde_json::Value>(body)
                .is_ok_and(|v| {
                    v["value"].is_i64()
                        || v["value"]
                            .as_str()
                            .is_some_and(|s| s.parse::<i64>().is_ok())
                }),
            (Handler::CounterAdd, Codec::Protobuf) => {
                proto::CounterValue::decode(body).is_ok_and(|v| v.value > 0)
            }
        }
    }

    /// The name `--only` knows the scenario by, e.g. `greeter-proto`.
    pub fn id(&self) -> String {
        let handler = match self.handler {
            Handler::Greeter => "greeter".to_owned(),
            Handler::CounterAdd => "counter".to_owned(),
            // One id for both SDKs: a journal case always measures both.
            Handler::Steps { kind, count } => {
                return format!("steps-{kind:?}-{count}").to_lowercase();
            }
            Handler::Touch => return "touch".to_owned(),
        };
        let variant = match (self.sdk, self.codec) {
            (Sdk::Official, _) => "official",
            (Sdk::Ours, Codec::Json) => "json",
            (Sdk::Ours, Codec::Protobuf) => "proto",
        };
        format!("{handler}-{variant}")
    }

    pub fn handler_label(&self) -> String {
        match self.handler {
            Handler::Greeter => "greeter (1 run)".to_owned(),
            Handler::CounterAdd => "counter Add".to_owned(),
            Handler::Steps { kind, count } => format!("{count} × {}", kind.label()),
            Handler::Touch => "1,000-entry state".to_owned(),
        }
    }

    pub fn sdk_label(&self) -> &'static str {
        match self.sdk {
            Sdk::Ours => "ours",
            Sdk::Official => "restate-sdk 0.13",
        }
    }

    pub fn codec_label(&self) -> &'static str {
        match (self.sdk, self.codec) {
            (Sdk::Official, _) => "JSON (serde)",
            (Sdk::Ours, Codec::Json) => "ProtoJSON",
            (Sdk::Ours, Codec::Protobuf) => "Protobuf",
        }
    }
}

/// What one measured run produced.
#[derive(Debug, Default, Clone)]
pub struct Measurement {
    pub latencies: Vec<Duration>,
    pub wall: Duration,
    /// Endpoint CPU time over the run, in clock ticks.
    pub cpu_ticks: u64,
    /// The part of `cpu_ticks` spent in the kernel.
    pub cpu_system_ticks: u64,
    pub errors: usize,
    pub first_error: Option<String>,
}

impl Measurement {
    /// Adds another run of the same scenario.
    pub fn merge(&mut self, other: Measurement) {
        self.latencies.extend(other.latencies);
        self.wall += other.wall;
        self.cpu_ticks += other.cpu_ticks;
        self.cpu_system_ticks += other.cpu_system_ticks;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn count(&self) -> usize {
        self.latencies.len() + self.errors
    }

    /// Completed invocations per second.
    pub fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.wall.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the latencies of the successful invocations.
    pub fn latency_quantile(&self, q: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    }

    /// Endpoint CPU time per invocation, in microseconds.
    pub fn cpu_micros_per_invocation(&self) -> f64 {
        self.cpu_ticks as f64 / procfs::clock_ticks_per_second() * 1e6 / self.count() as f64
    }

    /// The share of the endpoint's CPU time spent in the kernel, in percent.
    pub fn system_percent(&self) -> f64 {
        self.cpu_system_ticks as f64 * 100.0 / self.cpu_ticks.max(1) as f64
    }
}

/// Sends `count` invocations of `scenario` at `concurrency`, and reads the endpoint's CPU time
/// (`endpoint_pid`) before and after.
pub async fn run(
    client: &reqwest::Client,
    ingress: &str,
    scenario: &Scenario,
    endpoint_pid: u32,
    count: usize,
    concurrency: usize,
) -> std::io::Result<Measurement> {
    let next = Arc::new(AtomicUsize::new(0));
    let body = scenario.body();
    let cpu_before = procfs::cpu_ticks(endpoint_pid)?;
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, next, body) = (client.clone(), Arc::clone(&next), body.clone());
        let (ingress, scenario) = (ingress.to_owned(), scenario.clone());
        workers.push(tokio::spawn(async move {
            let mut part = Measurement::default();
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let url = scenario.url(&ingress, worker);
                let sent = Instant::now();
                let outcome = client
                    .post(&url)
                    .header("content-type", scenario.content_type())
                    .body(body.clone())
                    .send()
                    .await;
                let result = match outcome {
                    Ok(response) => {
                        let status = response.status();
                        match response.bytes().await {
                            Ok(bytes) if status.is_success() && scenario.answer_ok(&bytes) => {
                                Ok(())
                            }
                            Ok(bytes) => Err(format!(
                                "{status}: {}",
                                String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                            )),
                            Err(error) => Err(error.to_string()),
                        }
                    }
                    Err(error) => Err(error.to_string()),
                };
                match result {
                    Ok(()) => part.latencies.push(sent.elapsed()),
                    Err(error) => {
                        part.errors += 1;
                        part.first_error.get_or_insert(error);
                    }
                }
            }
            part
        }));
    }
    let mut total = Measurement::default();
    for worker in workers {
        total.merge(worker.await.map_err(std::io::Error::other)?);
    }
    total.wall = started.elapsed();
    let cpu_after = procfs::cpu_ticks(endpoint_pid)?;
    total.cpu_ticks = (cpu_after.0 + cpu_after.1) - (cpu_before.0 + cpu_before.1);
    total.cpu_system_ticks = cpu_after.1 - cpu_before.1;
    Ok(total)
}
