//! The endpoint's request handler against what a hostile client can send: bodies past the
//! limit, and arbitrary methods, paths, headers and bytes.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{Request, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use proptest::prelude::*;
use restate_sdk_shared_core::Version;

use super::Endpoint;
use crate::codec::Codec;
use crate::codegen::{
    HandlerDefinition, HandlerFuture, Invocation, Service, ServiceDefinition, ServiceType, Settings,
};

/// A service whose one handler echoes its input.
struct Echo;

static ECHO: ServiceDefinition = ServiceDefinition {
    name: "test.Echo",
    ty: ServiceType::Service,
    codec: Codec::Json,
    documentation: None,
    handlers: &[HandlerDefinition::new("Echo")],
    settings: Settings::NONE,
};

impl Service for Echo {
    fn definition(&self) -> &'static ServiceDefinition {
        &ECHO
    }

    fn invoke(&self, invocation: Invocation) -> HandlerFuture {
        invocation.run(|_: crate::Context, input: Bytes| async move { Ok(input) })
    }
}

const LIMIT: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;

fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(Echo)
        .max_request_body(LIMIT)
        .build()
}

fn invoke_request<B>(body: B) -> Request<B> {
    Request::post("/invoke/test.Echo/Echo")
        .header(
            "content-type",
            Version::maximum_supported_version().content_type(),
        )
        .body(body)
        .expect("a request")
}

#[tokio::test]
async fn a_body_past_the_limit_is_cut_off_and_dropped() {
    // A start message announcing 4 GiB, then bytes without end: the state machine would buffer
    // them all, waiting for the message to complete.
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let header = Bytes::from_static(&[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    let chunks = futures::stream::iter(
        std::iter::once(header)
            .chain(std::iter::repeat_with(|| Bytes::from(vec![0u8; CHUNK])).take(4096)),
    )
    .map(move |chunk| {
        counter.fetch_add(chunk.len(), Ordering::SeqCst);
        Ok::<_, Infallible>(Frame::data(chunk))
    });
    let response = endpoint()
        .handle(invoke_request(StreamBody::new(chunks)))
        .await;
    let body = tokio::time::timeout(Duration::from_secs(30), response.into_body().collect())
        .await
        .expect("the response ends")
        .expect("a body");
    drop(body);
    let read = pulled.load(Ordering::SeqCst);
    assert!(
        read <= LIMIT + 2 * CHUNK,
        "read {read} bytes of a body limited to {LIMIT}"
    );
}

#[tokio::test]
async fn a_body_announced_past_the_limit_is_refused_at_once() {
    let request = Request::post("/invoke/test.Echo/Echo")
        .header(
            "content-type",
            Version::maximum_supported_version().content_type(),
        )
        .header("content-length", (LIMIT + 1).to_string())
        .body(Full::new(Bytes::new()))
        .expect("a request");
    let response = endpoint().handle(request).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// Methods, paths, headers and bodies a client could send.
fn any_request() -> impl Strategy<Value = Request<Full<Bytes>>> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")];
    let path = prop_oneof![
        Just("/invoke/test.Echo/Echo".to_owned()),
        Just("/discover".to_owned()),
        Just("/health".to_owned()),
        "(/[a-zA-Z0-9._~%-]{0,12}){0,5}",
    ];
    let content_type = prop_oneof![
        Just(
            Version::maximum_supported_version()
                .content_type()
                .to_owned()
        ),
        Just("application/vnd.restate.invocation.v1".to_owned()),
        "[ -~]{0,40}",
    ];
    let accept = prop_oneof![
        Just("*/*".to_owned()),
        Just("application/vnd.restate.endpointmanifest.v4+json;q=0".to_owned()),
        "[ -~]{0,40}",
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..512),
        // A message header with random fields, then random bytes.
        (
            any::<[u8; 8]>(),
            proptest::collection::vec(any::<u8>(), 0..256)
        )
            .prop_map(|(header, rest)| [header.to_vec(), rest].concat()),
    ];
    (method, path, content_type, accept, body).prop_map(
        |(method, path, content_type, accept, body)| {
            Request::builder()
                .method(method)
                .uri(path)
                .header("content-type", content_type)
                .header("accept", accept)
                .body(Full::new(Bytes::from(body)))
                .unwrap_or_else(|_| Request::new(Full::new(Bytes::new())))
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_request_gets_a_response_that_ends(request in any_request()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let response = endpoint().handle(request).await;
            let collected =
                tokio::time::timeout(Duration::from_secs(10), response.into_body().collect())
                    .await;
            prop_assert!(collected.is_ok(), "the response body never ended");
            Ok(())
        })?;
    }
}

/// A listener on a free loopback port, and its address.
async fn loopback_listener() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    (listener, address)
}

