//! Plain services end to end: through a real restate-server's ingress to the endpoint and back.

use std::sync::LazyLock;
use std::time::Duration;

use restate_e2e::e2e::{EchoRequest, EchoResponse};
use restate_runtime::codegen::prost::Message;
use restate_test::TestEnvironment;
use serde_json::{Value, json};

/// One restate-server and endpoint for every test in this binary.
static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    TestEnvironment::start(restate_e2e::endpoint()).expect("the test environment starts")
});

fn url(path: &str) -> String {
    format!("{}/{path}", ENV.ingress_url())
}

async fn post_json(path: &str, body: &str) -> (u16, String) {
    let response = restate_e2e::raw_ingress::http_client()
        .post(url(path))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("the ingress answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn json_request_gets_the_expected_json() {
    let (status, body) = post_json("helloworld.Greeter/SayHello", r#"{"name":"Ada"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "message": "Hello, Ada!" }));
}

#[tokio::test]
async fn truncated_json_is_a_400_without_retries() {
    let (status, body) = post_json("helloworld.Greeter/SayHello", r#"{"name":"Ad"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("SayHello"), "{body}");
}

#[tokio::test]
async fn binary_protobuf_round_trips() {
    let request = EchoRequest {
        text: "über".to_owned(),
        number: -7_000_000_000,
        blob: vec![1, 2, 250],
        tags: vec!["a".to_owned(), "b".to_owned()],
    };
    let response = restate_e2e::raw_ingress::http_client()
        .post(url("e2e.BinaryEcho/Echo"))
        .header("content-type", "application/proto")
        .body(request.encode_to_vec())
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.unwrap();
    let echoed = EchoResponse::decode(bytes).expect("a binary Protobuf response");
    assert_eq!(
        echoed,
        EchoResponse {
            text: "über".to_owned(),
            number: -7_000_000_000,
            blob_sum: 253,
            tags: vec!["a".to_owned(), "b".to_owned()],
        }
    );
}

#[tokio::test]
async fn malformed_protobuf_is_a_400() {
    let response = restate_e2e::raw_ingress::http_client()
        .post(url("e2e.BinaryEcho/Echo"))
        .header("content-type", "application/proto")
        .body(vec![0x0a, 0x09, b'x'])
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status().as_u16(), 400);
}

#[tokio::test]
async fn unimplemented_handler_answers_501() {
    let (status, body) = post_json("e2e.Misc/Unimplemented", "{}").await;
    assert_eq!(status, 501, "{body}");
    assert!(body.contains("not implemented"), "{body}");
}

#[tokio::test]
async fn retryable_failure_is_retried_until_success() {
    let (status, body) = post_json("e2e.Misc/FailOnce", r#"{"key":"retry-once"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "attempts": 2 }));
}

#[tokio::test]
async fn a_panicking_handler_is_retried_and_the_endpoint_keeps_serving() {
    let (status, body) = post_json("e2e.Misc/PanicOnce", r#"{"key":"panic-once"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "attempts": 2 }));
    let (status, _) = post_json("helloworld.Greeter/SayHello", r#"{"name":"again"}"#).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn terminal_errors_reach_the_caller_with_their_code() {
    let (status, body) = post_json(
        "e2e.Misc/FailTerminally",
        r#"{"code":422,"message":"no such thing"}"#,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("no such thing"), "{body}");
}

#[tokio::test]
async fn a_service_calls_another_through_its_generated_client() {
    let (status, body) = post_json("e2e.Misc/GreetThroughGreeter", r#"{"name":"Grace"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "greeting": "Hello, Grace!" }));
}

#[tokio::test]
async fn a_context_moved_into_another_task_still_journals() {
    // Well within Restate's inactivity timeout (1 minute), which would otherwise flush
    // output the invocation forgot to send.
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
        .post(url("e2e.Misc/WorkElsewhere"))
        .header("content-type", "application/json")
        .body(r#"{"name":"Grace"}"#)
        .send()
        .await
        .expect("the invocation completes before the inactivity timeout");
    let status = response.status().as_u16();
    let body = response.text().await.expect("a body");
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "greeting": "Hello, GRACE!" }));
}

#[tokio::test]
async fn a_map_in_a_call_encodes_the_same_on_replay() {
    let entries: serde_json::Map<String, Value> = (0..32)
        .map(|i| (format!("key-{i}"), json!(format!("value-{i}"))))
        .collect();
    let request = json!({ "key": "map-replay", "entries": entries }).to_string();
    let (status, body) = post_json("e2e.Misc/ForwardMap", &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "entries": 32, "attempts": 2 }));
}

#[tokio::test]
async fn durable_sleep_completes() {
    let (status, body) = post_json("e2e.Misc/Nap", r#"{"millis":"200"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({}));
}

#[tokio::test]
async fn context_knows_invocation_id_and_headers() {
    let response = restate_e2e::raw_ingress::http_client()
        .post(url("e2e.Misc/WhoAmI"))
        .header("x-greeting", "hi there")
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status().as_u16(), 200);
    let body = parse(&response.text().await.unwrap());
    assert!(
        body["invocationId"].as_str().unwrap().starts_with("inv_"),
        "{body}"
    );
    assert_eq!(body["greetingHeader"], "hi there");
}

#[tokio::test]
async fn discovery_lists_services_with_documentation() {
    let service: Value = reqwest::get(format!("{}/services/helloworld.Greeter", ENV.admin_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(service["ty"], "Service", "{service}");
    assert_eq!(service["handlers"][0]["name"], "SayHello", "{service}");
    assert_eq!(
        service["documentation"], "Greets people by name.",
        "{service}"
    );
}

#[tokio::test]
async fn a_proto_with_only_sdk_go_annotations_serves_a_virtual_object() {
    let (status, body) = post_json("gocompat.Tally/t1/Increment", "{}").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post_json("gocompat.Tally/t1/Increment", "{}").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "total": 2 }));
    let (status, body) = post_json("gocompat.Tally/t1/Peek", "{}").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "total": 2 }));

    let service: Value = reqwest::get(format!("{}/services/gocompat.Tally", ENV.admin_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(service["ty"], "VirtualObject", "{service}");
    let peek = service["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Peek")
        .unwrap();
    assert_eq!(peek["ty"], "Shared", "{service}");
}

#[tokio::test]
async fn an_ingress_private_service_is_refused_by_the_ingress_but_callable_by_services() {
    let (status, body) = post_json("e2e.Internal/Whisper", r#"{"name":"Ada"}"#).await;
    assert!(
        (400..500).contains(&status),
        "the ingress let it through: {status} {body}"
    );
    let (status, body) = post_json("e2e.Misc/AskInternal", r#"{"name":"Ada"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "greeting": "psst, Ada" }));
}

#[tokio::test]
async fn random_draws_replay_identically_on_retries() {
    let (status, body) = post_json("e2e.Misc/RandomIsReplayed", r#"{"key":"random-replay"}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "sameOnRetry": true, "attempts": 2 }));
}

#[tokio::test]
async fn completions_yield_timers_in_completion_order_and_select_picks_the_first() {
    let (status, body) = post_json("e2e.Misc/TimerRace", r#"{"millis":["900","100","500"]}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        parse(&body),
        json!({ "completionOrder": [1, 2, 0], "selectWinner": 1 })
    );
}

#[tokio::test]
async fn a_malformed_field_is_named_in_the_400() {
    let (status, body) = post_json("e2e.Misc/Nap", r#"{"millis": true}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("field `millis` (uint64"), "{body}");
    let (status, body) = post_json("e2e.Misc/Nap", r#"{"millis": "18446744073709551616"}"#).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("from 0 to 2^64-1"), "{body}");
}

#[tokio::test]
async fn null_fields_are_their_defaults() {
    // As the TypeScript SDK sends them: `JSON.stringify` keeps nulls.
    let (status, body) =
        post_json("e2e.Misc/CountEntries", r#"{"key": null, "entries": null}"#).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(parse(&body), json!({ "attempts": 1 }));
}

#[tokio::test]
async fn an_empty_input_takes_no_body_or_an_empty_object_only() {
    for body in ["{{{", "[]", r#"{"unexpected": 1}"#, "7"] {
        let (status, answer) = post_json("e2e.Misc/WhoAmI", body).await;
        assert_eq!(status, 400, "{body}: {answer}");
    }
    let (status, answer) = post_json("e2e.Misc/WhoAmI", "{}").await;
    assert_eq!(status, 200, "{answer}");
    let response = restate_e2e::raw_ingress::http_client()
        .post(url("e2e.Misc/WhoAmI"))
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn discovery_answers_curl_s_default_accept_header() {
    let response = restate_e2e::raw_ingress::http_client()
        .get(format!("{}/discover", ENV.endpoint_url()))
        .header("accept", "*/*")
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.restate.endpointmanifest.v4+json"
    );
}

#[tokio::test]
async fn an_unknown_json_field_is_a_400_naming_it() {
    let (status, body) = post_json(
        "helloworld.Greeter/SayHello",
        r#"{"name":"Ada","nmae":"Ada"}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nmae"), "{body}");
}
