//! The generated gRPC gateways against a real restate-server, called by plain tonic clients
//! generated from the same protos: every call is a durable invocation through the ingress.

use std::net::SocketAddr;
use std::sync::LazyLock;

use approval::approval::ApprovalGateway;
use counter::counter::CounterGateway;
use greeter::helloworld::GreeterGateway;
use restate_e2e::e2e::MiscGateway;
use restate_e2e::grpc::approval::approval_client::ApprovalClient;
use restate_e2e::grpc::approval::{ApprovalRequest, Decision};
use restate_e2e::grpc::counter::counter_client::CounterClient;
use restate_e2e::grpc::counter::{AddRequest, CounterValue};
use restate_e2e::grpc::e2e::misc_client::MiscClient;
use restate_e2e::grpc::e2e::{FailRequest, NapRequest};
use restate_e2e::grpc::helloworld::HelloRequest;
use restate_e2e::grpc::helloworld::greeter_client::GreeterClient;
use restate_e2e::raw_ingress::{RawIngress, random_key};
use restate_runtime::grpc::Gateway;
use restate_runtime::ingress::Ingress;
use restate_runtime::{Codec, Endpoint};
use restate_test::TestEnvironment;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};

/// A restate-server with the examples and `e2e.Misc` registered, and a gateway for them.
struct Setup {
    env: TestEnvironment,
    gateway: SocketAddr,
    _served: Served,
}

/// A gateway served from a runtime of its own, stopped on drop.
struct Served {
    runtime: Option<tokio::runtime::Runtime>,
    address: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let endpoint = Endpoint::builder()
        .bind(greeter::helloworld::GreeterServer::new(greeter::MyGreeter))
        .bind(counter::counter::CounterServer::new(counter::MyCounter))
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .bind(approval::approval::ApprovalServer::new(
            approval::MyApproval::default(),
        ))
        .bind(restate_e2e::e2e::MiscServer::new(
            restate_e2e::MiscService::default(),
        ))
        .bind(restate_e2e::e2e::InternalServer::new(
            restate_e2e::InternalService,
        ))
        .build();
    let env = TestEnvironment::start(endpoint).expect("the test environment starts");
    // The gateway's own transport to a plain-http ingress (hyper's pooled client).
    let served = serve_gateway(env.ingress_url(), |builder| {
        builder
            .add::<GreeterGateway>()
            .add::<CounterGateway>()
            .add::<ApprovalGateway>()
            .add::<MiscGateway>()
            .add::<restate_e2e::e2e::InternalGateway>()
            .grpc_web(true)
    });
    Setup {
        env,
        gateway: served.address,
        _served: served,
    }
});

/// Serves a gateway forwarding to `ingress_url` on a free port, from a runtime of its own.
fn serve_gateway(
    ingress_url: &str,
    configure: impl FnOnce(
        restate_runtime::grpc::GatewayBuilder,
    ) -> restate_runtime::grpc::GatewayBuilder
    + Send
    + 'static,
) -> Served {
    let ingress_url = ingress_url.to_owned();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let address = listener.local_addr().expect("an address");
        let gateway = configure(Gateway::builder(ingress_url)).build();
        runtime.spawn(gateway.serve_with_shutdown(listener, std::future::pending()));
        Served {
            runtime: Some(runtime),
            address,
        }
    })
    .join()
    .expect("the gateway starts")
}

async fn channel_to(address: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{address}"))
        .expect("a URL")
        .connect()
        .await
        .expect("the gateway accepts connections")
}

async fn channel() -> Channel {
    channel_to(SETUP.gateway).await
}

fn ingress() -> RawIngress {
    RawIngress::new(SETUP.env.ingress_url(), SETUP.env.admin_url())
}

/// `request` with the metadata `name: value`.
fn with<T>(mut request: Request<T>, name: &'static str, value: &str) -> Request<T> {
    request.metadata_mut().insert(
        name,
        MetadataValue::try_from(value).expect("ASCII metadata"),
    );
    request
}

#[tokio::test]
async fn a_plain_service_answers() {
    let mut greeter = GreeterClient::new(channel().await);
    let response = greeter
        .say_hello(HelloRequest {
            name: "Ada".to_owned(),
        })
        .await
        .expect("the call succeeds");
    assert_eq!(response.into_inner().message, "Hello, Ada!");
}

