//! Errors a handler returns: terminal ones end the invocation, all others are retried.

use std::borrow::Cow;
use std::fmt;

/// An error that ends the invocation: Restate records it as the invocation's result and does not
/// retry.
///
/// The code follows HTTP status semantics (`400` bad input, `404` not found, `409` cancelled,
/// `501` not implemented, ...). Callers of the failed invocation receive the same code and
/// message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalError {
    code: u16,
    message: String,
    metadata: Vec<(String, String)>,
}

impl TerminalError {
    /// The code used when none is given.
    pub const DEFAULT_CODE: u16 = 500;

    /// A terminal error with the given code and message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            metadata: Vec::new(),
        }
    }

    /// A terminal error with code 500.
    pub fn from_message(message: impl Into<String>) -> Self {
        Self::new(Self::DEFAULT_CODE, message)
    }

    /// Attaches a metadata entry, carried to callers alongside code and message.
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.push((key.into(), value.into()));
        self
    }

    /// The error code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The error message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Metadata entries, in insertion order.
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// The code of [`TerminalError::timeout`], as Restate's SDKs use it for timeouts.
    pub const TIMEOUT_CODE: u16 = 408;

    /// The error a [`DurableFuture::timeout`](crate::DurableFuture::timeout) ends with when its
    /// timer fires first: code 408.
    pub fn timeout(after: std::time::Duration) -> Self {
        Self::new(Self::TIMEOUT_CODE, format!("timed out after {after:?}"))
    }

    /// Whether this is a timeout: code 408, from [`TerminalError::timeout`] or from a handler
    /// that answered so.
    pub fn is_timeout(&self) -> bool {
        self.code == Self::TIMEOUT_CODE
    }

    /// The error a handler without an implementation answers with.
    pub fn not_implemented(service: &str, handler: &str) -> Self {
        Self::new(
            501,
            format!("handler {service}/{handler} is not implemented"),
        )
    }
}

impl fmt::Display for TerminalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "terminal error [{}]: {}", self.code, self.message)
    }
}

impl std::error::Error for TerminalError {}

impl From<restate_sdk_shared_core::TerminalFailure> for TerminalError {
    fn from(failure: restate_sdk_shared_core::TerminalFailure) -> Self {
        Self {
            code: failure.code,
            message: failure.message,
            metadata: failure.metadata,
        }
    }
}

impl From<TerminalError> for restate_sdk_shared_core::TerminalFailure {
    fn from(error: TerminalError) -> Self {
        Self {
            code: error.code,
            message: error.message,
            metadata: error.metadata,
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error type of handlers and `run` closures.
///
/// Any error converts into it with `?`. If the error is a [`TerminalError`], the invocation (or the
/// `run`) fails for good; any other error is retried by Restate according to its retry policy.
pub struct HandlerError(BoxError);

impl HandlerError {
    /// Whether this error ends the invocation instead of being retried.
    pub fn is_terminal(&self) -> bool {
        self.0.is::<TerminalError>()
    }

    /// The terminal error inside, if this is one.
    pub fn as_terminal(&self) -> Option<&TerminalError> {
        self.0.downcast_ref::<TerminalError>()
    }

    /// Splits into the terminal error, or the retryable error it wraps.
    pub fn into_terminal(self) -> Result<TerminalError, BoxError> {
        self.0.downcast::<TerminalError>().map(|t| *t)
    }

    /// A retryable error carrying just a message.
    pub fn retryable(message: impl Into<Cow<'static, str>>) -> Self {
        #[derive(Debug)]
        struct Message(Cow<'static, str>);
        impl fmt::Display for Message {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl std::error::Error for Message {}
        Self(Box::new(Message(message.into())))
    }
}

impl<E: Into<BoxError>> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self(error.into())
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_errors_stay_terminal_through_question_mark() {
        fn fails() -> Result<(), HandlerError> {
            Err(TerminalError::new(404, "missing"))?
        }
        let error = fails().unwrap_err();
        assert!(error.is_terminal());
        let terminal = error.into_terminal().unwrap();
        assert_eq!(terminal.code(), 404);
        assert_eq!(terminal.message(), "missing");
    }

    #[test]
    fn other_errors_are_retryable() {
        fn fails() -> Result<(), HandlerError> {
            Err(std::io::Error::other("disk on fire"))?
        }
        let error = fails().unwrap_err();
        assert!(!error.is_terminal());
        assert_eq!(error.to_string(), "disk on fire");
        assert!(!HandlerError::retryable("again").is_terminal());
    }
}
