//! W3C trace context against real restate-servers, one with its tracing off and one with it
//! on, seen through an in-memory OpenTelemetry exporter: a trace started by a client of the
//! ingress continues through the handler and the services it calls.

use std::sync::LazyLock;
use std::time::Duration;

use opentelemetry::trace::{SpanId, TraceContextExt, TraceId, TracerProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use restate_e2e::e2e::{GreetRequest, MapRequest, MiscIngressClient};
use restate_runtime::ingress::Ingress;
use restate_test::TestEnvironment;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;

/// Spans the subscriber of this test binary exported, and the provider that exports them.
struct Exported {
    spans: InMemorySpanExporter,
    _provider: SdkTracerProvider,
}

static EXPORTED: LazyLock<Exported> = LazyLock::new(|| {
    let spans = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")));
    tracing::subscriber::set_global_default(subscriber).expect("no other subscriber");
    Exported {
        spans,
        _provider: provider,
    }
});

/// A server with its tracing off.
static UNTRACED: LazyLock<TestEnvironment> = LazyLock::new(|| {
    LazyLock::force(&EXPORTED);
    TestEnvironment::start(restate_e2e::endpoint()).expect("the test environment starts")
});

/// A server with its tracing on, exporting to an address where nothing listens: it still
/// propagates the trace context to the endpoint.
static TRACED: LazyLock<TestEnvironment> = LazyLock::new(|| {
    LazyLock::force(&EXPORTED);
    TestEnvironment::builder(restate_e2e::endpoint())
        .server_env("RESTATE_TRACING_ENDPOINT", "http://127.0.0.1:9")
        .start()
        .expect("the test environment starts")
});

/// Runs `call` inside a fresh client span; its trace and span ids.
async fn in_client_span<F: Future>(call: F) -> (F::Output, TraceId, SpanId) {
    let root = tracing::info_span!("client");
    let context = root.context();
    let span_context = context.span().span_context().clone();
    let output = call.instrument(root).await;
    (output, span_context.trace_id(), span_context.span_id())
}

/// The invocation spans of `service` in trace `trace`, once `count` of them are exported.
async fn invocation_spans(trace: TraceId, service: &str, count: usize) -> Vec<SpanData> {
    restate_e2e::raw_ingress::eventually(
        &format!("{count} invocation spans of {service}"),
        Duration::from_secs(30),
        || async {
            let spans: Vec<SpanData> = EXPORTED
                .spans
                .get_finished_spans()
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|span| {
                    span.name == "invocation"
                        && span.span_context.trace_id() == trace
                        && span
                            .attributes
                            .iter()
                            .any(|kv| kv.key.as_str() == "service" && kv.value.as_str() == service)
                })
                .collect();
            if spans.len() >= count {
                Ok(spans)
            } else {
                Err(format!("{} so far", spans.len()))
            }
        },
    )
    .await
}

fn attribute(span: &SpanData, key: &str) -> String {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.as_str().into_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_restate_tracing_the_client_trace_reaches_the_handler_and_its_callees() {
    let ingress = Ingress::new(UNTRACED.ingress_url());
    let (response, trace, client) = in_client_span(async {
        MiscIngressClient::new(&ingress)
            .greet_through_greeter(GreetRequest {
                name: "Ada".to_owned(),
            })
            .await
    })
    .await;
    assert_eq!(response.expect("the call succeeds").greeting, "Hello, Ada!");

    let caller = invocation_spans(trace, "e2e.Misc", 1).await;
    assert_eq!(caller.len(), 1, "{caller:#?}");
    assert_eq!(caller[0].parent_span_id, client, "{caller:#?}");
    assert_eq!(attribute(&caller[0], "handler"), "GreetThroughGreeter");
    assert!(attribute(&caller[0], "invocation.id").starts_with("inv_"));
    // The callee continues the same trace, from the context the caller was invoked with.
    let callee = invocation_spans(trace, "helloworld.Greeter", 1).await;
    assert_eq!(callee[0].parent_span_id, client, "{callee:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_handler_replays_its_traced_call() {
    let ingress = Ingress::new(UNTRACED.ingress_url());
    let key = restate_e2e::raw_ingress::random_key();
    let (response, trace, client) = in_client_span(async {
        MiscIngressClient::new(&ingress)
            .forward_map(MapRequest {
                key,
                entries: [("a".to_owned(), "1".to_owned())].into(),
            })
            .await
    })
    .await;
    // The call's headers are the same on the retry: the journal matches, no 570.
    let response = response.expect("the retry succeeds");
    assert_eq!((response.entries, response.attempts), (1, 2));
    let attempts = invocation_spans(trace, "e2e.Misc", 2).await;
    assert!(attempts.iter().all(|span| span.parent_span_id == client));
    let attempts: Vec<String> = attempts.iter().map(|s| attribute(s, "attempt")).collect();
    assert!(attempts.contains(&"2".to_owned()), "{attempts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_restate_tracing_the_handler_continues_restates_span() {
    let ingress = Ingress::new(TRACED.ingress_url());
    let (response, trace, client) = in_client_span(async {
        MiscIngressClient::new(&ingress)
            .greet_through_greeter(GreetRequest {
                name: "Grace".to_owned(),
            })
            .await
    })
    .await;
    assert_eq!(
        response.expect("the call succeeds").greeting,
        "Hello, Grace!"
    );
    // Both invocations are in the client's trace, each under a span of Restate's own.
    for service in ["e2e.Misc", "helloworld.Greeter"] {
        let spans = invocation_spans(trace, service, 1).await;
        assert_ne!(spans[0].parent_span_id, client, "{spans:#?}");
        assert_ne!(spans[0].parent_span_id, SpanId::INVALID, "{spans:#?}");
    }
}
