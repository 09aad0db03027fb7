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
        Self::with_idle_timeout(POOL_IDLE_TIMEOUT)
    }

    /// The transport, closing pooled connections unused for `idle`.
    fn with_idle_timeout(idle: std::time::Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // Without a timer the pool never runs its idle timeout, and idle connections to the
        // ingress stay open for good.
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(idle)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use http::Method;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn pooled_connections_are_closed_once_idle() {
        // A server answering every HTTP/1.1 request on a connection with an empty 200, and
        // counting the connections still open.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let open = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&open);
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                let open = Arc::clone(&counted);
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                        if stream.write_all(answer).await.is_err() {
                            break;
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        let transport = HyperTransport::with_idle_timeout(Duration::from_millis(200));
        let request = || HttpRequest {
            method: Method::GET,
            url: format!("http://{address}/restate/health"),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        let calls = (0..4).map(|_| transport.send(request()));
        for answer in futures::future::join_all(calls).await {
            assert_eq!(answer.expect("an answer").status, 200);
        }
        assert!(
            open.load(Ordering::SeqCst) > 0,
            "the pool keeps its connections"
        );
        // Unused from now on: the pool closes them.
        for _ in 0..1000 {
            if open.load(Ordering::SeqCst) == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{} pooled connections still open after ten seconds idle",
            open.load(Ordering::SeqCst)
        );
    }
}
