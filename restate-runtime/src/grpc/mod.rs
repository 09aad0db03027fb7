//! A gRPC front door for durable handlers (feature `grpc`): any gRPC client calls a service,
//! and each call becomes an invocation through Restate's ingress.
//!
//! With `restate_codegen::configure().grpc_gateway(true)`, the generator emits for every
//! service a tonic server (from tonic-build, over the same prost types) and a gateway type
//! (`GreeterGateway`) that forwards its calls. Serve them with a [`Gateway`], in the endpoint's
//! process or on its own:
//!
//! ```no_run
//! # struct GreeterGateway;
//! # impl restate_runtime::codegen::grpc::GatewayService for GreeterGateway {
//! #     const NAME: &'static str = "helloworld.Greeter";
//! #     fn add_to(_: &restate_runtime::ingress::Ingress, _: &mut restate_runtime::codegen::tonic::service::RoutesBuilder) {}
//! #     fn descriptors() -> &'static restate_runtime::codegen::Descriptors { unimplemented!() }
//! # }
//! # async fn example() -> std::io::Result<()> {
//! use restate_runtime::grpc::Gateway;
//!
//! Gateway::builder("http://127.0.0.1:8080")
//!     .add::<GreeterGateway>()
//!     .build()
//!     .serve("0.0.0.0:50051".parse().unwrap()) // until SIGTERM or Ctrl-C
//!     .await
//! # }
//! ```
//!
//! What a call can say in its metadata:
//!
//! - `x-restate-key`: the object key or workflow id, for services without a
//!   `(restate.key_field)` (or `(restate.handler_key_field)`) naming an input field that holds
//!   it. A keyed call without a key fails with `INVALID_ARGUMENT`.
//! - `idempotency-key`: the invocation's idempotency key; repeated calls with it run the
//!   handler once and get the first call's result.
//! - `x-restate-send: true`: a one-way send. The gateway answers as soon as Restate has
//!   accepted the invocation, with the default response message and the invocation id as
//!   `x-restate-invocation-id` response metadata; attach to it later through the ingress
//!   (`GET /restate/invocation/{id}/attach`, or `Ingress::invocation(id).attach(..)`).
//! - `grpc-timeout` (the call's deadline): the gateway waits at most this long and then answers
//!   `DEADLINE_EXCEEDED`. An invocation Restate accepted by then keeps running, durably; send an
//!   `idempotency-key` to fetch its result later (workflows: by id).
//! - Other ASCII metadata (not `grpc-*`, `x-restate-*`, `authorization`, `cookie` or HTTP's own
//!   headers) is passed on to the handler as invocation headers.
//!
//! A workflow's run handler called over gRPC is submitted, then attached to: the caller gets the
//! workflow's result, and calling it again with the same id attaches to the same run.
//!
//! Errors map to gRPC statuses by a fixed table; the message and metadata of a terminal error
//! travel with the status, its Restate code as `x-restate-code`:
//!
//! | Restate terminal error code | gRPC status |
//! |---|---|
//! | 400 | `INVALID_ARGUMENT` |
//! | 401 | `UNAUTHENTICATED` |
//! | 403 | `PERMISSION_DENIED` |
//! | 404 | `NOT_FOUND` |
//! | 408, 504 | `DEADLINE_EXCEEDED` |
//! | 409 (cancelled) | `ABORTED` |
//! | 412 | `FAILED_PRECONDITION` |
//! | 413, 429 | `RESOURCE_EXHAUSTED` |
//! | 499 | `CANCELLED` |
//! | 501 | `UNIMPLEMENTED` |
//! | 503 | `UNAVAILABLE` |
//! | any other 4xx | `FAILED_PRECONDITION` |
//! | 500, any other 5xx (570: journal mismatch) | `INTERNAL` |
//! | anything else | `UNKNOWN` |
//!
//! Refusals of the ingress itself (before any handler ran) map the same way by their HTTP status,
//! except 409 → `ALREADY_EXISTS`, 502 → `UNAVAILABLE`, and 401 and 403 → `INTERNAL` (the
//! ingress refused the gateway's credentials, not the caller's). A Restate that cannot be
//! reached is `UNAVAILABLE`; a request that cannot be passed on in the service's codec (a
//! timestamp out of range, say) `INVALID_ARGUMENT`.
//!
//! The gateway also serves gRPC server reflection (v1 and v1alpha, from the generated
//! descriptors, so `grpcurl list` and `describe` need no proto files) and the standard health
//! service (`SERVING` while Restate's ingress answers its health check), and gRPC-Web for
//! browsers when [`GatewayBuilder::grpc_web`] is on. Everything gRPC — framing, codec, routing —
//! is tonic's, and only gRPC reaches it: requests over HTTP/2 with the content type
//! `application/grpc` or `application/grpc+proto` (and gRPC-Web, when it is on); others are
//! answered 415 (505 for gRPC over HTTP/1.x). A message of more than 4 MiB is refused from its
//! length prefix (`RESOURCE_EXHAUSTED`), a unary call carrying a second message is `INTERNAL`,
//! the bytes of the messages being received come out of one budget
//! ([`GatewayBuilder::max_buffered_bodies`]; over it `RESOURCE_EXHAUSTED`), and a call's body
//! that stops before its end (a stream's: in the middle of a message) is ended after
//! [`GatewayBuilder::body_stall_timeout`] (`DEADLINE_EXCEEDED`). None of these reach Restate.
//! (Through gRPC-Web, tonic-web reports these statuses as `INTERNAL`.)

