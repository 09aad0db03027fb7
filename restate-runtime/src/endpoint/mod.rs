//! Serving: the endpoint (the services bound to it, and how an HTTP request reaches one of
//! them), the discovery manifest, one invocation attempt per `/invoke` request, and the HTTP
//! server.

mod attempt;
mod body_guard;
mod connection;
mod discovery;
#[cfg(feature = "lambda")]
mod lambda;
mod options;
mod server;
#[cfg(test)]
mod tests;

#[cfg(feature = "grpc")]
pub(crate) use body_guard::BodyBudget;
#[cfg(feature = "lambda")]
pub use lambda::{LambdaRequest, LambdaResponse};
use options::ServiceSettings;
pub use options::{HandlerOptions, ServiceOptions};
#[cfg(any(feature = "grpc", feature = "test-support", test))]
pub(crate) use server::serve_http;
pub use server::shutdown_signal;
#[cfg(feature = "grpc")]
pub(crate) use server::{init_logging, port_from_env};

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body::{Body, Frame};
use restate_sdk_shared_core::{CoreVM, IdentityVerifier, KeyError, VM, VMOptions};

use attempt::Attempt;
use discovery::{Manifest, ProtocolMode};

use crate::codegen::Service;
use crate::engine::Driver;
use crate::intercept::{Interceptor, Interceptors};

/// A set of bound services, ready to be served over HTTP (see [`Endpoint::serve`]).
///
/// ```no_run
/// # use restate_runtime::service::{HandlerFuture, Invocation, Service, ServiceDefinition};
/// # struct GreeterServer;
/// # impl Service for GreeterServer {
/// #     fn definition(&self) -> &'static ServiceDefinition { unimplemented!() }
/// #     fn invoke(&self, _: Invocation) -> HandlerFuture { unimplemented!() }
/// # }
/// # async fn example() -> std::io::Result<()> {
/// let endpoint = restate_runtime::Endpoint::builder()
///     .bind(GreeterServer)
///     .build();
/// endpoint.serve("127.0.0.1:9080".parse().unwrap()).await
/// # }
/// ```
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<EndpointInner>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self
            .inner
            .services
            .iter()
            .map(|s| s.definition().name)
            .collect();
        f.debug_struct("Endpoint")
            .field("services", &services)
            .finish_non_exhaustive()
    }
}

struct EndpointInner {
    /// In binding order, for the manifest.
    services: Vec<Arc<dyn Service>>,
    by_name: HashMap<&'static str, Arc<dyn Service>>,
    /// The settings of each service (its proto's, with bind-time options over them), in
    /// binding order.
    settings: Vec<ServiceSettings>,
    identity: IdentityVerifier,
    limits: Limits,
    /// `None` when the endpoint has none.
    interceptors: Option<Interceptors>,
    /// The request bytes attempts in flight hold together.
    bodies: Arc<body_guard::BodyBudget>,
}

/// What the endpoint lets a client take: request size, connections, time to send headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The most bytes an `/invoke` request body may carry.
    pub(crate) max_request_body: usize,
    /// The most connections served at once; more wait to be accepted.
    pub(crate) max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub(crate) header_read_timeout: Duration,
    /// How long a connection may stay open with no request in flight.
    pub(crate) idle_timeout: Duration,
    /// The most request bytes all invocation attempts in flight may hold together.
    pub(crate) max_buffered_bodies: usize,
    /// How long a request body may stop in the middle of a message.
    pub(crate) body_stall_timeout: Duration,
    /// The most requests (HTTP/2 streams) one connection may have open at once.
    pub(crate) max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_body: DEFAULT_MAX_REQUEST_BODY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_buffered_bodies: DEFAULT_MAX_BUFFERED_BODIES,
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            body_stall_timeout: DEFAULT_BODY_STALL_TIMEOUT,
        }
    }
}

