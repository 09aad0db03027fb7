//! Endpoint interceptors against a real restate-server: an auth check refusing an attempt,
//! headers added to outgoing calls arriving at the callee, and what each hook sees on a replay.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use restate_e2e::TimingService;
use restate_e2e::e2e::TimingServer;
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_runtime::intercept::{Attempt, Interceptor, OutgoingRequest, RunFuture, RunInfo};
use restate_runtime::service::HandlerFuture;
use restate_runtime::{Endpoint, TerminalError};
use restate_test::TestEnvironment;

/// How often each hook ran, by the `x-tag` header of the invocation it ran for.
#[derive(Debug, Default, Clone, PartialEq)]
struct Seen {
    attempts: usize,
    runs: usize,
    requests: usize,
}

static SEEN: LazyLock<Mutex<HashMap<String, Seen>>> = LazyLock::new(Default::default);

fn count(tag: Option<&str>, hook: impl FnOnce(&mut Seen)) {
    if let Some(tag) = tag {
        hook(SEEN.lock().unwrap().entry(tag.to_owned()).or_default());
    }
}

fn seen(tag: &str) -> Seen {
    SEEN.lock().unwrap().get(tag).cloned().unwrap_or_default()
}

/// Refuses invocations carrying `x-deny`, passes `x-tenant` on as the callee's `x-greeting`,
/// and counts what it sees.
struct Gatekeeper;

impl Interceptor for Gatekeeper {
    fn attempt(&self, attempt: &Attempt, handler: HandlerFuture) -> HandlerFuture {
        count(attempt.header("x-tag"), |seen| seen.attempts += 1);
        if attempt.header("x-deny").is_some() {
            return Box::pin(async { Err(TerminalError::new(401, "not authorized").into()) });
        }
        handler
    }

    fn run(&self, run: &RunInfo, action: RunFuture) -> RunFuture {
        count(run.header("x-tag"), |seen| seen.runs += 1);
        action
    }

    fn request(&self, request: &mut OutgoingRequest<'_>) -> Result<(), TerminalError> {
        count(request.invocation_header("x-tag"), |seen| {
            seen.requests += 1
        });
        if let Some(tenant) = request.invocation_header("x-tenant").map(str::to_owned) {
            request.set_header("x-greeting", format!("tenant {tenant}"));
        }
        Ok(())
    }
}

static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    let endpoint = Endpoint::builder()
        .bind(TimingServer::new(TimingService))
        .interceptor(Gatekeeper)
        .build();
    TestEnvironment::start(endpoint).expect("the test environment starts")
});

fn ingress() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_auth_interceptor_refuses_the_invocation() {
    let tag = random_key();
    let refused = ingress()
        .post(
            "e2e.Timing/Facts",
            b"{}".to_vec(),
            &[("x-deny", "1"), ("x-tag", &tag)],
        )
        .await
        .unwrap();
    assert_eq!(
        refused.status,
        401,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert!(String::from_utf8_lossy(&refused.body).contains("not authorized"));
    // A terminal refusal: one attempt, no retries.
    assert_eq!(seen(&tag).attempts, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_added_to_calls_reach_the_callee_and_replays_run_the_documented_hooks() {
    let tag = random_key();
    let answer = ingress()
        .post(
            "e2e.Timing/InterceptedWork",
            b"{}".to_vec(),
            &[("x-tenant", "acme"), ("x-tag", &tag)],
        )
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert_eq!(answer.status, 200, "{body}");
    let facts: serde_json::Value = serde_json::from_str(&body).unwrap();
    // The callee (Facts, a second invocation, without x-tag of its own) got the header.
    assert_eq!(facts["greetingHeader"], "tenant acme", "{body}");
    // Two attempts of InterceptedWork (the first failed after its run and its call): the
    // attempt and request hooks ran on both, the run hook only when the run executed; the
    // same header on the replayed call kept the journal intact.
    assert_eq!(
        seen(&tag),
        Seen {
            attempts: 2,
            runs: 1,
            requests: 2,
        }
    );
}
