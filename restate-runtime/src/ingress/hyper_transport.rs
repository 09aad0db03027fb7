//! A lean transport for a plain-HTTP ingress: hyper's pooled HTTP/1.1 client, without TLS.

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::{HttpRequest, HttpResponse, Transport};

/// hyper's pooled client as a [`Transport`], for `http://` ingress URLs.
#[derive(Debug, Clone)]
pub(crate) struct HyperTransport {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl HyperTransport {
    pub(crate) fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        }
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
