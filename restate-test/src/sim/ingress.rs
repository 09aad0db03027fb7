//! The simulator behind an [`Ingress`]: generated ingress clients (and `Request::raw`) call the
//! simulated services unchanged, through a [`Transport`] that answers as Restate's ingress does.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Method, StatusCode};
use tokio::sync::Mutex;

use super::{SimError, Simulator, Status, Timer};
use restate_runtime::codegen::Codec;
use restate_runtime::ingress::{HttpRequest, HttpResponse, Ingress, Transport};

/// A simulator shared by the test and the ingress clients it hands out.
#[derive(Debug, Clone)]
pub struct SharedSimulator(Arc<Mutex<Simulator>>);

impl Simulator {
    /// Shares the simulator, for [`SharedSimulator::ingress`].
    pub fn into_shared(self) -> SharedSimulator {
        SharedSimulator(Arc::new(Mutex::new(self)))
    }
}

impl SharedSimulator {
    /// An ingress whose requests the simulator answers: make generated ingress clients from it.
    /// A call runs the simulation until it has its result, moving the virtual clock as needed;
    /// a send only enqueues.
    pub fn ingress(&self) -> Ingress {
        Ingress::with_transport("http://simulated.restate", SimTransport(self.clone()))
    }

    /// Serves the simulator's ingress over HTTP on `listener` until `shutdown` resolves, for
    /// tools and tests that speak HTTP to Restate's ingress. The routes are those of
    /// [`ingress`](Self::ingress); the admin API is not simulated.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        use http_body_util::{BodyExt, Full};

        let service =
            hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                let sim = self.clone();
                async move {
                    let (parts, body) = request.into_parts();
                    let body = body
                        .collect()
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    let url = format!("http://simulated.restate{}", parts.uri);
                    let headers = parts
                        .headers
                        .iter()
                        .filter_map(|(name, value)| {
                            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
                        })
                        .collect();
                    let request = HttpRequest {
                        method: parts.method,
                        url,
                        headers,
                        body,
                    };
                    let answer = {
                        let mut sim = sim.0.lock().await;
                        answer(&mut sim, request).await
                    };
                    let response = http::Response::builder()
                        .status(answer.status)
                        .header(http::header::CONTENT_TYPE, "application/json")
                        .body(Full::new(answer.body))
                        .expect("a valid response");
                    Ok::<_, std::convert::Infallible>(response)
                }
            });
        restate_runtime::test_support::serve_http(
            listener,
            shutdown,
            Duration::from_secs(1),
            service,
        )
        .await
    }

    /// The journals of every invocation so far ([`Simulator::journals`]).
    pub async fn journals(&self) -> Vec<super::Journal> {
        self.0.lock().await.journals()
    }

    /// The simulator, for advancing the clock or looking at state between requests.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, Simulator> {
        self.0.lock().await
    }
}

/// Answers ingress requests from the simulator.
#[derive(Debug)]
struct SimTransport(SharedSimulator);

impl Transport for SimTransport {
    fn send(
        &self,
        request: HttpRequest,
    ) -> BoxFuture<'_, Result<HttpResponse, Box<dyn std::error::Error + Send + Sync>>> {
        Box::pin(async move {
            let mut sim = self.0.lock().await;
            Ok(answer(&mut sim, request).await)
        })
    }
}

/// What Restate's ingress would answer to `request`.
async fn answer(sim: &mut Simulator, request: HttpRequest) -> HttpResponse {
    match route(sim, &request).await {
        Ok(response) => response,
        Err(error) => {
            let status = match error {
                SimError::UnknownTarget(_) | SimError::UnknownInvocation(_) => {
                    StatusCode::NOT_FOUND
                }
                SimError::Unsupported { .. } => StatusCode::NOT_IMPLEMENTED,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            json(status, &serde_json::json!({ "message": error.to_string() }))
        }
    }
}

/// Answers `request` by its route.
async fn route(sim: &mut Simulator, request: &HttpRequest) -> Result<HttpResponse, SimError> {
    let (path, query) = request
        .url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path.split_once('?').unwrap_or((path, "")))
        .unwrap_or_default();
    let segments: Vec<String> = path.split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match (&request.method, segments.as_slice()) {
        (&Method::GET, ["restate", "invocation", id, "attach"]) => {
            let outcome = sim.run_until_done(id).await?;
            Ok(outcome_response(outcome))
        }
        (&Method::GET, ["restate", "invocation", id, "output"]) => {
            let index = sim.index_of(id)?;
            Ok(output_response(sim, index))
        }
        (
            &Method::GET,
            [
                "restate",
                "invocation",
                service,
                rest @ ..,
                verb @ ("attach" | "output"),
            ],
        ) if matches!(rest.len(), 2 | 3) => {
            // By idempotency key: {service}[/{key}]/{handler}/{idempotency key}.
            let (key, handler, idempotency_key) = match rest {
                [handler, idempotency_key] => ("", *handler, *idempotency_key),
                [key, handler, idempotency_key] => (*key, *handler, *idempotency_key),
                _ => return Err(SimError::UnknownInvocation(path.to_owned())),
            };
            let index = sim
                .by_idempotency_key(service, key, handler, idempotency_key)
                .ok_or_else(|| SimError::UnknownInvocation(path.to_owned()))?;
            attach_or_output(sim, index, *verb == "attach").await
        }
        (
            &Method::GET,
            [
                "restate",
                "workflow",
                service,
                key,
                verb @ ("attach" | "output"),
            ],
        ) => {
            let run = sim
                .objects
                .get(&((*service).to_owned(), (*key).to_owned()))
                .and_then(|object| object.run)
                .ok_or_else(|| SimError::UnknownInvocation(format!("{service}/{key}")))?;
            attach_or_output(sim, run, *verb == "attach").await
        }
        (&Method::POST, ["restate", "awakeables", id, verb @ ("resolve" | "reject")]) => Ok(
            complete_awakeable(sim, id, *verb == "resolve", &request.body),
        ),
        (&Method::POST, [service, rest @ ..]) if !rest.is_empty() && *service != "restate" => {
            let keyed = sim.services.get(*service).is_some_and(|s| s.keyed);
            let (key, handler, send) = match (keyed, rest) {
                (false, [handler]) => ("", *handler, false),
                (false, [handler, "send"]) => ("", *handler, true),
                (true, [key, handler]) => (*key, *handler, false),
                (true, [key, handler, "send"]) => (*key, *handler, true),
                _ => return Err(SimError::UnknownTarget(path.to_owned())),
            };
            invoke(sim, request, (service, key, handler), send, query).await
        }
        _ => Err(SimError::Unsupported {
            invocation: path.to_owned(),
            feature: format!("the ingress route {} /{path}", request.method),
        }),
    }
}

