//! A lean transport for a plain-HTTP ingress: hyper's pooled HTTP/1.1 client, without TLS.

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use super::{HttpRequest, HttpResponse, Transport};

/// How long a pooled connection to the ingress may stay unused before it is closed.
const POOL_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// hyper's pooled client as a [`Transport`], for `http://` ingress URLs.
#[derive(Debug, Clone)]
pub(crate) struct HyperTransport {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HyperTransport {
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // Without a timer the pool never runs its idle timeout, and idle connections to the
        // ingress stay open for good.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Self { client }
    }
}

impl Transport for HyperTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, Result<HttpResponse, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let mut builder = http::Request::builder()
                .method(request.method)
                .uri(request.url);
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let response = self
                .client
                .request(builder.body(Full::new(request.body))?)
                .await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            Ok(HttpResponse { status, body })
        })
    }
}
