//! Calling services from outside Restate, through its HTTP ingress: the same typed requests as
//! inside a handler (see [`crate::Request`]), for web backends, jobs and tests.
//!
//! Generated ingress clients (`GreeterIngressClient`) are made from an [`Ingress`]; the HTTP
//! client itself comes with the `ingress-client` feature ([`Ingress::new`]), so a binary that
//! only serves an endpoint carries none. Any other HTTP stack plugs in through [`Transport`].
//!
//! ```no_run
//! # #[cfg(feature = "ingress-client")]
//! # async fn example() -> Result<(), restate_runtime::ingress::IngressError> {
//! use restate_runtime::ingress::Ingress;
//!
//! let ingress = Ingress::new("http://localhost:8080");
//! let output: Option<String> = ingress
//!     .invocation("inv_1gdJBtdVEcM942bjcDmb1c1khoaJe11Hbz")
//!     .get_output(restate_runtime::Codec::Json)
//!     .await?;
//! # Ok(()) }
//! ```

#[cfg(feature = "grpc")]
mod hyper_transport;
#[cfg(feature = "ingress-client")]
mod reqwest_transport;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, StatusCode};
use serde::Deserialize;

use crate::codec::{Codec, CodecError, Payload};
use crate::error::TerminalError;

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
    /// The request payload could not be encoded (e.g. a timestamp out of the JSON mapping's
    /// range); nothing was sent.
    #[error("cannot encode the request: {0}")]
    Request(CodecError),
}