/// An HTTP/2 client connected to `address` (answering pings, as every HTTP/2 library does),
/// and the task driving its connection, which ends when the connection closes.
async fn http2_client(
    address: std::net::SocketAddr,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Empty<Bytes>>,
    tokio::task::JoinHandle<hyper::Result<()>>,
) {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("a connection");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("an HTTP/2 handshake");
    (sender, tokio::spawn(connection))
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let (listener, address) = loopback_listener().await;
    let endpoint = Endpoint::builder()
        .bind(Echo)
        .idle_timeout(Duration::from_millis(200))
        .build();
    let serving = tokio::spawn(endpoint.serve_with_shutdown(listener, std::future::pending()));

    // A client that answers pings but goes quiet.
    let (mut sender, connection) = http2_client(address).await;
    let response = sender
        .send_request(
            Request::get("/health")
                .body(http_body_util::Empty::<Bytes>::new())
                .expect("a request"),
        )
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    response.into_body().collect().await.expect("a body");

    tokio::time::timeout(Duration::from_secs(20), connection)
        .await
        .expect("the endpoint closes the idle connection")
        .expect("the connection task")
        .expect("a graceful close");
    assert!(sender.is_closed());
    serving.abort();
}

#[tokio::test]
async fn a_response_still_streaming_keeps_its_connection_in_use() {
    let (listener, address) = loopback_listener().await;
    let idle_timeout = Duration::from_millis(100);
    let limits = super::Limits {
        idle_timeout,
        ..super::Limits::default()
    };
    // Each response streams five frames, one per idle timeout.
    let service = hyper::service::service_fn(move |_: Request<hyper::body::Incoming>| async move {
        let frames = futures::stream::unfold(0, move |sent| async move {
            if sent == 5 {
                return None;
            }
            tokio::time::sleep(idle_timeout).await;
            Some((
                Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"x"))),
                sent + 1,
            ))
        });
        Ok::<_, Infallible>(hyper::Response::new(StreamBody::new(frames)))
    });
    let serving = tokio::spawn(super::serve_http(
        listener,
        std::future::pending(),
        Duration::ZERO,
        limits,
        service,
    ));

    let (mut sender, _connection) = http2_client(address).await;
    // Had the connection been judged idle while the first response streamed, it would have
    // been told to go away, and the second request refused.
    for request in 0..2 {
        let response = sender
            .send_request(
                Request::get("/")
                    .body(http_body_util::Empty::<Bytes>::new())
                    .expect("a request"),
            )
            .await
            .unwrap_or_else(|e| panic!("request {request} refused: {e}"));
        let body = response.into_body().collect().await.expect("a body");
        assert_eq!(body.to_bytes(), Bytes::from_static(b"xxxxx"));
    }
    serving.abort();
}

#[tokio::test]
async fn a_connection_has_no_more_requests_in_flight_than_its_stream_cap() {
    let (listener, address) = loopback_listener().await;
    let limits = super::Limits {
        max_concurrent_streams: 2,
        ..super::Limits::default()
    };
    // Each request is held until released; the service counts those it holds.
    let (held, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let service = {
        let (held, most, release) = (Arc::clone(&held), Arc::clone(&most), Arc::clone(&release));
        hyper::service::service_fn(move |_: Request<hyper::body::Incoming>| {
            let (held, most, release) =
                (Arc::clone(&held), Arc::clone(&most), Arc::clone(&release));
            async move {
                let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                release.acquire().await.expect("open").forget();
                held.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Infallible>(hyper::Response::new(http_body_util::Empty::<Bytes>::new()))
            }
        })
    };
    let serving = tokio::spawn(super::serve_http(
        listener,
        std::future::pending(),
        Duration::ZERO,
        limits,
        service,
    ));

    let (sender, _connection) = http2_client(address).await;
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let mut sender = sender.clone();
            tokio::spawn(async move {
                let request = Request::get("/")
                    .body(http_body_util::Empty::<Bytes>::new())
                    .expect("a request");
                sender.send_request(request).await.map(|r| r.status())
            })
        })
        .collect();
    eventually("two requests in flight", || {
        held.load(Ordering::SeqCst) == 2
    })
    .await;
    // The others wait for a stream or are refused: none reaches the service while two are
    // held.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    assert_eq!(held.load(Ordering::SeqCst), 2);
    release.add_permits(5);
    // A stream over the cap is refused (a client that has not read the settings yet opens
    // it anyway) or waits for one to end; none is served beside the two.
    let mut answered = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok(status) => {
                assert_eq!(status, StatusCode::OK);
                answered += 1;
            }
            Err(error) => assert!(format!("{error:?}").contains("REFUSED_STREAM"), "{error:?}"),
        }
    }
    assert!(answered >= 2, "{answered} answered");
    assert_eq!(
        most.load(Ordering::SeqCst),
        2,
        "never more than the cap at once"
    );
    serving.abort();
}