/// The default of [`EndpointBuilder::max_request_body`]: 64 MiB.
pub const DEFAULT_MAX_REQUEST_BODY: usize = 64 * 1024 * 1024;
/// The default of [`EndpointBuilder::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The default of [`EndpointBuilder::max_concurrent_streams`] (and of the gRPC gateway's).
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 200;
/// The default of [`EndpointBuilder::header_read_timeout`].
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The default of [`EndpointBuilder::idle_timeout`]: 5 minutes.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// The default of [`EndpointBuilder::max_buffered_bodies`]: 512 MiB, eight requests of the
/// largest size at once, for a machine of a few GiB.
pub const DEFAULT_MAX_BUFFERED_BODIES: usize = 512 * 1024 * 1024;
/// Bytes of budget a request announcing no length needs free to be taken on.
const MIN_BODY_HEADROOM: usize = 64 * 1024;
/// The default of [`EndpointBuilder::body_stall_timeout`]: 30 seconds.
pub const DEFAULT_BODY_STALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Collects the services of an [`Endpoint`].
#[derive(Default)]
pub struct EndpointBuilder {
    services: Vec<Arc<dyn Service>>,
    options: HashMap<&'static str, ServiceOptions>,
    identity: IdentityVerifier,
    limits: Limits,
    interceptors: Vec<Arc<dyn Interceptor>>,
}

impl std::fmt::Debug for EndpointBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self.services.iter().map(|s| s.definition().name).collect();
        f.debug_struct("EndpointBuilder")
            .field("services", &services)
            .finish_non_exhaustive()
    }
}