mod deadline;
mod forward;
mod policy;
mod status;
mod strict;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use forward::{Forwarder, IDEMPOTENCY_KEY, INVOCATION_ID, KEY, SEND};

use crate::codec::Descriptors;
use crate::endpoint::{
    BodyBudget, DEFAULT_BODY_STALL_TIMEOUT, DEFAULT_MAX_BUFFERED_BODIES, Limits, init_logging,
    port_from_env, serve_http, shutdown_signal,
};
use crate::ingress::Ingress;

/// A generated gateway service: what [`GatewayBuilder::add`] needs to serve it.
pub trait GatewayService: Send + Sync + 'static {
    /// The fully qualified service name, e.g. `helloworld.Greeter`.
    const NAME: &'static str;

    /// Adds the tonic server of this service, forwarding to `ingress`, to `routes`.
    fn add_to(ingress: &Ingress, routes: &mut RoutesBuilder);

    /// As [`GatewayService::add_to`], the server taking the gateway's message limits. Code
    /// generated by this version implements it; the default (for older generated code) keeps
    /// tonic's limits.
    fn add_with_limits(ingress: &Ingress, limits: &MessageLimits, routes: &mut RoutesBuilder) {
        let _ = limits;
        Self::add_to(ingress, routes);
    }

    /// The descriptors of the service's package, for reflection.
    fn descriptors() -> &'static Descriptors;
}

/// The largest messages a gateway's services read and write ([`GatewayBuilder::max_message_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// The largest request message a call may send, in bytes.
    pub max_decoding_message_size: usize,
    /// The largest response message a call may receive, in bytes.
    pub max_encoding_message_size: usize,
}

/// The default of [`GatewayBuilder::max_message_size`]: 4 MiB, tonic's.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// How often the health service asks the ingress whether it is healthy.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// How long one health check of the ingress may take before it counts as failed.
const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// The names the gateway's own services are known by.
const HEALTH_SERVICE: &str = "grpc.health.v1.Health";
const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// How long open calls get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The port [`Gateway::serve_from_env`] serves on when `GRPC_PORT` is not set.
const DEFAULT_PORT: u16 = 50051;

