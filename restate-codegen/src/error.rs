//! The error `compile` returns: every problem found, one per line, readable where a `build.rs`
//! prints it.

use std::fmt;
use std::io;

use crate::model::{self, Diagnostic};

/// Why code generation failed: protoc rejected the files, a service breaks Restate's rules
/// (every problem found, one per line, naming file, service and rpc), or the output could not be
/// written.
///
/// Its `Debug` is its message, so a `build.rs` whose `main` returns
/// `Result<(), restate_codegen::Error>` prints the diagnostics as they are, one per line. It
/// converts into an [`io::Error`] for code that wants one.
pub struct Error {
    kind: io::ErrorKind,
    message: String,
    diagnostics: Vec<Diagnostic>,
}

impl Error {
    /// The kind of failure: [`io::ErrorKind::InvalidInput`] for problems of the protos, other
    /// kinds when protoc could not run or the output could not be written.
    pub fn kind(&self) -> io::ErrorKind {
        self.kind
    }

    /// The problems of the services, each naming its file, service and rpc (or message), when
    /// the protos break Restate's rules; empty for other failures. The message lists the same
    /// problems, one per line.
    ///
    /// ```
    /// # fn build() -> Result<(), restate_codegen::Error> { Ok(()) }
    /// if let Err(error) = build() {
    ///     for problem in error.diagnostics() {
    ///         eprintln!("{}: {}: {}", problem.file, problem.service, problem.message);
    ///     }
    /// }
    /// ```
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(error: io::Error) -> Self {
        Self {
            kind: error.kind(),
            message: error.to_string(),
            diagnostics: Vec::new(),
        }
    }
}

impl From<model::Error> for Error {
    fn from(error: model::Error) -> Self {
        Self {
            kind: io::ErrorKind::InvalidInput,
            message: error.to_string(),
            diagnostics: error.diagnostics().to_vec(),
        }
    }
}

impl From<Error> for io::Error {
    fn from(error: Error) -> Self {
        io::Error::new(error.kind, error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_one_problem_per_line() {
        let error = Error::from(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a.proto: service p.S: first\na.proto: service p.S: second",
        ));
        assert_eq!(
            format!("{error:?}"),
            "a.proto: service p.S: first\na.proto: service p.S: second"
        );
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let back: io::Error = error.into();
        assert_eq!(back.kind(), io::ErrorKind::InvalidInput);
    }
}
