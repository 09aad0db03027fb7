//! The endpoint as an AWS Lambda function (feature `lambda`).
//!
//! Restate invokes a Lambda deployment with an API-Gateway-proxy-shaped event: the path
//! (`/discover`, `/invoke/{service}/{handler}`), the method, the headers and the base64 body
//! of the HTTP request it would otherwise send. The endpoint answers in request-response mode
//! (Lambda cannot stream a response while reading the request): every wait longer than the
//! attempt suspends, and Restate invokes the function again when it can go on.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};

use super::Endpoint;

/// An event Restate sends to the function: one HTTP request to the endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LambdaRequest {
    /// The request path, e.g. `/invoke/helloworld.Greeter/SayHello`.
    #[serde(default)]
    pub path: Option<String>,
    /// The HTTP method.
    #[serde(default)]
    pub http_method: String,
    /// The request headers.
    #[serde(default)]
    pub headers: HashMap<String, String>,
    /// The body, base64-encoded when `is_base64_encoded`.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64 (Restate always encodes it).
    #[serde(default)]
    pub is_base64_encoded: bool,
}

/// The function's answer: the endpoint's HTTP response, its body in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LambdaResponse {
    /// The HTTP status.
    pub status_code: u16,
    /// The response headers.
    pub headers: BTreeMap<String, String>,
    /// The body, base64-encoded.
    pub body: String,
    /// Always `true`.
    pub is_base64_encoded: bool,
}

impl LambdaResponse {
    /// The body, decoded.
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        BASE64.decode(&self.body)
    }

    fn plain(status: StatusCode, message: &str) -> Self {
        Self {
            status_code: status.as_u16(),
            headers: BTreeMap::from([("content-type".to_owned(), "text/plain".to_owned())]),
            body: BASE64.encode(message),
            is_base64_encoded: true,
        }
    }
}

impl Endpoint {
    /// Serves the endpoint as an AWS Lambda function until the Lambda runtime stops it; logs
    /// as [`Endpoint::serve_from_env`] does. Register the function with Restate by its ARN:
    /// `restate deployments register arn:aws:lambda:REGION:ACCOUNT:function:NAME:VERSION`
    /// (Restate needs an IAM role allowed to invoke it).
    pub async fn serve_lambda(self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        super::server::init_logging();
        let endpoint = &self;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<LambdaRequest>| async move {
                Ok::<_, std::convert::Infallible>(endpoint.handle_lambda(event.payload).await)
            },
        ))
        .await
    }

    /// Answers one Lambda event: discovery in request-response mode, or an invocation attempt
    /// run to its end (or suspension). Malformed events get a 400, never a panic.
    pub async fn handle_lambda(&self, event: LambdaRequest) -> LambdaResponse {
        // Decoded, base64 is three quarters of its length: too large is refused undecoded.
        let encoded_len = event.body.as_deref().map_or(0, str::len);
        let decoded_len = if event.is_base64_encoded {
            encoded_len / 4 * 3
        } else {
            encoded_len
        };
        if decoded_len > self.limits().max_request_body.saturating_add(3) {
            return LambdaResponse::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body exceeds the endpoint's limit",
            );
        }
        let body = match event.body.as_deref() {
            None => Bytes::new(),
            Some(body) if event.is_base64_encoded => match BASE64.decode(body) {
                Ok(bytes) => Bytes::from(bytes),
                Err(error) => {
                    return LambdaResponse::plain(
                        StatusCode::BAD_REQUEST,
                        &format!("the event body is not base64: {error}"),
                    );
                }
            },
            Some(body) => Bytes::copy_from_slice(body.as_bytes()),
        };
        if body.len() > self.limits().max_request_body {
            return LambdaResponse::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body exceeds the endpoint's limit",
            );
        }
        let method = Method::from_bytes(event.http_method.as_bytes()).unwrap_or(Method::POST);
        // HTTP/1.1: discovery then reports the request-response protocol mode.
        let mut request = Request::builder()
            .method(method)
            .uri(event.path.as_deref().unwrap_or("/"))
            .version(http::Version::HTTP_11);
        for (name, value) in &event.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(body)) {
            Ok(request) => request,
            Err(error) => {
                return LambdaResponse::plain(
                    StatusCode::BAD_REQUEST,
                    &format!("the event is not a valid request: {error}"),
                );
            }
        };
        let response = self.handle(request).await;
        let (parts, body) = response.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(never) => match never {},
        };
        LambdaResponse {
            status_code: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(name, value)| {
                    Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                })
                .collect(),
            body: BASE64.encode(body),
            is_base64_encoded: true,
        }
    }
}