/// Collects the gateway services of a [`Gateway`] and how to reach the ingress.
#[must_use]
pub struct GatewayBuilder {
    ingress: Ingress,
    services: Vec<AddService>,
    grpc_web: bool,
    bodies: BodyLimits,
    max_concurrent_streams: u32,
    interceptors: Vec<policy::CallInterceptor>,
    default_deadline: Option<Duration>,
    cors_origins: Vec<http::HeaderValue>,
    messages: MessageLimits,
}

/// What the request bodies of all calls may hold, and how long one may stall.
#[derive(Debug, Clone, Copy)]
struct BodyLimits {
    max_buffered: usize,
    stall_timeout: Duration,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            max_buffered: DEFAULT_MAX_BUFFERED_BODIES,
            stall_timeout: DEFAULT_BODY_STALL_TIMEOUT,
        }
    }
}

/// A service added to the builder, made once the ingress is final.
struct AddService {
    name: &'static str,
    add_to: fn(&Ingress, &MessageLimits, &mut RoutesBuilder),
    descriptors: fn() -> &'static Descriptors,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let services: Vec<&str> = self.services.iter().map(|s| s.name).collect();
        f.debug_struct("GatewayBuilder")
            .field("ingress", &self.ingress)
            .field("services", &services)
            .field("grpc_web", &self.grpc_web)
            .finish()
    }
}

impl GatewayBuilder {
    /// Forwards the calls of the generated gateway service `G` (e.g. `GreeterGateway`). Adding
    /// a service twice adds it once.
    pub fn add<G: GatewayService>(mut self) -> Self {
        if self.services.iter().any(|s| s.name == G::NAME) {
            return self;
        }
        self.services.push(AddService {
            name: G::NAME,
            add_to: G::add_with_limits,
            descriptors: G::descriptors,
        });
        self
    }

