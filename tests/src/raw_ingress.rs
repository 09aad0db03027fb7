//! Plain HTTP to a restate-server's ingress and admin API, as the conformance suite's client
//! speaks it (JSON bodies, idempotency keys, `/send`, attach by id), and bounded polling.
//!
//! The scenarios check wire shapes (status codes, error bodies with metadata, `PreviouslyAccepted`),
//! so they use this rather than the generated typed ingress clients.

use std::future::Future;
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// A fresh random key, e.g. for an object or an idempotency key.
pub fn random_key() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::StdRng::from_os_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A failed ingress or admin request: the status and the error body.
#[derive(Debug, Clone)]
pub struct CallError {
    /// The HTTP status.
    pub status: u16,
    /// The `message` of the JSON error body, or the whole body when it has none.
    pub message: String,
    /// The body, parsed as JSON when it is JSON.
    pub body: Value,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.body)
    }
}

impl std::error::Error for CallError {}

/// The answer to a `/send`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendResponse {
    /// The invocation id, `inv_…`.
    pub invocation_id: String,
    /// `Accepted` or `PreviouslyAccepted`.
    pub status: String,
}

/// An HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The status.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// The body as JSON (a JSON string of the text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into_owned()))
    }

    /// Decodes a successful body as `T`, or turns a failure into a [`CallError`].
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        let body = self.json();
        if self.status >= 300 {
            let message = body["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| body.to_string());
            return Err(CallError {
                status: self.status,
                message,
                body,
            });
        }
        // Handlers returning `google.protobuf.Empty` answer `{}` or nothing: `()` for serde.
        let body = if self.body.is_empty() {
            Value::Null
        } else {
            body
        };
        serde_json::from_value(body.clone())
            .or_else(|e| match &body {
                Value::Object(fields) if fields.is_empty() => serde_json::from_value(Value::Null),
                _ => Err(e),
            })
            .map_err(|e| CallError {
                status: self.status,
                message: format!("unexpected response body ({e})"),
                body,
            })
    }
}

/// An HTTP client whose requests fail after a minute instead of hanging a test.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// Talks to one restate-server over plain HTTP: ingress calls and sends, attach, and the admin
/// API.
#[derive(Clone)]
pub struct RawIngress {
    http: reqwest::Client,
    ingress_url: String,
    admin_url: String,
}

impl RawIngress {
    /// A client for the server with these URLs.
    pub fn new(ingress_url: &str, admin_url: &str) -> Self {
        Self::with_timeout(ingress_url, admin_url, Duration::from_secs(60))
    }

    /// A client whose requests give up after `timeout`.
    pub fn with_timeout(ingress_url: &str, admin_url: &str, timeout: Duration) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .build()
                .expect("an HTTP client"),
            ingress_url: ingress_url.to_owned(),
            admin_url: admin_url.to_owned(),
        }
    }

    /// The ingress URL.
    pub fn ingress_url(&self) -> &str {
        &self.ingress_url
    }

    /// The admin URL.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// `POST {ingress}/{path}` with a JSON body and extra headers.
    pub async fn post(
        &self,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> Result<RawResponse, reqwest::Error> {
        let mut request = self.http.post(format!("{}/{path}", self.ingress_url));
        // An empty body is "no input": it carries no content type.
        if !body.is_empty() {
            request = request.header("content-type", "application/json");
        }
        let mut request = request.body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await?).await
    }

    /// `GET {ingress}/{path}`.
    pub async fn get_raw(&self, path: &str) -> Result<RawResponse, reqwest::Error> {
        read(
            self.http
                .get(format!("{}/{path}", self.ingress_url))
                .send()
                .await?,
        )
        .await
    }

    /// Calls `target` (`Service/handler` or `Object/key/handler`) with a fresh idempotency key
    /// and decodes the response. Transport errors panic.
    pub async fn call<T: DeserializeOwned>(
        &self,
        target: &str,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        self.call_with_headers(target, body, &[]).await
    }

    /// As [`RawIngress::call`], with extra request headers.
    pub async fn call_with_headers<T: DeserializeOwned>(
        &self,
        target: &str,
        body: &impl Serialize,
        headers: &[(&str, &str)],
    ) -> Result<T, CallError> {
        let key = random_key();
        let mut all = vec![("idempotency-key", key.as_str())];
        all.extend_from_slice(headers);
        self.post(target, json_bytes(body), &all)
            .await
            .unwrap_or_else(|e| panic!("POST {target} failed: {e}"))
            .decode()
    }

    /// Calls a handler that takes no input.
    pub async fn call_void<T: DeserializeOwned>(&self, target: &str) -> Result<T, CallError> {
        let key = random_key();
        self.post(target, Vec::new(), &[("idempotency-key", key.as_str())])
            .await
            .unwrap_or_else(|e| panic!("POST {target} failed: {e}"))
            .decode()
    }

    /// Sends to `target` (`POST …/send`) with the given headers; panics unless it is accepted.
    pub async fn send_with_headers(
        &self,
        target: &str,
        body: &impl Serialize,
        headers: &[(&str, &str)],
    ) -> SendResponse {
        let response = self
            .post(&format!("{target}/send"), json_bytes(body), headers)
            .await
            .unwrap_or_else(|e| panic!("POST {target}/send failed: {e}"));
        assert_eq!(
            response.status,
            202,
            "{target}/send was not accepted: {}",
            response.json()
        );
        response
            .decode()
            .unwrap_or_else(|e| panic!("{target}/send: {e}"))
    }

    /// Sends to `target` with a fresh idempotency key.
    pub async fn send(&self, target: &str, body: &impl Serialize) -> SendResponse {
        let key = random_key();
        self.send_with_headers(target, body, &[("idempotency-key", key.as_str())])
            .await
    }

    /// Waits for the invocation to finish and decodes its result.
    pub async fn attach<T: DeserializeOwned>(&self, invocation_id: &str) -> Result<T, CallError> {
        self.get(&format!("restate/invocation/{invocation_id}/attach"))
            .await
    }

    /// `GET {ingress}/{path}`, decoded. Transport errors panic.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        self.get_raw(path)
            .await
            .unwrap_or_else(|e| panic!("GET {path} failed: {e}"))
            .decode()
    }

    /// `PATCH {admin}/{path}`; the status.
    pub async fn admin_patch(&self, path: &str) -> u16 {
        self.http
            .patch(format!("{}/{path}", self.admin_url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("PATCH {path} failed: {e}"))
            .status()
            .as_u16()
    }

    /// `{method} {admin}/{path}` with a JSON body; the JSON answer, which must be a success.
    pub async fn admin_json(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}/{path}", self.admin_url))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
    }

    /// Runs a SQL query on the admin API and returns its rows.
    pub async fn query(&self, sql: &str) -> Vec<Value> {
        let response: Value = self
            .http
            .post(format!("{}/query", self.admin_url))
            .header("accept", "application/json")
            .json(&serde_json::json!({ "query": sql }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("query failed: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("query answered no JSON: {e}"));
        response["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("query answered no rows: {response}"))
            .clone()
    }
}

fn json_bytes(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).expect("a JSON body")
}

async fn read(response: reqwest::Response) -> Result<RawResponse, reqwest::Error> {
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok(RawResponse { status, body })
}

/// Polls `check` every 100 ms until it returns `Ok`, and returns that value; panics with the
/// last error once `timeout` has passed.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(error) if Instant::now() >= deadline => {
                panic!("{what}: still failing after {timeout:?}: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}