#[tokio::test]
async fn objects_take_their_key_from_the_key_field_or_metadata() {
    let key = random_key();
    let channel = channel().await;
    let adds = (1..=200).map(|delta| {
        let mut counter = CounterClient::new(channel.clone());
        let key = key.clone();
        tokio::spawn(async move {
            counter
                .add(AddRequest {
                    delta,
                    counter: key,
                })
                .await
                .map(|response| response.into_inner().value)
        })
    });
    let mut values = Vec::new();
    for add in adds {
        values.push(add.await.expect("the task").expect("the add succeeds"));
    }
    // Exclusive handlers ran one at a time: every partial sum was seen once.
    values.sort_unstable();
    values.dedup();
    assert_eq!(values.len(), 200);
    let mut counter = CounterClient::new(channel);
    let total = counter
        .get(with(Request::new(()), "x-restate-key", &key))
        .await
        .expect("the read succeeds")
        .into_inner();
    assert_eq!(total, CounterValue { value: 20_100 });
}

#[tokio::test]
async fn a_keyed_call_without_a_key_is_an_invalid_argument() {
    let mut counter = CounterClient::new(channel().await);
    let status = counter.get(()).await.expect_err("no key");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("x-restate-key"), "{status:?}");
    let status = counter
        .get(with(Request::new(()), "x-restate-key", ""))
        .await
        .expect_err("an empty key");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("x-restate-key"), "{status:?}");
    let status = counter
        .add(AddRequest {
            delta: 1,
            counter: String::new(),
        })
        .await
        .expect_err("an empty key field");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("key field"), "{status:?}");
}

#[tokio::test]
async fn a_workflow_run_is_submitted_and_attached() {
    let id = random_key();
    let channel = channel().await;
    let mut runner = ApprovalClient::new(channel.clone());
    let run = {
        let id = id.clone();
        tokio::spawn(async move {
            let request = ApprovalRequest {
                title: "laptop".to_owned(),
            };
            runner
                .run(with(Request::new(request), "x-restate-key", &id))
                .await
        })
    };
    let mut decider = ApprovalClient::new(channel.clone());
    let decision = Decision {
        approved: true,
        by: "grace".to_owned(),
    };
    // The run may not have created the promise yet; resolving it first is fine for a workflow.
    decider
        .decide(with(Request::new(decision), "x-restate-key", &id))
        .await
        .expect("the decision is recorded");
    let outcome = run
        .await
        .expect("the task")
        .expect("the run finishes")
        .into_inner();
    assert!(outcome.approved);
    assert_eq!(
        (outcome.title.as_str(), outcome.by.as_str()),
        ("laptop", "grace")
    );

    // Calling the run again with the same id attaches to the same result.
    let mut again = ApprovalClient::new(channel);
    let request = ApprovalRequest {
        title: "ignored".to_owned(),
    };
    let repeated = again
        .run(with(Request::new(request), "x-restate-key", &id))
        .await
        .expect("the second call attaches")
        .into_inner();
    assert_eq!(repeated, outcome);
}

#[tokio::test]
async fn an_idempotency_key_runs_the_handler_once() {
    let key = random_key();
    let mut counter = CounterClient::new(channel().await);
    let add = || {
        let request = Request::new(AddRequest {
            delta: 7,
            counter: key.clone(),
        });
        with(request, "idempotency-key", "add-once")
    };
    let first = counter
        .add(add())
        .await
        .expect("the first add")
        .into_inner();
    let second = counter
        .add(add())
        .await
        .expect("the second add")
        .into_inner();
    assert_eq!(first, CounterValue { value: 7 });
    assert_eq!(second, first);
    let total = counter
        .get(with(Request::new(()), "x-restate-key", &key))
        .await
        .expect("the read")
        .into_inner();
    assert_eq!(total.value, 7, "the handler ran once");
}

#[tokio::test]
async fn a_one_way_send_answers_with_the_invocation_id() {
    let key = random_key();
    let mut counter = CounterClient::new(channel().await);
    let request = Request::new(AddRequest {
        delta: 5,
        counter: key,
    });
    let response = counter
        .add(with(request, "x-restate-send", "true"))
        .await
        .expect("Restate accepts the invocation");
    let id = response
        .metadata()
        .get("x-restate-invocation-id")
        .expect("the invocation id")
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(id.starts_with("inv_"), "{id}");
    assert_eq!(response.into_inner(), CounterValue::default());
    let attached: counter::counter::CounterValue = Ingress::new(SETUP.env.ingress_url())
        .invocation(&id)
        .attach(Codec::Json)
        .await
        .expect("the invocation finishes");
    assert_eq!(attached.value, 5);
}