    /// Sends `Authorization: Bearer {token}` with every call to the ingress, as Restate Cloud
    /// expects.
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        self.ingress = self.ingress.with_bearer_token(token);
        self
    }

    /// Sends the header `name: value` with every call to the ingress.
    pub fn ingress_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.ingress = self.ingress.with_header(name, value);
        self
    }

    /// Reaches the ingress through `ingress` (any transport, headers of its own) instead of the
    /// URL given to [`Gateway::builder`]; it replaces the ingress whole, so headers and tokens
    /// set before are dropped.
    pub fn ingress(mut self, ingress: Ingress) -> Self {
        self.ingress = ingress;
        self
    }

    /// Also serves gRPC-Web (over HTTP/1.1 and HTTP/2), for browser clients; off by default.
    pub fn grpc_web(mut self, enabled: bool) -> Self {
        self.grpc_web = enabled;
        self
    }

    /// The most bytes of the messages being received that all calls may hold together;
    /// [`DEFAULT_MAX_BUFFERED_BODIES`] (512 MiB) by default.
    /// A call whose next bytes would pass it is refused with `RESOURCE_EXHAUSTED` and drops
    /// what it held. (One message may carry at most [`GatewayBuilder::max_message_size`],
    /// 4 MiB by default; a larger one is refused from its length prefix, before it is read.)
    pub fn max_buffered_bodies(mut self, bytes: usize) -> Self {
        self.bodies.max_buffered = bytes;
        self
    }

    /// The most calls (HTTP/2 streams) one connection may have open at once;
    /// [`DEFAULT_MAX_CONCURRENT_STREAMS`](crate::DEFAULT_MAX_CONCURRENT_STREAMS) (200) by
    /// default. The bytes they hold are bounded by [`GatewayBuilder::max_buffered_bodies`]
    /// whatever the count.
    pub fn max_concurrent_streams(mut self, streams: u32) -> Self {
        self.max_concurrent_streams = streams.max(1);
        self
    }

    /// How long a call's request body may stop before its end (reflection's streams: in the
    /// middle of a message) before the call is ended with `DEADLINE_EXCEEDED`;
    /// [`DEFAULT_BODY_STALL_TIMEOUT`] (30 s) by default.
    pub fn body_stall_timeout(mut self, timeout: Duration) -> Self {
        self.bodies.stall_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Checks every call to the gateway's services before it is forwarded, in tonic's
    /// interceptor shape: return the request (its metadata changed, if you like: what is
    /// passed on to the handler) or a [`tonic::Status`] that refuses the call, e.g.
    /// `UNAUTHENTICATED` for a missing token. Health and reflection calls are not intercepted,
    /// so load balancers and tools need no credentials. Several apply in the order added.
    ///
    /// ```no_run
    /// # fn example(builder: restate_runtime::grpc::GatewayBuilder) -> restate_runtime::grpc::GatewayBuilder {
    /// builder.interceptor(|request: tonic::Request<()>| {
    ///     match request.metadata().get("authorization") {
    ///         Some(token) if token == "Bearer team-token" => Ok(request),
    ///         _ => Err(tonic::Status::unauthenticated("a team token is needed")),
    ///     }
    /// })
    /// # }
    /// ```
    pub fn interceptor<F>(mut self, interceptor: F) -> Self
    where
        F: Fn(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status>
            + Send
            + Sync
            + 'static,
    {
        self.interceptors.push(Arc::new(interceptor));
        self
    }

    /// The deadline of calls that send no `grpc-timeout`: the gateway answers
    /// `DEADLINE_EXCEEDED` once it passes (an invocation Restate accepted goes on). None by
    /// default: such calls wait for their result.
    pub fn default_deadline(mut self, deadline: Duration) -> Self {
        self.default_deadline = Some(deadline);
        self
    }

    /// The largest message, in bytes, a call may send or receive;
    /// [`DEFAULT_MAX_MESSAGE_SIZE`] (4 MiB) by default. A larger request is refused with
    /// `RESOURCE_EXHAUSTED` from its length prefix, before it is read (a gRPC-Web text body,
    /// base64, by tonic with `OUT_OF_RANGE`). Keep it below
    /// [`GatewayBuilder::max_buffered_bodies`].
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.messages = MessageLimits {
            max_decoding_message_size: bytes,
            max_encoding_message_size: bytes,
        };
        self
    }

    /// Lets browser pages from `origin` (e.g. `https://app.example.com`, or `*` for any) call
    /// the gateway through gRPC-Web: answers CORS preflights and marks responses for that
    /// origin, exposing the gRPC status headers. May be given several times.
    ///
    /// # Panics
    ///
    /// If `origin` is not a valid header value.
    pub fn cors_allow_origin(mut self, origin: impl AsRef<str>) -> Self {
        let origin = http::HeaderValue::from_str(origin.as_ref())
            .unwrap_or_else(|_| panic!("{:?} is not a valid origin", origin.as_ref()));
        self.cors_origins.push(origin);
        self
    }

    /// Finishes the gateway: the services, reflection and health.
    pub fn build(self) -> Gateway {
        let mut routes = RoutesBuilder::default();
        let mut descriptor_sets = vec![tonic_health::pb::FILE_DESCRIPTOR_SET];
        for service in &self.services {
            (service.add_to)(&self.ingress, &self.messages, &mut routes);
            let encoded = (service.descriptors)().encoded();
            if !descriptor_sets
                .iter()
                .any(|set| std::ptr::eq(*set, encoded))
            {
                descriptor_sets.push(encoded);
            }
        }
        // Only the services served are advertised, not every service the descriptors know.
        let advertised: Vec<&str> = self
            .services
            .iter()
            .map(|s| s.name)
            .chain([HEALTH_SERVICE])
            .collect();
        let reflection = |own_name: &str| {
            let builder = advertised.iter().chain([&own_name]).fold(
                tonic_reflection::server::Builder::configure(),
                |builder, name| builder.with_service_name(*name),
            );
            descriptor_sets.iter().fold(builder, |builder, set| {
                builder.register_encoded_file_descriptor_set(set)
            })
        };
        // Both only fail on descriptors that do not decode, and the generated ones do.
        match reflection(REFLECTION_V1).build_v1() {
            Ok(v1) => {
                routes.add_service(v1);
            }
            Err(error) => tracing::warn!(%error, "no gRPC reflection (v1)"),
        }
        match reflection(REFLECTION_V1ALPHA).build_v1alpha() {
            Ok(v1alpha) => {
                routes.add_service(v1alpha);
            }
            Err(error) => tracing::warn!(%error, "no gRPC reflection (v1alpha)"),
        }
        let (health, health_service) = tonic_health::server::health_reporter();
        routes.add_service(health_service);
        let names: Vec<&'static str> = self.services.iter().map(|s| s.name).collect();
        Gateway {
            routes,
            ingress: self.ingress,
            policy: policy::CallPolicy::new(&names, self.interceptors, self.default_deadline),
            names,
            health,
            grpc_web: self.grpc_web,
            bodies: self.bodies,
            max_concurrent_streams: self.max_concurrent_streams,
            cors_origins: self.cors_origins,
            max_message: self.messages.max_decoding_message_size,
        }
    }
}

