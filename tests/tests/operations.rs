//! Operations features against a real restate-server: invocation spans and the replay filter,
//! seen by a subscriber of the test's own (every event a handler logs carries its invocation,
//! and a retried handler's replayed steps log nothing through the `ReplayFilter`), and settings
//! given at bind time, read back from the admin API.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};

use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use restate_runtime::telemetry::metric_names;

use restate_e2e::operations::operations_endpoint;
use restate_e2e::operations::ops::{
    MeteredIngressClient, NapRequest, StepsRequest, WaiterIngressClient,
};
use restate_runtime::Codec;
use restate_runtime::codegen::pbjson_types::StringValue;
use restate_runtime::ingress::{Ingress, IngressError};
use restate_runtime::telemetry::ReplayFilter;
use restate_test::TestEnvironment;
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{Layer, Registry};

/// An event as a layer saw it: its fields, and those of its invocation span at that moment.
#[derive(Debug, Clone)]
struct Captured {
    fields: BTreeMap<String, String>,
    span: BTreeMap<String, String>,
}

/// Keeps every event it is given, with the fields of the innermost span named `invocation`.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

/// The values of a span's fields, as this layer last saw them.
struct SpanFields(BTreeMap<String, String>);

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = cx.span(id) {
            span.extensions_mut().replace(SpanFields(fields.0));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, cx: Context<'_, S>) {
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(span) = cx.span(id) {
            if let Some(known) = span.extensions_mut().get_mut::<SpanFields>() {
                known.0.extend(fields.0);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, cx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = cx
            .event_scope(event)
            .and_then(|mut scope| scope.find(|span| span.name() == "invocation"))
            .and_then(|span| span.extensions().get::<SpanFields>().map(|f| f.0.clone()))
            .unwrap_or_default();
        self.0.lock().unwrap().push(Captured {
            fields: fields.0,
            span,
        });
    }
}

/// What a layer with the replay filter kept, and what one without it kept.
struct Captures {
    filtered: Capture,
    everything: Capture,
}

impl Captures {
    /// The events of the run `id`, as (message, step, attempt, replaying).
    fn of_run(capture: &Capture, id: &str) -> Vec<Captured> {
        capture
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|event| event.fields.get("run").map(String::as_str) == Some(id))
            .cloned()
            .collect()
    }
}

/// Reads what the runtime reported to the `metrics` recorder of this test binary.
static METRICS: LazyLock<Snapshotter> = LazyLock::new(|| {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("no other recorder");
    snapshotter
});

/// The subscriber and recorder are installed before the server and endpoint start, so they
/// see all they report.
static ENV: LazyLock<(TestEnvironment, Captures)> = LazyLock::new(|| {
    LazyLock::force(&METRICS);
    let captures = Captures {
        filtered: Capture::default(),
        everything: Capture::default(),
    };
    let subscriber = Registry::default()
        .with(captures.filtered.clone().with_filter(ReplayFilter::new()))
        .with(captures.everything.clone());
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
    let env = TestEnvironment::start(operations_endpoint()).expect("the test environment starts");
    (env, captures)
});