/// Attaches to invocation `index` (runs until it has its result), or gets its output.
async fn attach_or_output(
    sim: &mut Simulator,
    index: usize,
    attach: bool,
) -> Result<HttpResponse, SimError> {
    let id = sim.invocations[index].id.clone();
    if attach {
        return Ok(outcome_response(sim.run_until_done(&id).await?));
    }
    Ok(output_response(sim, index))
}

/// Resolves (with `body`) or rejects (with `body` as the message) the awakeable `id`.
fn complete_awakeable(sim: &mut Simulator, id: &str, resolve: bool, body: &Bytes) -> HttpResponse {
    let result = if resolve {
        Ok(body.clone())
    } else {
        Err(super::protocol::Failure {
            code: 500,
            message: String::from_utf8_lossy(body).into_owned(),
            metadata: Vec::new(),
        })
    };
    match sim.complete_awakeable(id, result) {
        Ok(_) => HttpResponse {
            status: StatusCode::ACCEPTED,
            body: Bytes::new(),
        },
        Err(error) => json(
            StatusCode::BAD_REQUEST,
            &serde_json::json!({ "message": error.to_string() }),
        ),
    }
}

/// A call (run until it has its result) or a send (`send`, delayed by the query's `delay`) of
/// `request` to a handler, named by (service, key, handler).
async fn invoke(
    sim: &mut Simulator,
    request: &HttpRequest,
    (service, key, handler): (&str, &str, &str),
    send: bool,
    query: &str,
) -> Result<HttpResponse, SimError> {
    let codec = match header(request, "content-type") {
        Some(content_type) if content_type.starts_with("application/proto") => Codec::Protobuf,
        _ => Codec::Json,
    };
    // A workflow's run requested again, or a request with a known idempotency key, joins the
    // first.
    let (index, previously) = sim.invoke_idempotent(
        service,
        handler,
        key,
        request.body.clone(),
        forwarded_headers(request),
        header(request, "idempotency-key").map(str::to_owned),
    )?;
    sim.invocations[index].codec = codec;
    let id = sim.invocations[index].id.clone();
    if !send {
        sim.start(index);
        let outcome = sim.run_until_done(&id).await?;
        return Ok(outcome_response(outcome));
    }
    match delay(query) {
        Some(delay) if !delay.is_zero() => {
            let due = sim.after(delay);
            sim.schedule(due, Timer::Wake(index));
        }
        _ => sim.start(index),
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &serde_json::json!({
            "invocationId": id,
            "status": if previously { "PreviouslyAccepted" } else { "Accepted" },
        }),
    ))
}

/// The value of `request`'s header `name`.
fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// The headers of `request` Restate hands the handler: the request's own.
fn forwarded_headers(request: &HttpRequest) -> Vec<super::protocol::Header> {
    request
        .headers
        .iter()
        .filter(|(name, _)| {
            !["content-type", "content-length", "idempotency-key"]
                .iter()
                .any(|own| name.eq_ignore_ascii_case(own))
        })
        .map(|(key, value)| super::protocol::Header {
            key: key.clone(),
            value: value.clone(),
        })
        .collect()
}

/// The output of invocation `index`, or 470 while it runs.
fn output_response(sim: &Simulator, index: usize) -> HttpResponse {
    match &sim.invocations[index].status {
        Status::Completed(result) => {
            outcome_response(result.clone().map_err(|failure| super::terminal(&failure)))
        }
        _ => json(
            StatusCode::from_u16(470).expect("a valid status"),
            &serde_json::json!({ "message": "not ready" }),
        ),
    }
}

/// `delay=…ms` of a send's query.
fn delay(query: &str) -> Option<Duration> {
    query.split('&').find_map(|pair| {
        let millis = pair.strip_prefix("delay=")?.strip_suffix("ms")?;
        millis.parse().ok().map(Duration::from_millis)
    })
}

fn outcome_response(outcome: super::Outcome) -> HttpResponse {
    match outcome {
        Ok(body) => HttpResponse {
            status: StatusCode::OK,
            body,
        },
        Err(error) => {
            let status = StatusCode::from_u16(error.code())
                .ok()
                .filter(|status| status.is_client_error() || status.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let metadata: serde_json::Map<String, serde_json::Value> = error
                .metadata()
                .iter()
                .map(|(key, value)| (key.clone(), serde_json::Value::from(value.clone())))
                .collect();
            json(
                status,
                &serde_json::json!({
                    "code": error.code(),
                    "message": error.message(),
                    "metadata": metadata,
                }),
            )
        }
    }
}

fn json(status: StatusCode, body: &serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        body: Bytes::from(body.to_string()),
    }
}

/// A path segment with its `%XX` escapes decoded.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
