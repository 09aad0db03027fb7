//! Calling services from outside Restate, through its HTTP ingress: the same typed requests as
//! inside a handler, for web backends, jobs and tests.
//!
//! Generated ingress clients (`GreeterIngressClient`) build on [`Ingress`]; the HTTP client
//! itself comes with the `ingress-client` feature ([`Ingress::new`]), so a binary that only
//! serves an endpoint carries none. Any other HTTP stack plugs in through [`Transport`].
//!
//! ```no_run
//! # #[cfg(feature = "ingress-client")]
//! # async fn example() -> Result<(), restate_runtime::ingress::IngressError> {
//! use restate_runtime::ingress::Ingress;
//!
//! let ingress = Ingress::new("http://localhost:8080");
//! let output: Option<String> = ingress
//!     .invocation("inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz")
//!     .get_output(restate_runtime::Format::Json)
//!     .await?;
//! # Ok(()) }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, StatusCode};
use serde::Deserialize;

use crate::codec::{self, CodecError, Format, Payload};
use crate::error::TerminalError;

/// Decodes a response payload.
pub type ResponseDecoder<Res> = fn(Format, &[u8]) -> Result<Res, CodecError>;

/// An HTTP request to the ingress, as a [`Transport`] sends it.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// The full URL.
    pub url: String,
    /// Headers, content type included.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Bytes,
}

/// The ingress's answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

/// Sends HTTP requests to the ingress: plug in any HTTP client.
pub trait Transport: Send + Sync + 'static {
    /// Sends `request`; an error means no answer came back (connection refused, reset, ...).
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, Result<HttpResponse, Box<dyn std::error::Error + Send + Sync>>>;
}

/// Why an ingress request failed.
#[derive(Debug, thiserror::Error)]
pub enum IngressError {
    /// The invocation failed for good; the error carries the handler's code and message.
    #[error(transparent)]
    Terminal(#[from] TerminalError),
    /// The ingress refused the request before any handler ran: unknown service or handler,
    /// a private service, a malformed request, or an overloaded server.
    #[error("the Restate ingress refused the request ({status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: StatusCode,
        /// The ingress's explanation.
        message: String,
    },
    /// No answer from Restate: it is not running, unreachable, or the connection broke.
    #[error("cannot reach the Restate ingress: {0}")]
    Connection(Box<dyn std::error::Error + Send + Sync>),
    /// An answer that is not what the ingress sends (e.g. not JSON where JSON was due).
    #[error("unexpected answer from the Restate ingress: {0}")]
    Protocol(String),
    /// The response payload did not decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A handle on Restate's ingress: where it is, and how to reach it.
#[derive(Clone)]
pub struct Ingress {
    base_url: Arc<str>,
    transport: Arc<dyn Transport>,
}

impl fmt::Debug for Ingress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ingress")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Ingress {
    /// The ingress at `base_url` (e.g. `http://localhost:8080`), reached with `transport`.
    pub fn with_transport(base_url: impl AsRef<str>, transport: impl Transport) -> Self {
        Self {
            base_url: base_url.as_ref().trim_end_matches('/').into(),
            transport: Arc::new(transport),
        }
    }

    /// The ingress URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A request to a handler. Generated ingress clients call this.
    #[allow(clippy::too_many_arguments)]
    pub fn request<Res>(
        &self,
        service: &'static str,
        handler: &'static str,
        key: Option<String>,
        format: Format,
        input: Result<Bytes, CodecError>,
        decode: ResponseDecoder<Res>,
    ) -> IngressRequest<Res> {
        IngressRequest {
            ingress: self.clone(),
            service: Cow::Borrowed(service),
            handler: Cow::Borrowed(handler),
            key,
            format,
            input,
            decode,
            idempotency_key: None,
            headers: Vec::new(),
        }
    }

    /// The invocation `id`: wait for its result or peek at it.
    pub fn invocation(&self, id: impl Into<String>) -> IngressInvocation {
        IngressInvocation {
            ingress: self.clone(),
            path: format!("restate/invocation/{}", encode_segment(&id.into())),
        }
    }

    /// The workflow `service` with id `key`: wait for its result or peek at it. Generated
    /// workflow ingress clients call this.
    pub fn workflow(&self, service: &str, key: &str) -> IngressInvocation {
        IngressInvocation {
            ingress: self.clone(),
            path: format!(
                "restate/workflow/{}/{}",
                encode_segment(service),
                encode_segment(key)
            ),
        }
    }