#[tokio::test]
async fn terminal_errors_map_to_grpc_statuses() {
    let table = [
        (400, Code::InvalidArgument),
        (401, Code::Unauthenticated),
        (403, Code::PermissionDenied),
        (404, Code::NotFound),
        (408, Code::DeadlineExceeded),
        (409, Code::Aborted),
        (412, Code::FailedPrecondition),
        (418, Code::FailedPrecondition),
        (429, Code::ResourceExhausted),
        (499, Code::Cancelled),
        (500, Code::Internal),
        (501, Code::Unimplemented),
        (503, Code::Unavailable),
        (504, Code::DeadlineExceeded),
        (570, Code::Internal),
    ];
    let mut misc = MiscClient::new(channel().await);
    for (restate, grpc) in table {
        let status = misc
            .fail_terminally(FailRequest {
                code: restate,
                message: format!("failed with {restate}"),
            })
            .await
            .expect_err("the handler fails");
        assert_eq!(status.code(), grpc, "{restate}: {status:?}");
        assert_eq!(status.message(), format!("failed with {restate}"));
        assert_eq!(
            status
                .metadata()
                .get("x-restate-code")
                .map(|v| v.to_str().unwrap()),
            Some(restate.to_string().as_str())
        );
    }
    let status = misc.unimplemented(()).await.expect_err("not implemented");
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[tokio::test]
async fn refusals_of_the_ingress_are_statuses_too() {
    // `e2e.Internal` is private: the ingress refuses it before any handler runs.
    let mut internal =
        restate_e2e::grpc::e2e::internal_client::InternalClient::new(channel().await);
    let status = internal
        .whisper(restate_e2e::grpc::e2e::GreetRequest {
            name: "x".to_owned(),
        })
        .await
        .expect_err("refused");
    // Restate refuses with 400, which maps as every 400 does.
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("not public"), "{status:?}");
    assert_eq!(status.metadata().get("x-restate-code").unwrap(), "400");
}

#[tokio::test]
async fn a_restate_that_cannot_be_reached_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("an address");
    let served = serve_gateway(&format!("http://{closed}"), |builder| {
        builder.add::<GreeterGateway>()
    });
    let gateway = served.address;
    let mut greeter = GreeterClient::new(channel_to(gateway).await);
    let status = greeter
        .say_hello(HelloRequest::default())
        .await
        .expect_err("nothing listens");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");

    let mut health = tonic_health::pb::health_client::HealthClient::new(channel_to(gateway).await);
    let reported = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the health service answers")
        .into_inner();
    assert_eq!(
        reported.status,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
}

#[tokio::test]
async fn a_passed_deadline_is_deadline_exceeded_and_the_invocation_goes_on() {
    // The premise is that the call reached Restate before its deadline passed: a first nap
    // warms the path (a just-started server, the gateway's connection to the ingress), and
    // the deadline leaves a slow machine a second.
    MiscClient::new(channel().await)
        .nap(NapRequest { millis: 0 })
        .await
        .expect("a nap without a deadline");
    // Sent raw: a tonic client enforces the deadline it sends on its own, and would give up
    // before the gateway's answer arrives.
    let idempotency_key = random_key();
    let nap = prost::Message::encode_to_vec(&NapRequest { millis: 3_000 });
    let (http, grpc) = raw_grpc(
        "/e2e.Misc/Nap",
        "application/grpc",
        frame(&nap),
        &[
            ("grpc-timeout", "1000m"),
            ("idempotency-key", &idempotency_key),
        ],
    )
    .await;
    assert_eq!((http, grpc), (200, Some(Code::DeadlineExceeded as i32)));
    // The invocation was not abandoned: attaching by its idempotency key gets its result.
    let ingress = Ingress::new(SETUP.env.ingress_url());
    restate_e2e::e2e::MiscIngressClient::new(&ingress)
        .nap(restate_e2e::e2e::NapRequest { millis: 3_000 })
        .idempotency_key(idempotency_key)
        .attach()
        .await
        .unwrap_or_else(|e| panic!("the nap finishes: {e}"));
}

/// A gRPC message frame: uncompressed, length, bytes.
fn frame(message: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8];
    body.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    body.extend_from_slice(message);
    body
}