#[tokio::test]
async fn shutdown_does_not_wait_for_clients_that_send_nothing() {
    let (listener, address) = loopback_listener().await;
    // Timeouts far longer than the test's patience: only the shutdown may end the connection.
    let endpoint = Endpoint::builder()
        .bind(Echo)
        .header_read_timeout(Duration::from_secs(600))
        .build();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(endpoint.serve_with_grace(
        listener,
        async {
            let _ = stopped.await;
        },
        Duration::from_secs(600),
    ));
    let _silent = tokio::net::TcpStream::connect(address)
        .await
        .expect("a connection");
    let _stalled = {
        use tokio::io::AsyncWriteExt;
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("a connection");
        stream
            .write_all(b"PRI * HTTP/2.0\r\n")
            .await
            .expect("a write");
        stream
    };
    // Both are accepted and waiting before the shutdown starts.
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).expect("the server runs");
    tokio::time::timeout(Duration::from_secs(20), serving)
        .await
        .expect("the server stops without waiting for the silent clients")
        .expect("the server task")
        .expect("a clean stop");
}

#[tokio::test]
async fn a_client_that_sends_no_headers_is_disconnected() {
    // A slowloris: half a request line, then silence.
    assert_silent_client_is_disconnected(b"GET /hea").await;
}

#[tokio::test]
async fn a_client_that_sends_nothing_is_disconnected() {
    assert_silent_client_is_disconnected(b"").await;
}

#[tokio::test]
async fn a_client_that_stalls_in_the_http2_preface_is_disconnected() {
    assert_silent_client_is_disconnected(b"PRI * HTTP/2.0\r\n").await;
}

/// Connects, writes `opening` and then nothing: the endpoint must close the
/// connection (or answer with a 4xx and close) within its header-read timeout.
async fn assert_silent_client_is_disconnected(opening: &[u8]) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (listener, address) = loopback_listener().await;
    let endpoint = Endpoint::builder()
        .bind(Echo)
        .header_read_timeout(Duration::from_millis(300))
        .build();
    let serving = tokio::spawn(endpoint.serve_with_shutdown(listener, std::future::pending()));

    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("a connection");
    if !opening.is_empty() {
        stream.write_all(opening).await.expect("a write");
    }
    let mut buffer = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buffer))
        .await
        .expect("the endpoint closes the connection instead of waiting forever");
    // Closed (0 bytes), or answered with an error status and then closed.
    if let Ok(n) = read {
        assert!(
            n == 0 || buffer.starts_with(b"HTTP/1.1 4"),
            "{:?}",
            &buffer[..n]
        );
    }
    serving.abort();
}

/// A frame header announcing a start message of `length` bytes.
fn start_header(length: u32) -> Bytes {
    let mut header = vec![0, 0, 0, 0];
    header.extend_from_slice(&length.to_be_bytes());
    Bytes::from(header)
}

/// A request whose body is what `sender` sends, open until it is dropped.
fn open_request(
    path: &str,
    content_type: &str,
) -> (
    futures::channel::mpsc::UnboundedSender<Bytes>,
    Request<impl http_body::Body<Data = Bytes, Error = Infallible> + Send + Unpin + 'static>,
) {
    let (sender, receiver) = futures::channel::mpsc::unbounded::<Bytes>();
    let body = StreamBody::new(receiver.map(|chunk| Ok::<_, Infallible>(Frame::data(chunk))));
    let request = Request::post(path)
        .header("content-type", content_type)
        .body(body)
        .expect("a request");
    (sender, request)
}

/// Waits (up to a minute of the test's clock) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what} did not happen");
}