    /// The typed handle of workflow `service` with id `key`. Generated workflow ingress
    /// clients call this.
    pub fn workflow_handle<Res>(
        &self,
        service: &str,
        key: &str,
        format: Format,
        decode: ResponseDecoder<Res>,
    ) -> IngressWorkflowHandle<Res> {
        IngressWorkflowHandle {
            workflow: self.workflow(service, key),
            format,
            decode,
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, IngressError> {
        self.transport
            .send(request)
            .await
            .map_err(IngressError::Connection)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }
}

/// A request to a handler through the ingress: [`call`](IngressRequest::call) it (or `.await`
/// it) for the response, or [`send`](IngressRequest::send) it to enqueue it.
#[must_use = "a request does nothing until it is called or sent"]
pub struct IngressRequest<Res> {
    ingress: Ingress,
    service: Cow<'static, str>,
    handler: Cow<'static, str>,
    key: Option<String>,
    format: Format,
    input: Result<Bytes, CodecError>,
    decode: ResponseDecoder<Res>,
    idempotency_key: Option<String>,
    headers: Vec<(String, String)>,
}

/// What `send` returns: the id of the enqueued invocation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    /// The invocation id.
    pub invocation_id: String,
    /// `Accepted`, or `PreviouslyAccepted` when an idempotency key (or workflow id) was seen
    /// before and this request ran nothing new.
    pub status: SendStatus,
}

/// Whether a sent request started a new invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SendStatus {
    /// A new invocation.
    Accepted,
    /// An earlier invocation with the same idempotency key or workflow id.
    PreviouslyAccepted,
}

impl<Res: Send + 'static> IngressRequest<Res> {
    /// Adds a header, passed on to the handler.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Makes the request idempotent: Restate runs the handler at most once per key, and
    /// repeated requests get the first one's result.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Calls the handler and waits for its response.
    pub async fn call(self) -> Result<Res, IngressError> {
        let path = self.target_path();
        let (format, decode, ingress) = (self.format, self.decode, self.ingress.clone());
        let request = self.http_request(path)?;
        let response = ingress.send(request).await?;
        let body = success_body(response)?;
        Ok(decode(format, &body)?)
    }

    /// Enqueues the request without waiting for it to run.
    pub async fn send(self) -> Result<SendResponse, IngressError> {
        let path = format!("{}/send", self.target_path());
        self.send_to(path).await
    }

    /// Enqueues the request to run after `delay`.
    pub async fn send_after(self, delay: Duration) -> Result<SendResponse, IngressError> {
        let path = format!("{}/send?delay={}ms", self.target_path(), delay.as_millis());
        self.send_to(path).await
    }

    /// With an [idempotency key](IngressRequest::idempotency_key): waits for the result of the
    /// invocation this request started (or would have started), without sending it again.
    pub async fn attach(self) -> Result<Res, IngressError> {
        let invocation = self.by_idempotency_key()?;
        invocation.attach_with(self.format, self.decode).await
    }

    /// With an [idempotency key](IngressRequest::idempotency_key): the result of the invocation
    /// this request started, if it finished; `None` if it has not.
    pub async fn get_output(self) -> Result<Option<Res>, IngressError> {
        let invocation = self.by_idempotency_key()?;
        invocation.get_output_with(self.format, self.decode).await
    }

    fn by_idempotency_key(&self) -> Result<IngressInvocation, IngressError> {
        let Some(idempotency_key) = &self.idempotency_key else {
            return Err(IngressError::Protocol(
                "attaching by idempotency key needs an idempotency key on the request".to_owned(),
            ));
        };
        let mut path = format!("restate/invocation/{}", encode_segment(&self.service));
        if let Some(key) = &self.key {
            path = format!("{path}/{}", encode_segment(key));
        }
        path = format!(
            "{path}/{}/{}",
            encode_segment(&self.handler),
            encode_segment(idempotency_key)
        );
        Ok(IngressInvocation {
            ingress: self.ingress.clone(),
            path,
        })
    }

    async fn send_to(self, path: String) -> Result<SendResponse, IngressError> {
        let ingress = self.ingress.clone();
        let request = self.http_request(path)?;
        let response = ingress.send(request).await?;
        let body = success_body(response)?;
        serde_json::from_slice(&body)
            .map_err(|e| IngressError::Protocol(format!("cannot read the send response: {e}")))
    }

    fn target_path(&self) -> String {
        match &self.key {
            Some(key) => format!(
                "{}/{}/{}",
                encode_segment(&self.service),
                encode_segment(key),
                encode_segment(&self.handler)
            ),
            None => format!(
                "{}/{}",
                encode_segment(&self.service),
                encode_segment(&self.handler)
            ),
        }
    }

    fn http_request(self, path: String) -> Result<HttpRequest, IngressError> {
        let body = self.input?;
        let mut headers = self.headers;
        // The ingress refuses an empty body that claims a content type.
        if !body.is_empty() {
            headers.push((
                "content-type".to_owned(),
                self.format.content_type().to_owned(),
            ));
        }
        if let Some(key) = self.idempotency_key {
            headers.push(("idempotency-key".to_owned(), key));
        }
        Ok(HttpRequest {
            method: Method::POST,
            url: self.ingress.url(&path),
            headers,
            body,
        })
    }
}

impl<Res: Send + 'static> IntoFuture for IngressRequest<Res> {
    type Output = Result<Res, IngressError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.call())
    }
}

/// An invocation seen through the ingress: by id, by idempotency key, or a workflow by id.
#[derive(Debug, Clone)]
pub struct IngressInvocation {
    ingress: Ingress,
    path: String,
}

