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
//!   `DEADLINE_EXCEEDED`; the invocation keeps running in Restate, durably, and its result can be
//!   fetched by idempotency key or, for workflows, by id.
//! - Other ASCII metadata (not `grpc-*`, `x-restate-*`, `authorization`, `cookie` or HTTP's own
//!   headers) is passed on to the handler as invocation headers.
//!
//! A workflow's run handler called over gRPC is submitted, then attached to: the caller gets the
//! workflow's result, and calling it again with the same id attaches to the same run.
//!
//! Errors map to gRPC statuses by a fixed table (400 → `INVALID_ARGUMENT`, 404 → `NOT_FOUND`, 409
//! → `ABORTED`, 501 → `UNIMPLEMENTED`, Restate unreachable → `UNAVAILABLE`, ...); the message
//! and metadata of a terminal error travel with the status, its Restate code as `x-restate-code`.
//! The whole table is in the documentation of the [`status`] module.
//!
//! The gateway also serves gRPC server reflection (v1 and v1alpha, from the generated
//! descriptors, so `grpcurl list` and `describe` need no proto files) and the standard health
//! service (`SERVING` while Restate's ingress answers its health check), and gRPC-Web for
//! browsers when [`GatewayBuilder::grpc_web`] is on. Everything gRPC — framing, codec, routing —
//! is tonic's; calls that are not valid gRPC get a gRPC status from tonic and never reach
//! Restate.

mod deadline;
mod forward;
pub mod status;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use forward::{Forwarder, IDEMPOTENCY_KEY, INVOCATION_ID, KEY, SEND};

use crate::codec::Descriptors;
use crate::endpoint::{init_logging, port_from_env, serve_http, shutdown_signal};
use crate::ingress::Ingress;

/// A generated gateway service: what [`GatewayBuilder::add`] needs to serve it.
pub trait GatewayService: Send + Sync + 'static {
    /// The fully qualified service name, e.g. `helloworld.Greeter`.
    const NAME: &'static str;

    /// Adds the tonic server of this service, forwarding to `ingress`, to `routes`.
    fn add_to(ingress: &Ingress, routes: &mut RoutesBuilder);

    /// The descriptors of the service's package, for reflection.
    fn descriptors() -> &'static Descriptors;
}

/// How often the health service asks the ingress whether it is healthy.
const HEALTH_CHECK_INTERVAL: Duration = Duration::from_secs(2);

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
}

/// A service added to the builder, made once the ingress is final.
struct AddService {
    name: &'static str,
    add_to: fn(&Ingress, &mut RoutesBuilder),
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
    /// Forwards the calls of the generated gateway service `G` (e.g. `GreeterGateway`).
    pub fn add<G: GatewayService>(mut self) -> Self {
        self.services.push(AddService {
            name: G::NAME,
            add_to: G::add_to,
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
    /// URL given to [`Gateway::builder`].
    pub fn ingress(mut self, ingress: Ingress) -> Self {
        self.ingress = ingress;
        self
    }

    /// Also serves gRPC-Web (over HTTP/1.1 and HTTP/2), for browser clients; off by default.
    pub fn grpc_web(mut self, enabled: bool) -> Self {
        self.grpc_web = enabled;
        self
    }

    /// Finishes the gateway: the services, reflection and health.
    pub fn build(self) -> Gateway {
        let mut routes = RoutesBuilder::default();
        let mut descriptor_sets = vec![tonic_health::pb::FILE_DESCRIPTOR_SET];
        for service in &self.services {
            (service.add_to)(&self.ingress, &mut routes);
            let encoded = (service.descriptors)().encoded();
            if !descriptor_sets
                .iter()
                .any(|set| std::ptr::eq(*set, encoded))
            {
                descriptor_sets.push(encoded);
            }
        }
        let reflection = || {
            descriptor_sets.iter().fold(
                tonic_reflection::server::Builder::configure(),
                |builder, set| builder.register_encoded_file_descriptor_set(set),
            )
        };
        // Both only fail on descriptors that do not decode, and the generated ones do.
        match reflection().build_v1() {
            Ok(v1) => {
                routes.add_service(v1);
            }
            Err(error) => tracing::warn!(%error, "no gRPC reflection (v1)"),
        }
        match reflection().build_v1alpha() {
            Ok(v1alpha) => {
                routes.add_service(v1alpha);
            }
            Err(error) => tracing::warn!(%error, "no gRPC reflection (v1alpha)"),
        }
        let (health, health_service) = tonic_health::server::health_reporter();
        routes.add_service(health_service);
        Gateway {
            routes,
            ingress: self.ingress,
            names: self.services.iter().map(|s| s.name).collect(),
            health,
            grpc_web: self.grpc_web,
        }
    }
}

/// Generated gateway services served over gRPC, forwarding each call to Restate's ingress.
pub struct Gateway {
    routes: RoutesBuilder,
    ingress: Ingress,
    names: Vec<&'static str>,
    health: HealthReporter,
    grpc_web: bool,
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
    /// `http://127.0.0.1:8080`), reached with reqwest.
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
        let health = tokio::spawn(report_health(self.health, self.ingress, self.names));
        let router = self.routes.routes().prepare().into_axum_router();
        let router = if self.grpc_web {
            router.layer(tonic_web::GrpcWebLayer::new())
        } else {
            router
        };
        let served = serve_http(
            listener,
            shutdown,
            SHUTDOWN_GRACE,
            TowerToHyperService::new(router),
        )
        .await;
        health.abort();
        served
    }
}

/// Keeps the health service in step with the ingress: `SERVING` for the gateway (the empty
/// service name) and each of its services while the ingress is healthy, `NOT_SERVING` while it
/// is not.
async fn report_health(reporter: HealthReporter, ingress: Ingress, names: Vec<&'static str>) {
    let mut last = None;
    loop {
        let status = if ingress.is_healthy().await {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        if last != Some(status) {
            for name in std::iter::once("").chain(names.iter().copied()) {
                reporter.set_service_status(name, status).await;
            }
            last = Some(status);
        }
        tokio::time::sleep(HEALTH_CHECK_INTERVAL).await;
    }
}