/// Generated gateway services served over gRPC, forwarding each call to Restate's ingress.
pub struct Gateway {
    routes: RoutesBuilder,
    ingress: Ingress,
    policy: policy::CallPolicy,
    names: Vec<&'static str>,
    health: HealthReporter,
    grpc_web: bool,
    bodies: BodyLimits,
    max_concurrent_streams: u32,
    cors_origins: Vec<http::HeaderValue>,
    max_message: usize,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("ingress", &self.ingress)
            .field("services", &self.names)
            .field("grpc_web", &self.grpc_web)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Starts a gateway forwarding to the ingress at `ingress_url` (e.g.
    /// `http://127.0.0.1:8080`): over hyper's pooled HTTP/1.1 client for `http://` URLs, over
    /// reqwest (with TLS) for others.
    pub fn builder(ingress_url: impl AsRef<str>) -> GatewayBuilder {
        let url = ingress_url.as_ref();
        let ingress = if url.starts_with("http://") {
            Ingress::plain_http(url)
        } else {
            Ingress::new(url)
        };
        GatewayBuilder {
            ingress,
            services: Vec::new(),
            grpc_web: false,
            bodies: BodyLimits::default(),
            max_concurrent_streams: crate::DEFAULT_MAX_CONCURRENT_STREAMS,
            interceptors: Vec::new(),
            default_deadline: None,
            cors_origins: Vec::new(),
            messages: MessageLimits {
                max_decoding_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                max_encoding_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            },
        }
    }

    /// The `main` of a gateway binary: serves on `0.0.0.0:$GRPC_PORT` (50051 when unset) until
    /// SIGTERM or Ctrl-C, logging to stderr like [`Endpoint::serve_from_env`].
    ///
    /// # Errors
    ///
    /// When `GRPC_PORT` is not a port number, or the address cannot be bound.
    ///
    /// [`Endpoint::serve_from_env`]: crate::Endpoint::serve_from_env
    pub async fn serve_from_env(self) -> std::io::Result<()> {
        init_logging();
        let port = port_from_env("GRPC_PORT", DEFAULT_PORT)?;
        self.serve(SocketAddr::from(([0, 0, 0, 0], port))).await
    }

    /// Serves on `addr` until SIGTERM or Ctrl-C.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` resolves, then lets open calls finish for a grace
    /// period of 10 seconds.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        tracing::info!(
            address = %listener.local_addr()?,
            ingress = self.ingress.base_url(),
            services = ?self.names,
            "serving the gRPC gateway"
        );
        let reporter = self.health.clone();
        let names = self.names.clone();
        // Not serving until the first health check of the ingress says otherwise.
        set_status(&reporter, &names, ServingStatus::NotServing).await;
        let health = AbortOnDrop(tokio::spawn(report_health(
            self.health,
            self.ingress,
            self.names,
        )));
        let router = self.routes.routes().prepare().into_axum_router();
        let router = if self.grpc_web {
            router.layer(tonic_web::GrpcWebLayer::new())
        } else {
            router
        };
        // Callers see NOT_SERVING as soon as the gateway drains, so balancers move on.
        let shutdown = async move {
            shutdown.await;
            drop(health);
            set_status(&reporter, &names, ServingStatus::NotServing).await;
        };
        // Only gRPC reaches the services, its bodies bounded (see `strict`).
        let strictness = Arc::new(strict::Strictness {
            grpc_web: self.grpc_web,
            budget: Arc::new(BodyBudget::new(self.bodies.max_buffered)),
            stall_timeout: self.bodies.stall_timeout,
            max_message: self.max_message,
        });
        let policy = Arc::new(self.policy);
        let inner = tower::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let (router, strictness, policy) =
                (router.clone(), Arc::clone(&strictness), Arc::clone(&policy));
            async move {
                let request = match strictness.admit(request) {
                    Err(refusal) => return Ok(strict::refused(refusal)),
                    Ok(request) => request,
                };
                let content_type = request.headers().get(http::header::CONTENT_TYPE).cloned();
                let answer = match policy.apply(request) {
                    Err(status) => strict::answered(policy::refusal(&status, content_type)),
                    Ok(request) => {
                        let mut router = router;
                        match tower::Service::call(&mut router, request).await {
                            Ok(response) => strict::answered(response),
                            Err(never) => match never {},
                        }
                    }
                };
                Ok::<_, std::convert::Infallible>(answer)
            }
        });
        let cors = (!self.cors_origins.is_empty()).then(|| cors_layer(self.cors_origins));
        // CORS outermost: a preflight (no gRPC content type) is answered before `strict`.
        let service = tower::ServiceBuilder::new()
            .option_layer(cors)
            .map_response(|response: strict::Answer<_>| response.map(tonic::body::Body::new))
            .service(inner);
        let service = TowerToHyperService::new(service);
        serve_http(
            listener,
            shutdown,
            SHUTDOWN_GRACE,
            Limits {
                max_concurrent_streams: self.max_concurrent_streams,
                ..Limits::default()
            },
            service,
        )
        .await
    }
}