impl IngressInvocation {
    /// Waits for the invocation to finish and returns its output, decoded from `format`.
    pub async fn attach<T: Payload>(&self, format: Format) -> Result<T, IngressError> {
        self.attach_with(format, codec::decode::<T>).await
    }

    /// The invocation's output if it finished, `None` if it has not.
    pub async fn get_output<T: Payload>(&self, format: Format) -> Result<Option<T>, IngressError> {
        self.get_output_with(format, codec::decode::<T>).await
    }

    /// As [`attach`](IngressInvocation::attach), with the decoder of a generated client.
    pub async fn attach_with<T>(
        &self,
        format: Format,
        decode: ResponseDecoder<T>,
    ) -> Result<T, IngressError> {
        let response = self.get("attach").await?;
        let body = success_body(response)?;
        Ok(decode(format, &body)?)
    }

    /// As [`get_output`](IngressInvocation::get_output), with the decoder of a generated client.
    pub async fn get_output_with<T>(
        &self,
        format: Format,
        decode: ResponseDecoder<T>,
    ) -> Result<Option<T>, IngressError> {
        let response = self.get("output").await?;
        if response.status.as_u16() == NOT_READY {
            return Ok(None);
        }
        let body = success_body(response)?;
        Ok(Some(decode(format, &body)?))
    }

    async fn get(&self, verb: &str) -> Result<HttpResponse, IngressError> {
        let request = HttpRequest {
            method: Method::GET,
            url: self.ingress.url(&format!("{}/{verb}", self.path)),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.ingress.send(request).await
    }
}

/// A workflow instance seen through the ingress, typed by its run handler's output. Start it
/// with the generated client's run-handler method (`.send()` to submit it).
#[derive(Debug, Clone)]
pub struct IngressWorkflowHandle<Res> {
    workflow: IngressInvocation,
    format: Format,
    decode: ResponseDecoder<Res>,
}

impl<Res> IngressWorkflowHandle<Res> {
    /// Waits for the workflow's run handler to finish and returns its result.
    pub async fn attach(&self) -> Result<Res, IngressError> {
        self.workflow.attach_with(self.format, self.decode).await
    }

    /// The workflow's result if its run handler finished, `None` if it has not.
    pub async fn get_output(&self) -> Result<Option<Res>, IngressError> {
        self.workflow
            .get_output_with(self.format, self.decode)
            .await
    }
}

/// The status the ingress answers `output` with while the invocation is still running.
const NOT_READY: u16 = 470;

/// The body of a successful response, or the terminal error an unsuccessful one carries.
fn success_body(response: HttpResponse) -> Result<Bytes, IngressError> {
    if response.status.is_success() {
        return Ok(response.body);
    }
    #[derive(Deserialize)]
    struct ErrorBody {
        code: Option<u16>,
        message: Option<String>,
        #[serde(default)]
        metadata: std::collections::BTreeMap<String, String>,
    }
    let error: ErrorBody = serde_json::from_slice(&response.body).map_err(|_| {
        IngressError::Protocol(format!(
            "{}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        ))
    })?;
    // Invocation failures carry the handler's code; the ingress's own refusals do not.
    let Some(code) = error.code else {
        return Err(IngressError::Rejected {
            status: response.status,
            message: error.message.unwrap_or_default(),
        });
    };
    let mut terminal = TerminalError::new(code, error.message.unwrap_or_default());
    for (key, value) in error.metadata {
        terminal = terminal.with_metadata(key, value);
    }
    Err(IngressError::Terminal(terminal))
}

/// Escapes a path segment (keys may contain `/`, spaces, ...).
fn encode_segment(segment: &str) -> Cow<'_, str> {
    const UNRESERVED: &[u8] = b"-._~";
    if segment
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || UNRESERVED.contains(&b))
    {
        return Cow::Borrowed(segment);
    }
    let mut encoded = String::with_capacity(segment.len() * 3);
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || UNRESERVED.contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    Cow::Owned(encoded)
}

#[cfg(feature = "ingress-client")]
mod reqwest_transport {
    use super::*;

    /// The default transport: reqwest, with rustls for `https` ingress URLs.
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
                let body = response.bytes().await?;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(encode_segment("plain-key_1.x~"), "plain-key_1.x~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_segment("ü"), "%C3%BC");
    }

    #[test]
    fn error_bodies_become_terminal_errors() {
        let response = HttpResponse {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: Bytes::from_static(
                br#"{"code":422,"message":"no such thing","metadata":{"k":"v"}}"#,
            ),
        };
        match success_body(response) {
            Err(IngressError::Terminal(error)) => {
                assert_eq!(error.code(), 422);
                assert_eq!(error.message(), "no such thing");
                assert_eq!(error.metadata(), &[("k".to_owned(), "v".to_owned())]);
            }
            other => panic!("expected a terminal error, got {other:?}"),
        }
        let garbage = HttpResponse {
            status: StatusCode::BAD_GATEWAY,
            body: Bytes::from_static(b"<html>"),
        };
        assert!(matches!(
            success_body(garbage),
            Err(IngressError::Protocol(_))
        ));
    }
}