/// Calls `ops.Steps/LogSteps` with `body` through the ingress: the status and the JSON answer
/// (`null` when it is not JSON).
async fn log_steps(body: serde_json::Value) -> (u16, serde_json::Value) {
    let (env, _) = &*ENV;
    let response = restate_e2e::raw_ingress::http_client()
        .post(format!("{}/ops.Steps/LogSteps", env.ingress_url()))
        .json(&body)
        .send()
        .await
        .expect("the ingress answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// (message, step) of each event, in order.
fn lines(events: &[Captured]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|event| {
            (
                event.fields["message"].clone(),
                event.fields.get("step").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_retried_handler_logs_each_line_once_inside_its_invocation_span() {
    let (_, captures) = &*ENV;
    let id = restate_e2e::raw_ingress::random_key();
    let answer = log_steps(json!({ "id": id, "steps": 3 })).await;
    assert_eq!(answer, (200, json!({ "steps": 3 })));

    let filtered = Captures::of_run(&captures.filtered, &id);
    let expected: Vec<(String, String)> = [
        ("before step", "1"),
        ("in step", "1"),
        ("before step", "2"),
        ("in step", "2"),
        ("before step", "3"),
        ("in step", "3"),
        ("done", ""),
    ]
    .iter()
    .map(|(message, step)| (message.to_string(), step.to_string()))
    .collect();
    assert_eq!(lines(&filtered), expected, "{filtered:#?}");

    let invocation_id = filtered[0].span["invocation.id"].clone();
    assert!(invocation_id.starts_with("inv_"), "{filtered:#?}");
    for (event, attempt) in filtered.iter().zip(["1", "1", "1", "1", "1", "1", "3"]) {
        assert_eq!(event.span["service"], "ops.Steps", "{event:?}");
        assert_eq!(event.span["handler"], "LogSteps", "{event:?}");
        assert_eq!(event.span["key"], "", "{event:?}");
        assert_eq!(event.span["invocation.id"], invocation_id, "{event:?}");
        assert_eq!(event.span["attempt"], attempt, "{event:?}");
        assert_eq!(event.span["restate.replaying"], "false", "{event:?}");
    }

    // Without the filter, the retry's replayed steps log again, marked as replaying.
    let everything = Captures::of_run(&captures.everything, &id);
    let replayed: Vec<_> = everything
        .iter()
        .filter(|event| event.span["restate.replaying"] == "true")
        .collect();
    assert_eq!(everything.len(), 12, "{everything:#?}");
    assert_eq!(replayed.len(), 5, "{everything:#?}");
    assert!(
        replayed
            .iter()
            .all(|event| ["2", "3"].contains(&event.span["attempt"].as_str()))
    );

    // The runtime's own report of each failed attempt passes the filter, the one of the
    // attempt that failed while replaying too.
    let failures = captures
        .filtered
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|event| {
            event.fields.get("message").map(String::as_str)
                == Some("invocation failed, Restate retries it")
                && event.span.get("invocation.id") == Some(&invocation_id)
        })
        .count();
    assert_eq!(failures, 2);
}

#[tokio::test]
async fn settings_given_at_bind_time_reach_the_admin_api() {
    let (env, _) = &*ENV;
    let get = |service: &'static str| async move {
        reqwest::get(format!("{}/services/{service}", env.admin_url()))
            .await
            .unwrap()
            .json::<serde_json::Value>()
            .await
            .unwrap()
    };
    let counter = get("counter.Counter").await;
    // Replaced: the proto says 1h, 20 attempts, metadata example=counter.
    assert_eq!(counter["journal_retention"], "2h", "{counter:#}");
    assert_eq!(counter["retry_policy"]["max_attempts"], 7, "{counter:#}");
    assert_eq!(
        counter["retry_policy"]["on_max_attempts"], "Kill",
        "{counter:#}"
    );
    assert_eq!(counter["metadata"]["example"], "overridden", "{counter:#}");
    assert_eq!(counter["metadata"]["environment"], "test", "{counter:#}");
    // Kept from the proto.
    assert_eq!(
        counter["retry_policy"]["exponentiation_factor"], 2.0,
        "{counter:#}"
    );
    let handler = |name: &str| {
        counter["handlers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == name)
            .unwrap_or_else(|| panic!("no handler {name}"))
            .clone()
    };
    assert_eq!(handler("Get")["inactivity_timeout"], "20s", "{counter:#}");
    assert_eq!(handler("Add")["public"], false, "{counter:#}");
    assert_eq!(handler("Get")["public"], true, "{counter:#}");

    // The ingress refuses the handler made private, and still serves the others.
    let client = restate_e2e::raw_ingress::http_client();
    let key = restate_e2e::raw_ingress::random_key();
    let add = client
        .post(format!("{}/counter.Counter/{key}/Add", env.ingress_url()))
        .json(&json!({ "delta": 1 }))
        .send()
        .await
        .unwrap();
    assert!(add.status().is_client_error(), "{}", add.status());
    let value = client
        .post(format!("{}/counter.Counter/{key}/Get", env.ingress_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(value.status().as_u16(), 200);

    let approval = get("approval.Approval").await;
    assert_eq!(
        approval["workflow_completion_retention"], "2d",
        "{approval:#}"
    );
}

/// Starts `Wait` on a fresh key and returns its invocation id and the awakeable id it waits on.
async fn waiting(ingress: &Ingress) -> (String, String) {
    let key = restate_e2e::raw_ingress::random_key();
    let waiter = WaiterIngressClient::new(ingress, &key);
    let sent = waiter.wait().send().await.expect("the wait is sent");
    let awakeable = restate_e2e::raw_ingress::eventually(
        "the awakeable id is in state",
        Duration::from_secs(30),
        || async {
            let id = waiter.awakeable_id().await.map_err(|e| e.to_string())?;
            if id.value.is_empty() {
                Err("not yet".to_owned())
            } else {
                Ok(id.value)
            }
        },
    )
    .await;
    (sent.invocation_id, awakeable)
}

#[tokio::test]
async fn awakeables_are_resolved_and_rejected_through_the_ingress_client() {
    let (env, _) = &*ENV;
    let ingress = Ingress::new(env.ingress_url());

    let (invocation, awakeable) = waiting(&ingress).await;
    ingress
        .awakeable(&awakeable)
        .resolve(&"from outside".to_owned(), Codec::Json)
        .await
        .expect("the awakeable is resolved");
    let value: StringValue = ingress
        .invocation(&invocation)
        .attach(Codec::Json)
        .await
        .expect("the wait ends with the value");
    assert_eq!(value.value, "from outside");

    let (invocation, awakeable) = waiting(&ingress).await;
    ingress
        .awakeable(&awakeable)
        .reject("no, thanks")
        .await
        .expect("the awakeable is rejected");
    let error = ingress
        .invocation(&invocation)
        .attach::<StringValue>(Codec::Json)
        .await
        .expect_err("the wait fails");
    match error {
        IngressError::Terminal(error) => assert_eq!(error.message(), "no, thanks"),
        other => panic!("expected a terminal error, got {other:?}"),
    }

    // An id that is no awakeable's is refused, not retried.
    let error = ingress
        .awakeable("sign_1nonsense")
        .resolve(&"x".to_owned(), Codec::Json)
        .await
        .expect_err("not an awakeable");
    assert!(matches!(error, IngressError::Rejected { .. }), "{error:?}");
}

#[tokio::test]
async fn a_build_ignoring_unknown_json_fields_accepts_newer_callers() {
    let answer = log_steps(json!({
        "id": restate_e2e::raw_ingress::random_key(),
        "steps": 1,
        "addedInALaterVersion": { "nested": [1, 2] },
    }))
    .await;
    assert_eq!(answer, (200, json!({ "steps": 1 })));
    // A known field of the wrong type is still malformed.
    let (status, _) = log_steps(json!({ "id": "x", "steps": "many" })).await;
    assert_eq!(status, 400);
}

/// Counters of one service, summed over snapshots (a snapshot resets what it read): by metric
/// name and the labels other than `service`, written `handler` or `handler/outcome`.
#[derive(Debug, Default)]
struct Counts(BTreeMap<(String, String), u64>);

impl Counts {
    /// Adds what was reported for `service` since the last snapshot.
    fn add_snapshot(&mut self, service: &str) {
        for (key, _, _, value) in METRICS.snapshot().into_vec() {
            let key = key.key();
            let label = |name: &str| {
                key.labels()
                    .find(|label| label.key() == name)
                    .map(|label| label.value().to_owned())
            };
            if label("service").as_deref() != Some(service) {
                continue;
            }
            let mut at = label("handler").unwrap_or_default();
            if let Some(outcome) = label("outcome") {
                at = format!("{at}/{outcome}");
            }
            let count = match value {
                DebugValue::Counter(count) => count,
                DebugValue::Histogram(samples) => samples.len() as u64,
                DebugValue::Gauge(_) => continue,
            };
            *self.0.entry((key.name().to_owned(), at)).or_default() += count;
        }
    }

    fn get(&self, name: &str, at: &str) -> u64 {
        self.0
            .get(&(name.to_owned(), at.to_owned()))
            .copied()
            .unwrap_or_default()
    }
}

#[tokio::test]
async fn attempts_and_invocations_are_counted_by_outcome() {
    let (env, _) = &*ENV;
    let ingress = Ingress::new(env.ingress_url());
    let metered = MeteredIngressClient::new(&ingress);
    // Suspends after 0.5 s of inactivity, resumes when the timer fires.
    metered
        .nap(NapRequest { millis: 1500 })
        .await
        .expect("the nap ends");
    // Fails its first attempt after one step.
    metered
        .flaky(StepsRequest {
            id: restate_e2e::raw_ingress::random_key(),
            steps: 1,
        })
        .await
        .expect("the retry succeeds");
    let refused = metered.refuse().await.expect_err("refused");
    assert!(matches!(refused, IngressError::Terminal(_)), "{refused:?}");

    // An attempt is counted as ended once its response is gone, which may be after the caller
    // has the result.
    let mut counts = Counts::default();
    restate_e2e::raw_ingress::eventually(
        "every attempt is counted as ended",
        Duration::from_secs(30),
        || {
            counts.add_snapshot("ops.Metered");
            let ended: u64 = counts
                .0
                .iter()
                .filter(|((name, _), _)| name == metric_names::ATTEMPTS_ENDED)
                .map(|(_, count)| count)
                .sum();
            std::future::ready(if ended >= 5 {
                Ok(())
            } else {
                Err(format!("{ended} of 5: {counts:?}"))
            })
        },
    )
    .await;

    let expected = [
        (metric_names::ATTEMPTS, "Nap", 2),
        (metric_names::ATTEMPTS, "Flaky", 2),
        (metric_names::ATTEMPTS, "Refuse", 1),
        (metric_names::INVOCATIONS_STARTED, "Nap", 1),
        (metric_names::INVOCATIONS_STARTED, "Flaky", 1),
        (metric_names::INVOCATIONS_STARTED, "Refuse", 1),
        (metric_names::ATTEMPTS_ENDED, "Nap/suspended", 1),
        (metric_names::ATTEMPTS_ENDED, "Nap/completed", 1),
        (metric_names::ATTEMPTS_ENDED, "Flaky/failed", 1),
        (metric_names::ATTEMPTS_ENDED, "Flaky/completed", 1),
        (metric_names::ATTEMPTS_ENDED, "Refuse/completed", 1),
        (metric_names::ATTEMPT_DURATION, "Nap/suspended", 1),
        (metric_names::ATTEMPT_DURATION, "Flaky/failed", 1),
        (metric_names::INVOCATIONS_ENDED, "Nap/success", 1),
        (metric_names::INVOCATIONS_ENDED, "Flaky/success", 1),
        (metric_names::INVOCATIONS_ENDED, "Refuse/terminal_error", 1),
        (metric_names::SUSPENSIONS, "Nap", 1),
        (metric_names::SUSPENSIONS, "Flaky", 0),
        (metric_names::REPLAYED_ENTRIES, "Refuse", 0),
    ];
    for (name, at, count) in expected {
        assert_eq!(counts.get(name, at), count, "{name} {at}: {counts:#?}");
    }
    // The resumed nap replays its sleep and the timer's completion, the retried step its run
    // and the run's result.
    assert_eq!(
        counts.get(metric_names::REPLAYED_ENTRIES, "Nap"),
        2,
        "{counts:#?}"
    );
    assert_eq!(
        counts.get(metric_names::REPLAYED_ENTRIES, "Flaky"),
        2,
        "{counts:#?}"
    );
}
