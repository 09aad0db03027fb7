//! What can go wrong while setting up a test environment.

use std::io;

/// What can go wrong while setting up a test environment.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The restate-server binary (or another package from the npm registry) could not be found
    /// or installed.
    #[error("cannot install {0}")]
    Install(String),
    /// The server process could not be started or did not become healthy.
    #[error("restate-server did not start: {0}")]
    Start(String),
    /// The server process exited while starting.
    #[error("restate-server exited while starting: {0}")]
    Exited(String),
    /// Registering the endpoint with the server failed.
    #[error("cannot register the endpoint: {0}")]
    Register(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
}
