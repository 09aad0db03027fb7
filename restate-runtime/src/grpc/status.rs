//! How Restate's answers become gRPC statuses.
//!
//! | Restate terminal error code | gRPC status |
//! |---|---|
//! | 400 | `INVALID_ARGUMENT` |
//! | 401 | `UNAUTHENTICATED` |
//! | 403 | `PERMISSION_DENIED` |
//! | 404 | `NOT_FOUND` |
//! | 408, 504 | `DEADLINE_EXCEEDED` |
//! | 409 (cancelled) | `ABORTED` |
//! | 412 | `FAILED_PRECONDITION` |
//! | 413, 429 | `RESOURCE_EXHAUSTED` |
//! | 499 | `CANCELLED` |
//! | 501 | `UNIMPLEMENTED` |
//! | 503 | `UNAVAILABLE` |
//! | any other 4xx | `FAILED_PRECONDITION` |
//! | 500, any other 5xx (570: journal mismatch) | `INTERNAL` |
//! | anything else | `UNKNOWN` |
//!
//! The status message is the error's message; the status metadata carries `x-restate-code`
//! (the Restate code) and the error's metadata entries whose keys and values are valid gRPC
//! metadata (and are not gRPC's or HTTP's own headers). Refusals of the ingress itself (before
//! any handler ran) map by their HTTP status the same way, except that 409 is `ALREADY_EXISTS`,
//! 502 `UNAVAILABLE`, and 401 and 403 `INTERNAL` (the ingress refused the gateway's own
//! credentials, not the caller's); a Restate that cannot be reached is `UNAVAILABLE`, a request
//! that cannot be encoded for the ingress (a timestamp out of range, say) `INVALID_ARGUMENT`,
//! and an answer that is not what the ingress sends `INTERNAL`.

use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::{Code, Status};

use super::forward::is_reserved;
use crate::error::TerminalError;
use crate::ingress::IngressError;

/// The metadata key carrying the Restate error code.
pub(crate) const CODE_KEY: &str = "x-restate-code";

/// The gRPC code of a Restate terminal error code.
pub(crate) fn code_of(restate_code: u16) -> Code {
    let specific = match restate_code {
        400 => Some(Code::InvalidArgument),
        401 => Some(Code::Unauthenticated),
        403 => Some(Code::PermissionDenied),
        404 => Some(Code::NotFound),
        408 | 504 => Some(Code::DeadlineExceeded),
        409 => Some(Code::Aborted),
        412 => Some(Code::FailedPrecondition),
        413 | 429 => Some(Code::ResourceExhausted),
        499 => Some(Code::Cancelled),
        501 => Some(Code::Unimplemented),
        503 => Some(Code::Unavailable),
        _ => None,
    };
    specific.unwrap_or(match restate_code {
        400..=499 => Code::FailedPrecondition,
        500..=599 => Code::Internal,
        _ => Code::Unknown,
    })
}

/// The gRPC status of a forwarded call that failed.
pub(crate) fn status_of(error: IngressError) -> Status {
    match error {
        IngressError::Terminal(error) => terminal_status(&error),
        IngressError::Rejected { status, message } => {
            let code = match status.as_u16() {
                401 | 403 => Code::Internal,
                409 => Code::AlreadyExists,
                502 => Code::Unavailable,
                other => code_of(other),
            };
            let mut metadata = MetadataMap::new();
            insert(&mut metadata, CODE_KEY, &status.as_u16().to_string());
            let message = format!("the Restate ingress refused the call ({status}): {message}");
            Status::with_metadata(code, message, metadata)
        }
        IngressError::Connection(error) => {
            Status::unavailable(format!("cannot reach the Restate ingress: {error}"))
        }
        IngressError::Protocol(message) => Status::internal(format!(
            "unexpected answer from the Restate ingress: {message}"
        )),
        IngressError::Request(error) => {
            Status::invalid_argument(format!("cannot pass the request on to Restate: {error}"))
        }
        IngressError::Codec(error) => Status::internal(format!(
            "cannot decode the response of the handler: {error}"
        )),
    }
}

/// The status of a terminal error: its code mapped, its message, its metadata.
fn terminal_status(error: &TerminalError) -> Status {
    let mut metadata = MetadataMap::new();
    for (key, value) in error.metadata() {
        if !is_reserved(&key.to_ascii_lowercase()) {
            insert(&mut metadata, key, value);
        }
    }
    // Last, so that no entry of the error's metadata stands in for it.
    insert(&mut metadata, CODE_KEY, &error.code().to_string());
    Status::with_metadata(code_of(error.code()), error.message(), metadata)
}

/// Inserts `key: value` when both are valid ASCII metadata; leaves it out otherwise.
fn insert(metadata: &mut MetadataMap, key: &str, value: &str) {
    let key = key.to_ascii_lowercase();
    if let (Ok(key), Ok(value)) = (
        MetadataKey::from_bytes(key.as_bytes()),
        value.parse::<MetadataValue<_>>(),
    ) {
        metadata.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;

    use super::*;

    #[test]
    fn terminal_errors_keep_message_code_and_metadata() {
        let error = TerminalError::new(404, "no such cart")
            .with_metadata("cart", "c-1")
            .with_metadata("bad key!", "dropped")
            .with_metadata("content-length", "7")
            .with_metadata("x-restate-code", "200");
        let status = status_of(IngressError::Terminal(error));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "no such cart");
        assert_eq!(status.metadata().get(CODE_KEY).unwrap(), "404");
        assert_eq!(status.metadata().get("cart").unwrap(), "c-1");
        assert_eq!(status.metadata().len(), 2);
    }

    #[test]
    fn the_table() {
        let table = [
            (400, Code::InvalidArgument),
            (401, Code::Unauthenticated),
            (403, Code::PermissionDenied),
            (404, Code::NotFound),
            (408, Code::DeadlineExceeded),
            (409, Code::Aborted),
            (412, Code::FailedPrecondition),
            (418, Code::FailedPrecondition),
            (413, Code::ResourceExhausted),
            (429, Code::ResourceExhausted),
            (499, Code::Cancelled),
            (500, Code::Internal),
            (501, Code::Unimplemented),
            (503, Code::Unavailable),
            (504, Code::DeadlineExceeded),
            (570, Code::Internal),
            (200, Code::Unknown),
            (700, Code::Unknown),
        ];
        for (restate, grpc) in table {
            assert_eq!(code_of(restate), grpc, "{restate}");
        }
    }

    #[test]
    fn refusals_and_outages() {
        let refused = status_of(IngressError::Rejected {
            status: StatusCode::CONFLICT,
            message: "already running".to_owned(),
        });
        assert_eq!(refused.code(), Code::AlreadyExists);
        let credentials = status_of(IngressError::Rejected {
            status: StatusCode::UNAUTHORIZED,
            message: "bad token".to_owned(),
        });
        assert_eq!(credentials.code(), Code::Internal);
        let down = status_of(IngressError::Connection("refused".into()));
        assert_eq!(down.code(), Code::Unavailable);
        let garbage = status_of(IngressError::Protocol("html".to_owned()));
        assert_eq!(garbage.code(), Code::Internal);
    }
}