#[tokio::test]
async fn metadata_reaches_the_handler_as_headers() {
    let mut misc = MiscClient::new(channel().await);
    let who = misc
        .who_am_i(with(Request::new(()), "x-greeting", "hello over grpc"))
        .await
        .expect("the call succeeds")
        .into_inner();
    assert_eq!(who.greeting_header, "hello over grpc");
    assert!(who.invocation_id.starts_with("inv_"));
}

#[tokio::test]
async fn reflection_lists_and_describes_the_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let mut reflection = ServerReflectionClient::new(channel().await);
    let ask = |request: MessageRequest| {
        tokio_stream_once(ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        })
    };
    let mut answers = reflection
        .server_reflection_info(ask(MessageRequest::ListServices(String::new())))
        .await
        .expect("reflection answers")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("a response")
        .expect("one message");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "helloworld.Greeter",
        "counter.Counter",
        "approval.Approval",
        "e2e.Misc",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let mut answers = reflection
        .server_reflection_info(ask(MessageRequest::FileContainingSymbol(
            "counter.Counter".to_owned(),
        )))
        .await
        .expect("reflection answers")
        .into_inner();
    let answer = answers
        .message()
        .await
        .expect("a response")
        .expect("one message");
    let Some(MessageResponse::FileDescriptorResponse(files)) = answer.message_response else {
        panic!("not a file descriptor: {answer:?}");
    };
    let files: Vec<prost_types::FileDescriptorProto> = files
        .file_descriptor_proto
        .iter()
        .map(|bytes| prost::Message::decode(bytes.as_slice()).expect("a file descriptor"))
        .collect();
    let counter = files
        .iter()
        .find(|file| file.name() == "counter.proto")
        .expect("counter.proto");
    let service = &counter.service[0];
    assert_eq!(service.name(), "Counter");
    let rpcs: Vec<&str> = service.method.iter().map(|m| m.name()).collect();
    assert_eq!(rpcs, ["Add", "SlowAdd", "Get", "Reset"]);

    // The older protocol version too, as older grpcurl builds speak it.
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as Alpha;
    let mut alpha = Alpha::new(channel().await);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let mut answers = alpha
        .server_reflection_info(tokio_stream_once(request))
        .await
        .expect("v1alpha reflection answers")
        .into_inner();
    assert!(answers.message().await.expect("a response").is_some());
}

/// A request stream of one message.
fn tokio_stream_once<T: Send + 'static>(
    message: T,
) -> impl tonic::codegen::tokio_stream::Stream<Item = T> + Send + 'static {
    tonic::codegen::tokio_stream::iter([message])
}

#[tokio::test]
async fn health_reports_serving_while_the_ingress_is() {
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel().await);
    for service in ["", "helloworld.Greeter", "counter.Counter"] {
        let reported = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .expect("the health service answers")
            .into_inner();
        assert_eq!(
            reported.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
}

/// Sends `body` as a gRPC call to `path` over HTTP/2: the HTTP status, and the `grpc-status`
/// of a trailers-only answer (the form errors take).
async fn raw_grpc(
    path: &str,
    content_type: &str,
    body: Vec<u8>,
    metadata: &[(&str, &str)],
) -> (u16, Option<i32>) {
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("a client");
    let mut request = client
        .post(format!("http://{}{path}", SETUP.gateway))
        .header("content-type", content_type)
        .header("te", "trailers");
    for (name, value) in metadata {
        request = request.header(*name, *value);
    }
    let response = request
        .body(body)
        .send()
        .await
        .expect("the gateway answers");
    let grpc_status = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status().as_u16(), grpc_status)
}

#[tokio::test]
async fn garbage_never_reaches_restate() {
    let key = random_key();
    // A frame header announcing more bytes than follow, and bytes that are no message.
    let cases = [
        (
            "/counter.Counter/Get",
            "application/grpc",
            vec![0, 0, 0, 0, 9, 1, 2],
        ),
        (
            "/counter.Counter/Get",
            "application/grpc",
            vec![0, 0, 0, 0, 3, 0xff, 0xff, 0xff],
        ),
        (
            "/counter.Counter/Nope",
            "application/grpc",
            vec![0, 0, 0, 0, 0],
        ),
        ("/counter.Counter/Get", "text/plain", b"hello".to_vec()),
    ];
    for (path, content_type, body) in cases {
        let (http, grpc) = raw_grpc(path, content_type, body, &[("x-restate-key", &key)]).await;
        assert!(
            grpc.is_some_and(|code| code != 0) || http >= 400,
            "{path} {content_type}: HTTP {http}, grpc-status {grpc:?}"
        );
    }
    let rows = ingress()
        .query(&format!(
            "SELECT id FROM sys_invocation WHERE target_service_key = '{key}'"
        ))
        .await;
    assert!(rows.is_empty(), "invocations reached Restate: {rows:?}");
}

