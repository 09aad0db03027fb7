//! The default transport: reqwest, with rustls for `https` ingress URLs.

use bytes::Bytes;
use futures::future::BoxFuture;

use super::{HttpRequest, HttpResponse, Ingress, Transport};

/// reqwest as a [`Transport`].
#[derive(Debug)]
struct ReqwestTransport(reqwest::Client);

impl Transport for ReqwestTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, Result<HttpResponse, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let mut builder = self.0.request(request.method, &request.url);
            for (name, value) in request.headers {
                builder = builder.header(name, value);
            }
            let response = builder.body(request.body).send().await?;
            let status = response.status();
            let body: Bytes = response.bytes().await?;
            Ok(HttpResponse { status, body })
        })
    }
}

impl Ingress {
    /// The ingress at `base_url` (e.g. `http://localhost:8080`), reached with reqwest.
    pub fn new(base_url: impl AsRef<str>) -> Self {
        Self::with_client(base_url, reqwest::Client::new())
    }

    /// As [`Ingress::new`], with a reqwest client of your own (timeouts, proxies, TLS).
    pub fn with_client(base_url: impl AsRef<str>, client: reqwest::Client) -> Self {
        Self::with_transport(base_url, ReqwestTransport(client))
    }
}