#[tokio::test]
async fn stalled_bodies_on_many_requests_hold_no_more_than_the_budget() {
    // Each request announces a 60 MiB start message, sends 1 MiB of it and stalls; without a
    // budget, forty of them would hold 40 MiB until their clients went away.
    const BUDGET: usize = 4 * 1024 * 1024;
    const REQUESTS: usize = 40;
    let endpoint = Endpoint::builder()
        .bind(Echo)
        .max_request_body(2 * 1024 * 1024)
        .max_buffered_bodies(BUDGET)
        .build();
    let content_type = Version::maximum_supported_version().content_type();
    let ended = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::new();
    for _ in 0..REQUESTS {
        let (sender, request) = open_request("/invoke/test.Echo/Echo", content_type);
        sender
            .unbounded_send(start_header(60 * 1024 * 1024))
            .unwrap();
        for _ in 0..16 {
            sender
                .unbounded_send(Bytes::from(vec![0u8; CHUNK]))
                .unwrap();
        }
        senders.push(sender);
        let (serving, ended) = (endpoint.clone(), Arc::clone(&ended));
        tokio::spawn(async move {
            let response = serving.handle(request).await;
            let _ = response.into_body().collect().await;
            ended.fetch_add(1, Ordering::SeqCst);
        });
        assert!(endpoint.buffered_body_bytes() <= BUDGET);
    }
    // Those that did not fit were ended (refused at once, or cut off when their bytes came);
    // the others hold their bytes, within the budget, while their clients stall.
    let fit = BUDGET / (16 * CHUNK + 8);
    eventually("refusing the requests over the budget", || {
        ended.load(Ordering::SeqCst) >= REQUESTS - fit
    })
    .await;
    let held = endpoint.buffered_body_bytes();
    assert!(
        held <= BUDGET,
        "{held} bytes held, over the budget of {BUDGET}"
    );
    assert!(held > 0, "the requests within the budget are still read");
    assert_eq!(ended.load(Ordering::SeqCst), REQUESTS - fit);
    // The clients go away: everything is given back.
    drop(senders);
    eventually("ending every request", || {
        ended.load(Ordering::SeqCst) == REQUESTS
    })
    .await;
    assert_eq!(endpoint.buffered_body_bytes(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_stalled_in_the_middle_of_a_message_is_ended_after_the_timeout() {
    let endpoint = Endpoint::builder()
        .bind(Echo)
        .body_stall_timeout(Duration::from_secs(5))
        .build();
    let content_type = Version::maximum_supported_version().content_type();
    for opening in [
        // Headers, then nothing at all.
        Bytes::new(),
        // Half a frame header.
        Bytes::from_static(&[0, 0, 0, 0]),
        // A start message announced, a part of it sent.
        Bytes::from_iter(start_header(1000).iter().copied().chain([1, 2, 3])),
    ] {
        let (sender, request) = open_request("/invoke/test.Echo/Echo", content_type);
        if !opening.is_empty() {
            sender.unbounded_send(opening.clone()).unwrap();
        }
        let response = endpoint.handle(request).await;
        let collected = tokio::spawn(response.into_body().collect());
        let ended = tokio::time::timeout(Duration::from_secs(60), collected).await;
        assert!(ended.is_ok(), "the attempt after {opening:?} is ended");
        assert_eq!(endpoint.buffered_body_bytes(), 0);
        // The client is still there (its sender lives): the endpoint let go of the body.
        assert!(sender.is_closed(), "the body after {opening:?} is dropped");
    }
}

/// A service whose one handler sleeps for an hour: its request body is quiet while it waits.
struct Sleeper;

static SLEEPER: ServiceDefinition = ServiceDefinition {
    name: "test.Sleeper",
    ty: ServiceType::Service,
    codec: Codec::Json,
    documentation: None,
    handlers: &[HandlerDefinition::new("Sleep")],
    settings: Settings::NONE,
};

impl Service for Sleeper {
    fn definition(&self) -> &'static ServiceDefinition {
        &SLEEPER
    }

    fn invoke(&self, invocation: Invocation) -> HandlerFuture {
        invocation.run(|ctx: crate::Context, _: Bytes| async move {
            ctx.sleep(Duration::from_secs(3600)).await?;
            Ok(Bytes::new())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_quiet_between_messages_is_no_stall() {
    use bytes::BytesMut;

    use crate::engine::wire::{self as protocol, ty};

    let endpoint = Endpoint::builder()
        .bind(Sleeper)
        .body_stall_timeout(Duration::from_secs(5))
        .build();
    let (sender, request) = open_request("/invoke/test.Sleeper/Sleep", protocol::CONTENT_TYPE);
    let mut opening = BytesMut::new();
    let start = protocol::StartMessage {
        id: Bytes::from_static(b"invocation-1"),
        debug_id: "inv_1".to_owned(),
        known_entries: 1,
        ..Default::default()
    };
    protocol::Frame::new(ty::START, &start).write(&mut opening);
    let input = protocol::InputCommand {
        headers: Vec::new(),
        value: Some(protocol::Value {
            content: Bytes::from_static(b"{}"),
        }),
    };
    protocol::Frame::new(ty::INPUT, &input).write(&mut opening);
    sender.unbounded_send(opening.freeze()).unwrap();
    let response = endpoint.handle(request).await;
    let collected = tokio::spawn(response.into_body().collect());
    // The handler sleeps; Restate would send the completion when it is due. Ten stall
    // timeouts pass between messages without ending the attempt.
    tokio::time::sleep(Duration::from_secs(50)).await;
    assert!(!collected.is_finished(), "the waiting attempt goes on");
    assert!(endpoint.buffered_body_bytes() > 0);
    // Then half a message, and silence: that is a stall.
    sender
        .unbounded_send(Bytes::from_static(&[0x80, 0x0C, 0, 0]))
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(60), collected).await;
    assert!(ended.is_ok(), "the stalled attempt is ended");
    assert_eq!(endpoint.buffered_body_bytes(), 0);
}

/// A service whose one handler answers with what its invocation knows about itself.
struct Facts;

static FACTS: ServiceDefinition = ServiceDefinition {
    name: "test.Facts",
    ty: ServiceType::Service,
    codec: Codec::Json,
    documentation: None,
    handlers: &[HandlerDefinition::new("Tell")],
    settings: Settings::NONE,
};

impl Service for Facts {
    fn definition(&self) -> &'static ServiceDefinition {
        &FACTS
    }

    fn invoke(&self, invocation: Invocation) -> HandlerFuture {
        invocation.run(|ctx: crate::Context, _: Bytes| async move {
            let facts = [ctx.idempotency_key(), ctx.scope(), ctx.limit_key()]
                .map(|fact| fact.unwrap_or("-"))
                .join(" ");
            Ok(Bytes::from(facts))
        })
    }
}

/// The facts handler's answer to a start message of `content_type` carrying `start`'s facts
/// and `headers`.
async fn facts_told(
    content_type: &str,
    start: crate::engine::wire::StartMessage,
    headers: Vec<crate::engine::wire::Header>,
) -> String {
    use bytes::BytesMut;

    use crate::engine::wire::{self as protocol, ty};

    let endpoint = Endpoint::builder().bind(Facts).build();
    let mut body = BytesMut::new();
    protocol::Frame::new(ty::START, &start).write(&mut body);
    let input = protocol::InputCommand {
        headers,
        value: Some(protocol::Value {
            content: Bytes::new(),
        }),
    };
    protocol::Frame::new(ty::INPUT, &input).write(&mut body);
    let request = Request::post("/invoke/test.Facts/Tell")
        .header("content-type", content_type)
        .body(Full::new(body.freeze()))
        .expect("a request");
    let response = endpoint.handle(request).await;
    let answer = response.into_body().collect().await.unwrap().to_bytes();
    let frames = protocol::read_frames(answer).expect("protocol frames");
    let output = frames
        .iter()
        .find(|frame| frame.ty == ty::OUTPUT)
        .expect("an output");
    match output.decode::<protocol::OutputCommand>().unwrap().result {
        Some(protocol::OutputResult::Value(value)) => {
            String::from_utf8(value.content.to_vec()).unwrap()
        }
        other => panic!("not a value: {other:?}"),
    }
}

#[tokio::test]
async fn the_invocation_knows_its_idempotency_key_scope_and_limit_key() {
    use crate::engine::wire::{self as protocol, StartMessage};

    let start = StartMessage {
        id: Bytes::from_static(b"invocation-1"),
        debug_id: "inv_1".to_owned(),
        known_entries: 1,
        scope: Some("tenant-a".to_owned()),
        limit_key: Some("user-7".to_owned()),
        idempotency_key: Some("order-42".to_owned()),
        ..Default::default()
    };
    // Protocol version 7 carries them.
    assert_eq!(
        facts_told(protocol::CONTENT_TYPE_V7, start.clone(), Vec::new()).await,
        "order-42 tenant-a user-7"
    );
    // Version 6 does not; the idempotency key then comes from the request header, if any.
    let start_v6 = StartMessage {
        scope: None,
        limit_key: None,
        idempotency_key: None,
        ..start
    };
    assert_eq!(
        facts_told(protocol::CONTENT_TYPE, start_v6.clone(), Vec::new()).await,
        "- - -"
    );
    let header = protocol::Header {
        key: "Idempotency-Key".to_owned(),
        value: "from-header".to_owned(),
    };
    assert_eq!(
        facts_told(protocol::CONTENT_TYPE, start_v6, vec![header]).await,
        "from-header - -"
    );
}