#[tokio::test]
async fn only_grpc_calls_reach_restate() {
    let key = random_key();
    let get = "/counter.Counter/Get";
    // Not gRPC: other content types, over HTTP/1.1 and HTTP/2, and gRPC over HTTP/1.1.
    for content_type in ["text/plain", "application/json", ""] {
        let mut request = reqwest::Client::new()
            .post(format!("http://{}{get}", SETUP.gateway))
            .header("x-restate-key", &key)
            .body("{}");
        if !content_type.is_empty() {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("the gateway answers");
        assert_eq!(response.status().as_u16(), 415, "HTTP/1.1 {content_type:?}");
    }
    let (http, _) = raw_grpc(
        get,
        "application/json",
        b"{}".to_vec(),
        &[("x-restate-key", &key)],
    )
    .await;
    assert_eq!(http, 415, "HTTP/2 application/json");
    let response = reqwest::Client::new()
        .post(format!("http://{}{get}", SETUP.gateway))
        .header("content-type", "application/grpc")
        .header("x-restate-key", &key)
        .body(frame(&[]))
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status().as_u16(), 505, "gRPC over HTTP/1.1");
    // gRPC, but two messages in a unary call, or one larger than the gateway accepts.
    let two = [frame(&[]), frame(&[])].concat();
    let (http, grpc) = raw_grpc(get, "application/grpc", two, &[("x-restate-key", &key)]).await;
    assert_eq!(
        (http, grpc),
        (200, Some(Code::Internal as i32)),
        "two messages"
    );
    let mut oversize = vec![0u8];
    oversize.extend_from_slice(&(5u32 << 20).to_be_bytes());
    let (http, grpc) = raw_grpc(
        get,
        "application/grpc",
        oversize,
        &[("x-restate-key", &key)],
    )
    .await;
    assert_eq!(
        (http, grpc),
        (200, Some(Code::ResourceExhausted as i32)),
        "a 5 MiB message"
    );
    let rows = ingress()
        .query(&format!(
            "SELECT id FROM sys_invocation WHERE target_service_key = '{key}'"
        ))
        .await;
    assert!(rows.is_empty(), "invocations reached Restate: {rows:?}");
    // The same call done right goes through.
    let (http, grpc) = raw_grpc(
        get,
        "application/grpc",
        frame(&[]),
        &[("x-restate-key", &key)],
    )
    .await;
    assert_eq!(http, 200);
    assert!(grpc.is_none_or(|code| code == 0), "grpc-status {grpc:?}");
}

#[tokio::test]
async fn grpc_web_calls_work_over_http1() {
    let message = prost::Message::encode_to_vec(&HelloRequest {
        name: "Web".to_owned(),
    });
    let body = frame(&message);
    let response = reqwest::Client::new()
        .post(format!(
            "http://{}/helloworld.Greeter/SayHello",
            SETUP.gateway
        ))
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .body(body)
        .send()
        .await
        .expect("the gateway answers");
    assert_eq!(response.status().as_u16(), 200);
    let bytes = response.bytes().await.expect("a body");
    // A data frame (flag 0) with the response, then a trailers frame (flag 0x80).
    assert_eq!(bytes[0], 0, "{bytes:?}");
    let length = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
    let reply: restate_e2e::grpc::helloworld::HelloResponse =
        prost::Message::decode(&bytes[5..5 + length]).expect("a HelloResponse");
    assert_eq!(reply.message, "Hello, Web!");
    let trailers = String::from_utf8_lossy(&bytes[5 + length + 5..]);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
}

#[tokio::test]
async fn raw_handlers_take_and_return_bytes_values() {
    let mut misc = MiscClient::new(channel().await);
    let reversed = misc
        .raw_reverse(vec![1u8, 2, 3, 250])
        .await
        .expect("the raw handler answers")
        .into_inner();
    assert_eq!(reversed, [250u8, 3, 2, 1]);
    // Straight through the ingress, the same handler takes and returns the bare bytes.
    let response = restate_e2e::raw_ingress::http_client()
        .post(format!("{}/e2e.Misc/RawReverse", SETUP.env.ingress_url()))
        .header("content-type", "text/plain")
        .body("abc")
        .send()
        .await
        .expect("the ingress answers");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.bytes().await.unwrap(), "cba");
}