/// A handle on Restate's ingress: where it is, and how to reach it.
#[derive(Clone)]
pub struct Ingress {
    base_url: Arc<str>,
    transport: Arc<dyn Transport>,
    /// Sent with every request, e.g. the `authorization` a Restate Cloud ingress wants.
    headers: Arc<[(String, String)]>,
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
            headers: Arc::new([]),
        }
    }

    /// Sends the header `name: value` with every request, e.g. an API key of a gateway in
    /// front of the ingress. It replaces any header of the same name a request carries.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        let mut headers = self.headers.to_vec();
        headers.retain(|(own, _)| !own.eq_ignore_ascii_case(&name));
        headers.push((name, value.into()));
        self.headers = headers.into();
        self
    }

    /// Authenticates every request with `token` as a bearer token, as a Restate Cloud ingress
    /// expects.
    pub fn with_bearer_token(self, token: impl AsRef<str>) -> Self {
        self.with_header("authorization", format!("Bearer {}", token.as_ref()))
    }

    /// Whether the ingress answers its health check (`GET /restate/health`) with success.
    pub async fn is_healthy(&self) -> bool {
        let request = HttpRequest {
            method: Method::GET,
            url: self.url("restate/health"),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.send(request)
            .await
            .is_ok_and(|response| response.status.is_success())
    }

    /// Whether the ingress answers calls, not only its health check: the output of an
    /// invocation that does not exist is looked up where the invocation would live (a
    /// partition of the cluster) and answers 404 `invocation not found` once that partition
    /// serves. For the gRPC gateway's health.
    #[cfg(feature = "grpc")]
    pub(crate) async fn answers_calls(&self) -> bool {
        /// An invocation id no invocation has (partition key 1, UUID 1).
        const NO_INVOCATION: &str = "inv_1000000000100000000000000000000001";
        let request = HttpRequest {
            method: Method::GET,
            url: self.url(&format!("restate/invocation/{NO_INVOCATION}/output")),
            headers: Vec::new(),
            body: Bytes::new(),
        };
        self.send(request).await.is_ok_and(|response| {
            response.status == http::StatusCode::NOT_FOUND || response.status.is_success()
        })
    }

    /// The ingress at the `http://` URL `base_url`, reached with hyper's pooled HTTP/1.1
    /// client: less work per request than reqwest, no TLS.
    #[cfg(feature = "grpc")]
    pub(crate) fn plain_http(base_url: impl AsRef<str>) -> Self {
        Self::with_transport(base_url, hyper_transport::HyperTransport::new())
    }

    /// The ingress URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The invocation `id`: wait for its result or peek at it.
    pub fn invocation(&self, id: impl Into<String>) -> IngressInvocation {
        IngressInvocation {
            ingress: self.clone(),
            path: format!("restate/invocation/{}", encode_segment(&id.into())),
        }
    }

    /// The workflow `service` with id `key`: wait for its result or peek at it.
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

    /// The awakeable `id` (as a handler's `ctx.awakeable()` made it): resolve or reject it from
    /// outside Restate.
    pub fn awakeable(&self, id: impl AsRef<str>) -> IngressAwakeable {
        IngressAwakeable {
            ingress: self.clone(),
            path: format!("restate/awakeables/{}", encode_segment(id.as_ref())),
        }
    }

    pub(crate) async fn send(
        &self,
        mut request: HttpRequest,
    ) -> Result<HttpResponse, IngressError> {
        // The ingress's own headers (credentials, say) win over a request's of the same name.
        if !self.headers.is_empty() {
            request.headers.retain(|(name, _)| {
                !self
                    .headers
                    .iter()
                    .any(|(own, _)| own.eq_ignore_ascii_case(name))
            });
            request.headers.extend(self.headers.iter().cloned());
        }
        self.transport
            .send(request)
            .await
            .map_err(IngressError::Connection)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        // On every request: pieces pushed into one allocation, not `format!`.
        let mut url = String::with_capacity(self.base_url.len() + 1 + path.len());
        url.push_str(&self.base_url);
        url.push('/');
        url.push_str(path);
        url
    }
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

/// An invocation seen through the ingress: by id, by idempotency key, or a workflow by id.
#[derive(Debug, Clone)]
pub struct IngressInvocation {
    ingress: Ingress,
    path: String,
}

impl IngressInvocation {
    pub(crate) fn new(ingress: Ingress, path: String) -> Self {
        Self { ingress, path }
    }

    /// Waits for the invocation to finish and returns its output, decoded from `codec`.
    pub async fn attach<T: Payload>(&self, codec: Codec) -> Result<T, IngressError> {
        let response = self.get("attach").await?;
        let body = success_body(response)?;
        Ok(T::decode_payload(codec, &body)?)
    }

    /// The invocation's output if it finished, `None` if it has not.
    pub async fn get_output<T: Payload>(&self, codec: Codec) -> Result<Option<T>, IngressError> {
        let response = self.get("output").await?;
        if response.status.as_u16() == NOT_READY {
            return Ok(None);
        }
        let body = success_body(response)?;
        Ok(Some(T::decode_payload(codec, &body)?))
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

/// An awakeable seen through the ingress: completes the `DurableFuture` a handler waits on.
#[derive(Debug, Clone)]
pub struct IngressAwakeable {
    ingress: Ingress,
    path: String,
}

impl IngressAwakeable {
    /// Resolves the awakeable with `value`, encoded with `codec` (the one the waiting handler
    /// decodes with: its service's). An id that is no awakeable's is
    /// [`IngressError::Rejected`].
    pub async fn resolve<T: Payload>(&self, value: &T, codec: Codec) -> Result<(), IngressError> {
        let body = value.encode_payload(codec).map_err(IngressError::Request)?;
        self.post(
            "resolve",
            vec![("content-type".to_owned(), codec.content_type().to_owned())],
            body,
        )
        .await
    }

    /// Rejects the awakeable: the waiting handler gets a terminal error with `message`.
    pub async fn reject(&self, message: impl Into<String>) -> Result<(), IngressError> {
        let headers = vec![("content-type".to_owned(), "text/plain".to_owned())];
        self.post("reject", headers, Bytes::from(message.into()))
            .await
    }

    async fn post(
        &self,
        verb: &str,
        headers: Vec<(String, String)>,
        body: Bytes,
    ) -> Result<(), IngressError> {
        let request = HttpRequest {
            method: Method::POST,
            url: self.ingress.url(&format!("{}/{verb}", self.path)),
            headers,
            body,
        };
        let response = self.ingress.send(request).await?;
        if response.status.is_success() {
            return Ok(());
        }
        // No handler runs here: every failure is the ingress refusing (an unknown or malformed
        // id, say), even when its answer carries a code.
        #[derive(Deserialize)]
        struct Refusal {
            message: Option<String>,
        }
        let message = serde_json::from_slice::<Refusal>(&response.body)
            .ok()
            .and_then(|refusal| refusal.message)
            .unwrap_or_else(|| String::from_utf8_lossy(&response.body).into_owned());
        Err(IngressError::Rejected {
            status: response.status,
            message,
        })
    }
}

/// The status the ingress answers `output` with while the invocation is still running.
const NOT_READY: u16 = 470;

/// The body of a successful response, or the terminal error an unsuccessful one carries.
pub(crate) fn success_body(response: HttpResponse) -> Result<Bytes, IngressError> {
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
    // A refusal whose body is not Restate's JSON (a proxy's page, hyper's own 431) is still a
    // refusal with that status.
    let Ok(error) = serde_json::from_slice::<ErrorBody>(&response.body) else {
        const SHOWN: usize = 200;
        let text = String::from_utf8_lossy(&response.body);
        let message = match text.char_indices().nth(SHOWN) {
            Some((end, _)) => format!("{}…", &text[..end]),
            None => text.into_owned(),
        };
        return Err(IngressError::Rejected {
            status: response.status,
            message,
        });
    };
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

/// Escapes a path segment (keys may contain `/`, spaces, ...). `.` and `..` are escaped too:
/// URL normalization would otherwise remove them, and the request would go elsewhere.
pub(crate) fn encode_segment(segment: &str) -> Cow<'_, str> {
    const UNRESERVED: &[u8] = b"-._~";
    if segment == "." || segment == ".." {
        return Cow::Owned(segment.replace('.', "%2E"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(encode_segment("plain-key_1.x~"), "plain-key_1.x~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(encode_segment("ü"), "%C3%BC");
        assert_eq!(encode_segment(".."), "%2E%2E");
        assert_eq!(encode_segment("."), "%2E");
        assert_eq!(encode_segment("a..b"), "a..b");
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
        match success_body(garbage) {
            Err(IngressError::Rejected { status, message }) => {
                assert_eq!(status, StatusCode::BAD_GATEWAY);
                assert_eq!(message, "<html>");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let long = HttpResponse {
            status: StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            body: Bytes::from("é".repeat(500)),
        };
        match success_body(long) {
            Err(IngressError::Rejected { status, message }) => {
                assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                assert_eq!(message.chars().count(), 201);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