/// CORS for gRPC-Web callers from `origins`: preflights answered, the gRPC status headers
/// exposed to the page.
fn cors_layer(origins: Vec<http::HeaderValue>) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};

    let any = origins.iter().any(|origin| origin == "*");
    let allow_origin = if any {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins)
    };
    let header = http::HeaderName::from_static;
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([http::Method::POST])
        // Any metadata the page sends: the gateway passes custom metadata on to handlers.
        .allow_headers(tower_http::cors::AllowHeaders::mirror_request())
        .expose_headers([
            header("grpc-status"),
            header("grpc-message"),
            header("grpc-status-details-bin"),
            header("x-restate-invocation-id"),
            header("x-restate-code"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// A spawned task that ends with its handle.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sets the status of the gateway (the empty service name) and of each of its services.
async fn set_status(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    for name in std::iter::once("").chain(names.iter().copied()) {
        reporter.set_service_status(name, status).await;
    }
}

/// Keeps the health service in step with the ingress: `SERVING` for the gateway (the empty
/// service name) and each of its services while the ingress answers its health check and a
/// call (a lookup in the partition that would hold an invocation) within a second each,
/// `NOT_SERVING` while it does not: after a restart, the health check passes before the
/// partitions serve.
async fn report_health(reporter: HealthReporter, ingress: Ingress, names: Vec<&'static str>) {
    let mut last = None;
    loop {
        let healthy = tokio::time::timeout(HEALTH_CHECK_TIMEOUT, ingress.is_healthy())
            .await
            .unwrap_or(false)
            && tokio::time::timeout(HEALTH_CHECK_TIMEOUT, ingress.answers_calls())
                .await
                .unwrap_or(false);
        let status = if healthy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            set_status(&reporter, &names, status).await;
            last = Some(status);
        }
        tokio::time::sleep(HEALTH_CHECK_INTERVAL).await;
    }
}