/// A second gateway on the same ingress with the call policy set: a token check, a default
/// deadline, a 1 KiB message limit and CORS for one origin.
static GUARDED: LazyLock<Served> = LazyLock::new(|| {
    serve_gateway(SETUP.env.ingress_url(), |builder| {
        builder
            .add::<GreeterGateway>()
            .add::<MiscGateway>()
            .grpc_web(true)
            .interceptor(
                |request: Request<()>| match request.metadata().get("authorization") {
                    Some(token) if token == "Bearer team-token" => Ok(request),
                    _ => Err(tonic::Status::unauthenticated("a team token is needed")),
                },
            )
            .default_deadline(std::time::Duration::from_millis(1500))
            .max_message_size(1024)
            .cors_allow_origin("https://app.example")
    })
});

fn authorized<T>(message: T) -> Request<T> {
    with(Request::new(message), "authorization", "Bearer team-token")
}

#[tokio::test]
async fn the_gateways_interceptor_refuses_calls_without_a_token_but_not_health_checks() {
    let channel = channel_to(GUARDED.address).await;
    let mut greeter = GreeterClient::new(channel.clone());
    let refused = greeter
        .say_hello(HelloRequest {
            name: "Eve".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
    let answered = greeter
        .say_hello(authorized(HelloRequest {
            name: "Ada".to_owned(),
        }))
        .await
        .expect("a call with the token passes")
        .into_inner();
    assert_eq!(answered.message, "Hello, Ada!");
    // A load balancer's health check needs no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health answers without a token");
}

#[tokio::test]
async fn the_gateways_limits_are_settings() {
    let channel = channel_to(GUARDED.address).await;
    // Over the message limit: refused from the length prefix, before it is read.
    let too_big = GreeterClient::new(channel.clone())
        .say_hello(authorized(HelloRequest {
            name: "x".repeat(2048),
        }))
        .await
        .unwrap_err();
    assert_eq!(too_big.code(), Code::ResourceExhausted, "{too_big:?}");
    // A call without a deadline of its own gets the gateway's default one.
    let mut misc = MiscClient::new(channel);
    misc.nap(authorized(NapRequest { millis: 0 }))
        .await
        .expect("a short nap");
    let slow = misc
        .nap(authorized(NapRequest { millis: 4_000 }))
        .await
        .unwrap_err();
    assert_eq!(slow.code(), Code::DeadlineExceeded, "{slow:?}");
}

#[tokio::test]
async fn grpc_web_from_an_allowed_origin_passes_cors() {
    let url = format!("http://{}/helloworld.Greeter/SayHello", GUARDED.address);
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,authorization",
            )
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let message = prost::Message::encode_to_vec(&HelloRequest {
        name: "Web".to_owned(),
    });
    let response = client
        .post(&url)
        .header("origin", "https://app.example")
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("authorization", "Bearer team-token")
        .body(frame(&message))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(exposed.contains("grpc-status"), "{exposed}");
    let bytes = response.bytes().await.unwrap();
    let length = u32::from_be_bytes(bytes[1..5].try_into().unwrap()) as usize;
    let reply: restate_e2e::grpc::helloworld::HelloResponse =
        prost::Message::decode(&bytes[5..5 + length]).unwrap();
    assert_eq!(reply.message, "Hello, Web!");
}

#[tokio::test]
async fn a_message_limit_above_tonics_default_lets_larger_messages_through() {
    let roomy = serve_gateway(SETUP.env.ingress_url(), |builder| {
        builder
            .add::<GreeterGateway>()
            .max_message_size(8 * 1024 * 1024)
    });
    let name = "y".repeat(5 * 1024 * 1024);
    let answered = GreeterClient::new(channel_to(roomy.address).await)
        .max_decoding_message_size(16 * 1024 * 1024)
        .max_encoding_message_size(16 * 1024 * 1024)
        .say_hello(HelloRequest { name: name.clone() })
        .await
        .expect("a 5 MiB message passes an 8 MiB limit")
        .into_inner();
    assert_eq!(answered.message.len(), name.len() + "Hello, !".len());
}