/// A request identity key that is not a valid `publickeyv1_…` key.
#[derive(Debug, thiserror::Error)]
#[error("invalid request identity key: {0}")]
pub struct IdentityKeyError(#[from] KeyError);

impl EndpointBuilder {
    /// Binds a service, typically a generated server wrapper such as `GreeterServer::new(impl)`.
    ///
    /// # Panics
    /// If a service with the same name is already bound.
    pub fn bind(mut self, service: impl Service) -> Self {
        let name = service.definition().name;
        assert!(
            self.services.iter().all(|s| s.definition().name != name),
            "service {name} is bound twice to the endpoint"
        );
        self.services.push(Arc::new(service));
        self
    }

    /// Binds a service with settings that replace those its proto declares (timeouts,
    /// retention, retries, ingress visibility, lazy state, metadata), for the whole service or
    /// per handler. A setting given for the service applies to all its handlers, replacing
    /// what the proto says for the service and for each handler; one given for a handler wins
    /// over everything. Metadata entries are added (a key given again takes the new value).
    /// Restate learns the settings when the endpoint is registered (or re-registered).
    ///
    /// ```no_run
    /// # use restate_runtime::service::{HandlerFuture, Invocation, Service, ServiceDefinition};
    /// # struct CounterServer;
    /// # impl Service for CounterServer {
    /// #     fn definition(&self) -> &'static ServiceDefinition { unimplemented!() }
    /// #     fn invoke(&self, _: Invocation) -> HandlerFuture { unimplemented!() }
    /// # }
    /// use std::time::Duration;
    /// use restate_runtime::{Endpoint, HandlerOptions, ServiceOptions};
    ///
    /// let inactivity = std::env::var("COUNTER_INACTIVITY_SECS")
    ///     .ok()
    ///     .and_then(|secs| secs.parse().ok())
    ///     .map_or(Duration::from_secs(60), Duration::from_secs);
    /// let endpoint = Endpoint::builder()
    ///     .bind_with_options(
    ///         CounterServer,
    ///         ServiceOptions::new()
    ///             .inactivity_timeout(inactivity)
    ///             .handler("Get", HandlerOptions::new().ingress_private(true)),
    ///     )
    ///     .build();
    /// ```
    ///
    /// # Panics
    /// If a service with the same name is already bound, or the options name a handler the
    /// service does not have, or put a setting where the proto could not (a workflow's
    /// completion retention outside a workflow, lazy state on a plain service, a retry factor
    /// below 1, a longest retry wait below the first, no attempts at all, ...): the message
    /// names the service and handler.
    pub fn bind_with_options(self, service: impl Service, options: ServiceOptions) -> Self {
        let definition = service.definition();
        let problems = options.problems(definition);
        assert!(
            problems.is_empty(),
            "invalid options for service {}: {}",
            definition.name,
            problems.join("; ")
        );
        let mut builder = self.bind(service);
        builder.options.insert(definition.name, options);
        builder
    }

    /// Adds an interceptor: hooks around every handler attempt, every `run` that executes and
    /// every call or send (see [`intercept`](crate::intercept)). Several apply in the order
    /// added, the first outermost.
    pub fn interceptor(mut self, interceptor: impl Interceptor) -> Self {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// Accepts only requests signed by the Restate server that holds the private half of
    /// `key` (a `publickeyv1_…` key, as `restate-server` prints it). Unsigned or wrongly signed
    /// requests get HTTP 401. May be given several times, e.g. while rotating keys.
    pub fn identity_key(mut self, key: &str) -> Result<Self, IdentityKeyError> {
        self.identity = self.identity.with_key(key)?;
        Ok(self)
    }

    /// The most bytes an invocation request (`/invoke`, the journal Restate replays included)
    /// may carry; [`DEFAULT_MAX_REQUEST_BODY`] (64 MiB) by default. A request that announces
    /// more gets 413; one that sends more is cut off with an error, and what it sent is dropped.
    pub fn max_request_body(mut self, bytes: usize) -> Self {
        self.limits.max_request_body = bytes;
        self
    }

    /// The most connections served at once; further clients wait to be accepted.
    /// [`DEFAULT_MAX_CONNECTIONS`] by default.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.limits.max_connections = connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
        self
    }

    /// The most requests (HTTP/2 streams: invocation attempts) one connection may have open at
    /// once; [`DEFAULT_MAX_CONCURRENT_STREAMS`] (200) by default. Restate multiplexes many
    /// invocations on few connections, so keep it well above the invocations one connection
    /// carries; the bytes they hold are bounded by [`EndpointBuilder::max_buffered_bodies`]
    /// whatever the count.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.limits.max_concurrent_streams = streams.max(1);
        self
    }

    /// How long a client may take to send a request's headers before the connection is
    /// closed; [`DEFAULT_HEADER_READ_TIMEOUT`] (30 s) by default. It applies to a new
    /// connection's first bytes and, from then, to an HTTP/1.1 request's headers (so a client
    /// that trickles both may take up to twice as long), and to waits on a kept-alive
    /// HTTP/1.1 connection. Idle HTTP/2 connections are pinged and closed when the pings go
    /// unanswered.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a connection may stay open with no request in flight (a streaming response
    /// counts until it ends) before it is closed gracefully; [`DEFAULT_IDLE_TIMEOUT`]
    /// (5 minutes) by default. Restate opens a new connection when it needs one. (Kept-alive
    /// HTTP/1.1 connections are closed sooner by the
    /// [header-read timeout](Self::header_read_timeout) when it is the shorter.)
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.limits.idle_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The most bytes of request bodies that all invocation attempts in flight may hold
    /// together (what Restate sent them: the journal and state they replay, the messages
    /// since); [`DEFAULT_MAX_BUFFERED_BODIES`] (512 MiB) by default. An attempt whose next
    /// bytes would pass it is ended with a retryable error (503) and drops what it held, and
    /// while the budget is spent new invocation requests get 503 at once: Restate retries them
    /// with its retry policy. Raise it for many large journals or states at once; keep it
    /// under the memory the process may use. It is never less than
    /// [`max_request_body`](Self::max_request_body): a request of the largest size always fits
    /// an otherwise idle endpoint.
    pub fn max_buffered_bodies(mut self, bytes: usize) -> Self {
        self.limits.max_buffered_bodies = bytes;
        self
    }

    /// How long an invocation request's body may stop in the middle of a protocol message
    /// (or before its first one) before the attempt is ended with a retryable error (408) and
    /// drops what it held; [`DEFAULT_BODY_STALL_TIMEOUT`] (30 s) by default. Restate sends a
    /// message whole once it starts it, so only a stalled or hostile client waits there.
    /// Between messages the body may stay quiet as long as the invocation runs: streaming,
    /// Restate sends completions as they come, and its own inactivity timeout decides when an
    /// invocation that waits is suspended.
    pub fn body_stall_timeout(mut self, timeout: Duration) -> Self {
        self.limits.body_stall_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Finishes the endpoint.
    pub fn build(self) -> Endpoint {
        let settings = self
            .services
            .iter()
            .map(|service| {
                let definition = service.definition();
                ServiceSettings::resolve(definition, self.options.get(definition.name))
            })
            .collect();
        let by_name = self
            .services
            .iter()
            .map(|s| (s.definition().name, Arc::clone(s)))
            .collect();
        Endpoint {
            inner: Arc::new(EndpointInner {
                services: self.services,
                by_name,
                settings,
                interceptors: (!self.interceptors.is_empty()).then(|| self.interceptors.into()),
                identity: self.identity,
                // A request of the largest size always fits an otherwise idle endpoint.
                bodies: Arc::new(body_guard::BodyBudget::new(
                    self.limits
                        .max_buffered_bodies
                        .max(self.limits.max_request_body),
                )),
                limits: self.limits,
            }),
        }
    }
}

impl Endpoint {
    /// Starts collecting services.
    pub fn builder() -> EndpointBuilder {
        EndpointBuilder::default()
    }

    pub(crate) fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// The names of the services bound to this endpoint, in the order they were bound.
    pub fn service_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.inner
            .services
            .iter()
            .map(|service| service.definition().name)
    }

    /// Each bound service's definition, with the settings it announces at discovery: the
    /// service's, and each handler's in the definition's order.
    #[cfg(feature = "test-support")]
    pub(crate) fn bound_services(
        &self,
    ) -> impl Iterator<
        Item = (
            &'static crate::codegen::ServiceDefinition,
            &crate::codegen::Settings,
            &[crate::codegen::Settings],
        ),
    > + '_ {
        self.inner
            .services
            .iter()
            .zip(&self.inner.settings)
            .map(|(service, settings)| {
                (
                    service.definition(),
                    &settings.service,
                    settings.handlers.as_slice(),
                )
            })
    }

    /// The bytes of request bodies that invocation attempts in flight hold now, out of
    /// [`EndpointBuilder::max_buffered_bodies`]: a gauge for operators.
    pub fn buffered_body_bytes(&self) -> usize {
        self.inner.bodies.held()
    }

    /// Answers one HTTP request: `/discover`, `/invoke/{service}/{handler}` or `/health`.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let path = request.uri().path().trim_end_matches('/');
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        // Deployments may be registered under a path prefix: match the trailing segments.
        let segments = match segments.as_slice() {
            [.., "invoke", _, _] => &segments[segments.len() - 3..],
            [.., last] => std::slice::from_ref(last),
            [] => &[][..],
        };
        if segments != ["health"] {
            if let Err(error) = self.inner.identity.verify_identity(request.headers(), path) {
                tracing::warn!(%error, path, "rejected a request without a valid identity");
                return plain(StatusCode::UNAUTHORIZED, &error.to_string());
            }
        }
        match (request.method(), segments) {
            (&Method::GET, ["health"]) => plain(StatusCode::OK, "OK"),
            (&Method::GET, ["discover"]) => self.discover(&request),
            (&Method::POST, ["invoke", service, handler]) => {
                let (service, handler) = (service.to_string(), handler.to_string());
                self.invoke(&service, &handler, request)
            }
            _ => plain(StatusCode::NOT_FOUND, "no such route"),
        }
    }

    fn discover<B>(&self, request: &Request<B>) -> Response<ResponseBody> {
        // Every `Accept` line, as one list.
        let lines: Vec<&str> = request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let accept = (!lines.is_empty()).then(|| lines.join(","));
        let Some(content_type) = discovery::negotiate(accept.as_deref()) else {
            return plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported discovery version; this endpoint serves manifest v2 to v4",
            );
        };
        let mode = if request.version() == http::Version::HTTP_2 {
            ProtocolMode::BidiStream
        } else {
            ProtocolMode::RequestResponse
        };
        let manifest = Manifest::new(
            mode,
            self.inner
                .services
                .iter()
                .map(|service| service.definition())
                .zip(&self.inner.settings),
        );
        match serde_json::to_vec(&manifest) {
            Ok(json) => Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, content_type)
                .body(ResponseBody::full(json))
                .expect("a valid response"),
            Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, &error.to_string()),
        }
    }

    fn invoke<B>(&self, service: &str, handler: &str, request: Request<B>) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        self.attempt(service, handler, request, |_| {})
    }

    /// One attempt of a recorded invocation for the replay check (`crate::replay`): no
    /// identity check (nothing comes from the network), and the attempt ends, setting
    /// `stopped`, where it would execute a `run` closure.
    #[cfg(feature = "replay-check")]
    pub(crate) fn replay_attempt<B>(
        &self,
        service: &str,
        handler: &str,
        request: Request<B>,
        stopped: Arc<std::sync::atomic::AtomicBool>,
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        self.attempt(service, handler, request, move |driver| {
            driver.lock().stop_before_runs(stopped)
        })
    }

    /// Starts an attempt of `service`/`handler`; `prepare` sees its driver first.
    fn attempt<B>(
        &self,
        service: &str,
        handler: &str,
        request: Request<B>,
        prepare: impl FnOnce(&Driver),
    ) -> Response<ResponseBody>
    where
        B: Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: std::fmt::Display,
    {
        let Some(bound) = self.inner.by_name.get(service) else {
            return plain(StatusCode::NOT_FOUND, &format!("no service {service}"));
        };
        let Some(handler) = bound.definition().handler(handler) else {
            return plain(
                StatusCode::NOT_FOUND,
                &format!("service {service} has no handler {handler}"),
            );
        };
        let limit = self.inner.limits.max_request_body;
        let announced = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|length| length > limit as u64) {
            return plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body exceeds the endpoint's limit of {limit} bytes"),
            );
        }
        // What the request announces must fit, or at least a start message's worth.
        if !self
            .inner
            .bodies
            .fits(announced.map_or(MIN_BODY_HEADROOM, |length| length as usize))
        {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "the endpoint holds as many request bytes as its budget allows; retry later",
            );
        }
        let (parts, body) = request.into_parts();
        let trace = crate::telemetry::InvokeTrace::of(&parts.headers);
        let vm = match CoreVM::new(parts.headers, VMOptions::default()) {
            Ok(vm) => vm,
            Err(error) => {
                let status = StatusCode::from_u16(error.code())
                    .ok()
                    .filter(|s| s.is_client_error() || s.is_server_error())
                    .unwrap_or(StatusCode::BAD_REQUEST);
                return plain(status, &error.to_string());
            }
        };
        let head = vm.get_response_head();
        let driver = Driver::new(vm);
        prepare(&driver);
        let guard = attempt::BodyLimits {
            max_input: limit,
            budget: Arc::clone(&self.inner.bodies),
            stall_timeout: self.inner.limits.body_stall_timeout,
        };
        let attempt = Attempt::new(
            driver,
            trace,
            body,
            guard,
            Arc::clone(bound),
            handler,
            self.inner.interceptors.clone(),
        );

        let mut response = Response::builder()
            .status(StatusCode::from_u16(head.status_code).unwrap_or(StatusCode::OK));
        for h in &head.headers {
            response = response.header(h.key.as_ref(), h.value.as_ref());
        }
        response
            .body(ResponseBody(BodyInner::Attempt(Box::new(attempt))))
            .expect("a valid response")
    }
}

fn plain(status: StatusCode, message: &str) -> Response<ResponseBody> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(ResponseBody::full(message.to_owned()))
        .expect("a valid response")
}

/// The body of an endpoint response: a fixed payload, or an invocation's output as it is
/// produced (polling it runs the invocation).
pub struct ResponseBody(BodyInner);

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.0 {
            BodyInner::Full(_) => "full",
            BodyInner::Attempt(_) => "invocation attempt",
        };
        f.debug_tuple("ResponseBody").field(&kind).finish()
    }
}

enum BodyInner {
    Full(Option<Bytes>),
    Attempt(Box<Attempt>),
}

impl ResponseBody {
    fn full(bytes: impl Into<Bytes>) -> Self {
        Self(BodyInner::Full(Some(bytes.into())))
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match &mut self.get_mut().0 {
            BodyInner::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            BodyInner::Attempt(attempt) => attempt
                .poll_output(cx)
                .map(|chunk| chunk.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(&self.0, BodyInner::Full(None))
    }
}
