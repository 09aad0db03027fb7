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

/// A stand-in for the Lambda Runtime API: hands out `events` one by one on `next`, and passes
/// on what the function posts back (path and body).
mod runtime_api {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use tokio::sync::mpsc;

    pub struct RuntimeApi {
        events: Mutex<VecDeque<(String, String)>>,
        posted: mpsc::UnboundedSender<(String, Bytes)>,
    }

    /// Serves the API on a loopback port; its address and what the function posts.
    pub async fn start(
        events: Vec<String>,
    ) -> (SocketAddr, mpsc::UnboundedReceiver<(String, Bytes)>) {
        let (posted, received) = mpsc::unbounded_channel();
        let api = Arc::new(RuntimeApi {
            events: Mutex::new(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(index, event)| (format!("request-{index}"), event))
                    .collect(),
            ),
            posted,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = Arc::clone(&api);
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&api), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (address, received)
    }

    async fn answer(
        api: Arc<RuntimeApi>,
        request: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        let path = request.uri().path().to_owned();
        if path.ends_with("/runtime/invocation/next") {
            let next = api.events.lock().unwrap().pop_front();
            let Some((id, event)) = next else {
                // No more events: the function waits, as on a real Lambda between requests.
                return std::future::pending().await;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            return Ok(Response::builder()
                .header("lambda-runtime-aws-request-id", id)
                .header("lambda-runtime-deadline-ms", deadline.to_string())
                .header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:eu-central-1:123456789012:function:greeter:1",
                )
                .body(Full::new(Bytes::from(event)))
                .unwrap());
        }
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let _ = api.posted.send((path, body));
        Ok(Response::builder()
            .status(202)
            .body(Full::new(Bytes::new()))
            .unwrap())
    }
}

/// The function process, killed when the test ends.
struct Function(std::process::Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_runtime_serves_the_recorded_events() {
    let fixture = |name: &str| {
        std::fs::read_to_string(format!(
            "{}/fixtures/lambda/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let events = vec![
        fixture("discover"),
        fixture("invoke_after_the_run"),
        r#"{"path":"/discover","httpMethod":"GET","body":"%%%","isBase64Encoded":true}"#.to_owned(),
    ];
    let (address, mut posted) = runtime_api::start(events).await;
    let _function = Function(
        std::process::Command::new(env!("CARGO_BIN_EXE_lambda-endpoint"))
            .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "greeter")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "stream")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "group")
            .spawn()
            .expect("the function starts"),
    );
    let mut responses = Vec::new();
    for _ in 0..3 {
        let (path, body) = tokio::time::timeout(std::time::Duration::from_secs(60), posted.recv())
            .await
            .expect("the function answers")
            .expect("the API runs");
        responses.push((path, body));
    }
    let response = |index: usize| -> LambdaResponse {
        let (path, body) = &responses[index];
        assert_eq!(
            path,
            &format!("/2018-06-01/runtime/invocation/request-{index}/response")
        );
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("{e}: {body:?}"))
    };

    let discovery = response(0);
    let manifest: Value = serde_json::from_slice(&discovery.body_bytes().unwrap()).unwrap();
    assert_eq!(manifest["protocolMode"], "REQUEST_RESPONSE");

    let invocation = response(1);
    assert_eq!(invocation.status_code, 200);
    let body = invocation.body_bytes().unwrap();
    assert_eq!(frame_types(&body), [OUTPUT_COMMAND, END]);

    assert_eq!(response(2).status_code, 400);
}
