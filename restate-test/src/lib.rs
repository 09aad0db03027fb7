//! Testing Restate services built with `restate-runtime`, two ways:
//!
//! - against a real `restate-server`, with no Docker and no mock: [`RestateServer::start`] finds
//!   (or installs from the npm registry, once) the pinned `restate-server` binary, starts it on
//!   free loopback ports with a temporary data directory, and waits until it is healthy;
//!   [`TestEnvironment::start`] adds an endpoint served on a free port and registered with that
//!   server; [`RestateCluster`] starts several nodes. Dropping any of them stops everything.
//! - in process, with virtual time: [`sim::Simulator`] plays Restate's part for an endpoint's
//!   services, for unit tests that run in milliseconds.
//!
//! ```no_run
//! # fn endpoint() -> restate_runtime::Endpoint { unimplemented!() }
//! use restate_test::TestEnvironment;
//!
//! let env = TestEnvironment::start(endpoint()).expect("restate-server starts");
//! let url = format!("{}/helloworld.Greeter/SayHello", env.ingress_url());
//! // POST to `url` with any HTTP client.
//! ```
//!
//! Set `RESTATE_SERVER_BIN` to use a binary of your own instead of the pinned package.

mod cluster;
mod environment;
mod error;
mod install;
mod probe;
mod process;
mod server;
pub mod sim;

pub use cluster::{RestateCluster, RestateClusterBuilder};
pub use environment::{TestEnvironment, TestEnvironmentBuilder};
pub use error::TestError;
pub use install::{RESTATE_SERVER_VERSION, npm_install, server_binary};
pub use server::{RestateServer, RestateServerBuilder};
