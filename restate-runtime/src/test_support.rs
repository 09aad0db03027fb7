//! What `restate-test` needs from the runtime, and nothing else: the protocol's wire format, the
//! virtual clock of simulated attempts, serving HTTP with the endpoint's limits, and the
//! settings a bound service resolved to. Hidden from the documentation; it changes with
//! `restate-test` of the same version, so services should not name it.

use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use tokio::net::TcpListener;

use crate::Endpoint;
use crate::codegen::{ServiceDefinition, Settings};
pub use crate::engine::VIRTUAL_NOW;
pub use crate::engine::wire;

/// Serves `service` on `listener` over HTTP/1.1 and h2c with the endpoint's default limits,
/// until `shutdown` resolves; requests in flight then get `grace` to finish.
pub async fn serve_http<S, B>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    service: S,
) -> std::io::Result<()>
where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    crate::endpoint::serve_http(
        listener,
        shutdown,
        grace,
        crate::endpoint::Limits::default(),
        service,
    )
    .await
}

/// Each service bound to `endpoint`: its definition, and the settings it announces at
/// discovery (the proto's, with bind-time options over them), the service's and each
/// handler's in the definition's order.
pub fn bound_services(
    endpoint: &Endpoint,
) -> impl Iterator<Item = (&'static ServiceDefinition, &Settings, &[Settings])> + '_ {
    endpoint.bound_services()
}
