//! The endpoint as a Lambda function, driven in process with events recorded from
//! restate-server 1.7.12 (`tests/fixtures/lambda/`): the discovery request, and the two
//! attempts of a `helloworld.Greeter/SayHello` invocation in request-response mode (the first
//! runs the greeter's `run` step, the second replays it and answers).

use restate_runtime::{Endpoint, LambdaRequest, LambdaResponse};
use serde_json::Value;

fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(greeter::helloworld::GreeterServer::new(greeter::MyGreeter))
        .build()
}

fn event(name: &str) -> LambdaRequest {
    let path = format!("{}/fixtures/lambda/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The message types of the protocol frames in `body`.
fn frame_types(body: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    let mut rest = body;
    while rest.len() >= 8 {
        types.push(u16::from_be_bytes([rest[0], rest[1]]));
        let length = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        rest = &rest[(8 + length).min(rest.len())..];
    }
    assert!(rest.is_empty(), "a truncated frame");
    types
}

const RUN_COMMAND: u16 = 0x0411;
const PROPOSE_RUN_COMPLETION: u16 = 0x0005;
const OUTPUT_COMMAND: u16 = 0x0401;
const SUSPENSION: u16 = 0x0001;
const END: u16 = 0x0003;

async fn invoke(name: &str) -> (LambdaResponse, Vec<u8>) {
    let response = endpoint().handle_lambda(event(name)).await;
    assert_eq!(response.status_code, 200, "{response:?}");
    assert!(response.is_base64_encoded);
    let body = response.body_bytes().expect("a base64 body");
    (response, body)
}

#[tokio::test]
async fn discovery_reports_request_response_mode() {
    let response = endpoint().handle_lambda(event("discover")).await;
    assert_eq!(response.status_code, 200, "{response:?}");
    assert_eq!(
        response.headers["content-type"],
        "application/vnd.restate.endpointmanifest.v4+json"
    );
    let manifest: Value = serde_json::from_slice(&response.body_bytes().unwrap()).unwrap();
    assert_eq!(manifest["protocolMode"], "REQUEST_RESPONSE");
    assert_eq!(manifest["services"][0]["name"], "helloworld.Greeter");
}

#[tokio::test]
async fn the_first_attempt_runs_the_step_and_suspends_for_its_result() {
    let (response, body) = invoke("invoke_first_attempt").await;
    assert_eq!(
        response.headers["content-type"],
        "application/vnd.restate.invocation.v6"
    );
    let types = frame_types(&body);
    assert!(types.contains(&RUN_COMMAND), "{types:04x?}");
    assert!(types.contains(&PROPOSE_RUN_COMPLETION), "{types:04x?}");
    assert_eq!(types.last(), Some(&SUSPENSION), "{types:04x?}");
    assert!(!types.contains(&OUTPUT_COMMAND), "{types:04x?}");
}

#[tokio::test]
async fn the_next_attempt_replays_the_step_and_answers() {
    let (_, body) = invoke("invoke_after_the_run").await;
    let types = frame_types(&body);
    assert_eq!(types, [OUTPUT_COMMAND, END], "{types:04x?}");
    let needle = br#"{"message":"Hello, Ada!"}"#;
    assert!(
        body.windows(needle.len()).any(|window| window == needle),
        "{body:?}"
    );
}

#[tokio::test]
async fn malformed_events_get_a_status_not_a_panic() {
    let mut not_base64 = event("invoke_first_attempt");
    not_base64.body = Some("%%% not base64 %%%".to_owned());
    assert_eq!(endpoint().handle_lambda(not_base64).await.status_code, 400);

    let mut unknown = event("invoke_first_attempt");
    unknown.path = Some("/invoke/nope.Nope/Nothing".to_owned());
    assert_eq!(endpoint().handle_lambda(unknown).await.status_code, 404);

    let mut bad_header = event("discover");
    bad_header
        .headers
        .insert("bad header name".to_owned(), "x".to_owned());
    assert_eq!(endpoint().handle_lambda(bad_header).await.status_code, 400);

    let garbage: LambdaRequest = serde_json::from_str(
        r#"{"path":"/invoke/helloworld.Greeter/SayHello","httpMethod":"POST","body":"AAAA","isBase64Encoded":true}"#,
    )
    .unwrap();
    let response = endpoint().handle_lambda(garbage).await;
    assert!(response.status_code >= 400, "{response:?}");
}
