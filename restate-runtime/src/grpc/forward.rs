//! One gRPC call forwarded to Restate's ingress as an invocation: the part of a generated
//! gateway that is the same for every rpc.

use tonic::metadata::{KeyAndValueRef, MetadataMap, MetadataValue};
use tonic::{Request as GrpcRequest, Response as GrpcResponse, Status};

use super::{deadline, status};
use crate::call::{Request, Target};
use crate::codec::Payload;
use crate::codegen::{HandlerType, ServiceDefinition, ServiceType};
use crate::ingress::Ingress;

/// Metadata naming the object key or workflow id.
pub const KEY: &str = "x-restate-key";
/// Metadata asking for a one-way send: `true` submits the invocation and answers at once.
pub const SEND: &str = "x-restate-send";
/// Response metadata carrying the id of an invocation that was sent (or a workflow submitted).
pub const INVOCATION_ID: &str = "x-restate-invocation-id";
/// Metadata making the call idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Metadata that is about the gRPC call or its HTTP transport, not for the handler: gRPC's
/// own, the gateway's, and HTTP's (a `content-length` passed on would cut the ingress request's
/// body short).
pub(crate) fn is_reserved(name: &str) -> bool {
    name.starts_with("grpc-")
        || name.starts_with("x-restate-")
        || name.starts_with("proxy-")
        || name.starts_with("content-")
        || matches!(
            name,
            "te" | "trailer"
                | "transfer-encoding"
                | "connection"
                | "keep-alive"
                | "upgrade"
                | "expect"
                | "host"
                | "accept"
                | "accept-encoding"
                | "user-agent"
                | "authorization"
                | "cookie"
                | IDEMPOTENCY_KEY
        )
}

/// Forwards the calls of one generated gateway service to the ingress.
#[derive(Debug, Clone)]
pub struct Forwarder {
    ingress: Ingress,
    service: &'static ServiceDefinition,
}

impl Forwarder {
    /// Forwards calls of `service` to `ingress`.
    pub fn new(ingress: &Ingress, service: &'static ServiceDefinition) -> Self {
        Self {
            ingress: ingress.clone(),
            service,
        }
    }

    /// Forwards one unary call to the handler `handler` and waits for its result (or, for a
    /// one-way send, for Restate to accept it). `key_field` reads the key from the input when
    /// the proto names a key field; otherwise keyed services take it from `x-restate-key`.
    ///
    /// # Errors
    ///
    /// The [gRPC status](super) of whatever failed; `DEADLINE_EXCEEDED` when the caller's
    /// deadline passed first (an invocation Restate accepted by then goes on).
    pub async fn unary<Req: Payload, Res: Payload>(
        &self,
        handler: &'static str,
        request: GrpcRequest<Req>,
        key_field: Option<fn(&Req) -> &str>,
    ) -> Result<GrpcResponse<Res>, Status> {
        let (metadata, extensions, input) = request.into_parts();
        let timeout = deadline::timeout(&metadata).or_else(|| {
            extensions
                .get::<super::policy::DefaultDeadline>()
                .map(|deadline| deadline.0)
        });
        let forwarded = self.forward(handler, &metadata, input, key_field);
        let Some(timeout) = timeout else {
            return forwarded.await;
        };
        match tokio::time::timeout(timeout, forwarded).await {
            Ok(result) => result,
            Err(_) => Err(Status::deadline_exceeded(format!(
                "no result within the call's deadline of {timeout:?}; if Restate accepted the \
                 invocation, it goes on (call with an idempotency-key to fetch its result later)"
            ))),
        }
    }

    async fn forward<Req: Payload, Res: Payload>(
        &self,
        handler: &'static str,
        metadata: &MetadataMap,
        input: Req,
        key_field: Option<fn(&Req) -> &str>,
    ) -> Result<GrpcResponse<Res>, Status> {
        let definition = self.service.handler(handler).ok_or_else(|| {
            Status::unimplemented(format!("{} has no handler {handler}", self.service.name))
        })?;
        let mut target = Target::new(self.service.name, handler, self.service.codec);
        if self.service.ty != ServiceType::Service {
            target = target.with_key(self.key(metadata, &input, key_field)?);
        }
        let mut request =
            Request::<Ingress, Req, Res>::from_caller(self.ingress.clone(), target.clone(), input);
        for entry in metadata.iter() {
            if let KeyAndValueRef::Ascii(name, value) = entry {
                if let (false, Ok(value)) = (is_reserved(name.as_str()), value.to_str()) {
                    request = request.header(name.as_str(), value);
                }
            }
        }
        if let Some(key) = ascii(metadata, IDEMPOTENCY_KEY) {
            request = request.idempotency_key(key);
        }
        let one_way = ascii(metadata, SEND).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let is_run = definition.ty == Some(HandlerType::WorkflowRun);
        if one_way || is_run {
            let sent = request.send().await.map_err(status::status_of)?;
            let output = if one_way {
                Res::default()
            } else {
                // Submitted (or submitted before, by this id): wait for the run's result.
                let key = target.key().unwrap_or_default();
                self.ingress
                    .workflow(self.service.name, key)
                    .attach(self.service.codec)
                    .await
                    .map_err(status::status_of)?
            };
            let mut response = GrpcResponse::new(output);
            if let Ok(id) = MetadataValue::try_from(sent.invocation_id.as_str()) {
                response.metadata_mut().insert(INVOCATION_ID, id);
            }
            return Ok(response);
        }
        request
            .call()
            .await
            .map(GrpcResponse::new)
            .map_err(status::status_of)
    }

    /// The key of a call to an object or workflow: from the input's key field, else from
    /// `x-restate-key`.
    fn key<Req>(
        &self,
        metadata: &MetadataMap,
        input: &Req,
        key_field: Option<fn(&Req) -> &str>,
    ) -> Result<String, Status> {
        // An empty key is no key, wherever it comes from.
        let key = match key_field {
            Some(field) => Some(field(input)),
            None => ascii(metadata, KEY),
        }
        .filter(|key| !key.is_empty());
        key.map(str::to_owned).ok_or_else(|| {
            let from = if key_field.is_some() {
                "in the request's key field"
            } else {
                "as `x-restate-key` metadata"
            };
            Status::invalid_argument(format!(
                "{} is keyed: send the object key or workflow id {from}",
                self.service.name
            ))
        })
    }
}

/// The value of the ASCII metadata `name`, if present and readable.
fn ascii<'a>(metadata: &'a MetadataMap, name: &str) -> Option<&'a str> {
    metadata.get(name)?.to_str().ok()
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn transport_and_protocol_headers_stay_behind() {
        for name in [
            "content-length",
            "content-type",
            "grpc-timeout",
            "x-restate-key",
            "te",
            "authorization",
            "idempotency-key",
            "transfer-encoding",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in ["x-greeting", "traceparent", "x-request-id"] {
            assert!(!is_reserved(name), "{name}");
        }
    }
}
