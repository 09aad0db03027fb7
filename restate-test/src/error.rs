//! What can go wrong while setting up a test environment.

use std::io;

use crate::RESTATE_SERVER_VERSION;

/// What can go wrong while setting up a test environment.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The restate-server binary could not be found or installed.
    #[error("cannot install restate-server {RESTATE_SERVER_VERSION}: {0}")]
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
