//! Why a descriptor set does not make a valid set of Restate services.

use std::fmt;

/// One problem found in a proto service, located by file, service and (when it concerns one)
/// method; or in a message, located by file and message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The proto file, as protoc names it, e.g. `greeter.proto`.
    pub file: String,
    /// The fully qualified service name, e.g. `helloworld.Greeter`; empty for a problem of a
    /// message.
    pub service: String,
    /// The rpc name, when the problem concerns one.
    pub method: Option<String>,
    /// The fully qualified message name, when the problem is one of a message's.
    pub message_type: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Diagnostic {
    /// A problem of `service`, declared in `file`, or of its rpc `method`.
    pub(super) fn new(
        file: &str,
        service: &str,
        method: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            service: service.to_owned(),
            method: method.map(str::to_owned),
            message_type: None,
            message: message.into(),
        }
    }

    /// A problem of the message `message_type`, declared in `file`.
    pub(super) fn of_message(file: &str, message_type: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            service: String::new(),
            method: None,
            message_type: Some(message_type.to_owned()),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(message_type) = &self.message_type {
            return write!(f, "{}: message {message_type}: {}", self.file, self.message);
        }
        write!(f, "{}: service {}", self.file, self.service)?;
        if let Some(method) = &self.method {
            write!(f, ", method {method}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The descriptors could not be read, or describe services Restate cannot run.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The bytes are not a valid `FileDescriptorSet`.
    #[error("invalid file descriptor set: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    /// A file asked for is not in the descriptor set.
    #[error("{0} is not in the file descriptor set")]
    MissingFile(String),
    /// The services break Restate's rules; every problem found is listed.
    #[error("{}", display_all(.0))]
    Invalid(Vec<Diagnostic>),
    /// The descriptors use what restate-codegen cannot read.
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// The problems found in the services, if that is what this error is about.
    pub(crate) fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Invalid(diagnostics) => diagnostics,
            _ => &[],
        }
    }
}

fn display_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}
