//! Run-time library for Restate services generated from `.proto` files by `restate-codegen`.
//!
//! A handler receives a [`Context`] whose operations are journaled by Restate: a `run` side
//! effect, a timer, or a call to another service happens once, and replays its recorded result
//! when the invocation is retried. Generated server wrappers bind your implementation of the
//! generated trait to an [`Endpoint`]; serve it:
//!
//! ```ignore
//! mod helloworld {
//!     restate_runtime::include_proto!("helloworld");
//! }
//! use helloworld::{Greeter, GreeterServer, HelloRequest, HelloResponse};
//! use restate_runtime::{Context, Endpoint, HandlerError};
//!
//! struct MyGreeter;
//!
//! impl Greeter for MyGreeter {
//!     async fn say_hello(&self, ctx: Context, request: HelloRequest) -> Result<HelloResponse, HandlerError> {
//!         Ok(HelloResponse { message: format!("Hello, {}!", request.name) })
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     Endpoint::builder()
//!         .bind(GreeterServer::new(MyGreeter))
//!         .build()
//!         .serve_from_env() // 0.0.0.0:$PORT (9080), logs to stderr, stops on SIGTERM / Ctrl-C
//!         .await
//! }
//! ```
//!
//! What is where (the names handlers use most are in [`prelude`]):
//!
//! - handlers: [`Context`] and the keyed contexts ([`ObjectContext`], [`WorkflowContext`], ...),
//!   [`DurableFuture`] and its combinators, [`HandlerError`] and [`TerminalError`];
//! - calls: generated clients build a [`Request`], journaled through a context or sent over HTTP
//!   through an [`ingress::Ingress`];
//! - serving: [`Endpoint`], which binds generated servers (each a [`Service`]), with hooks
//!   around what handlers do ([`intercept`]); a gRPC front door for the same services:
//!   `grpc::Gateway` (feature `grpc`);
//! - schedules: `schedule` (feature `schedules`) calls a handler on a cron expression;
//! - payloads: [`Payload`] and [`Codec`];
//! - tests: the crate `restate-test` starts a real `restate-server` (or simulates one in
//!   process) for an [`Endpoint`];
//! - changing code under invocations in flight: `replay` (feature `replay-check`) replays
//!   their recorded journals against a new build.
//!
//! The code `restate-codegen` generates relies on the module `codegen` alone, which also re-exports the
//! crates it needs, so a service crate depends on `restate-runtime` (and tokio for `main`).

mod call;
mod codec;
#[doc(hidden)]
pub mod codegen;
mod context;
mod endpoint;
mod engine;
mod error;
#[cfg(feature = "grpc")]
pub mod grpc;
pub mod ingress;
pub mod intercept;
pub mod prelude;
#[cfg(feature = "replay-check")]
pub mod replay;
#[cfg(feature = "schedules")]
pub mod schedule;
pub mod service;
pub mod telemetry;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod test_support;

pub use call::{Caller, IntoCaller, Request, Target, WorkflowHandle};
pub use codec::{Codec, CodecError, Payload};
/// What Restate does once a retry policy's attempts are used up ([`ServiceOptions::retry_on_max_attempts`]).
pub use codegen::OnMaxAttempts;
pub use context::{
    CallFuture, Context, InvocationHandle, ObjectContext, ObjectSharedContext, RunRetryPolicy,
    SendHandle, WorkflowContext, WorkflowSharedContext,
};
pub use endpoint::{
    DEFAULT_BODY_STALL_TIMEOUT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_BUFFERED_BODIES, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_REQUEST_BODY, Endpoint, EndpointBuilder, HandlerOptions, IdentityKeyError,
    ResponseBody, ServiceOptions, shutdown_signal,
};
#[cfg(feature = "lambda")]
pub use endpoint::{LambdaRequest, LambdaResponse};
pub use engine::{Completions, DurableFuture, all_settled, any, join_all, race, select};
pub use error::{HandlerError, TerminalError};
pub use service::Service;

/// Raw payloads, for [`Request::raw`].
pub use bytes::Bytes;
/// The `rand` crate, for the traits [`Context::rand`]'s generator implements.
pub use rand;
/// The `uuid` crate, for [`Context::random_uuid`].
pub use uuid;

/// Includes the Rust code `restate-codegen` generated for a proto package.
///
/// ```ignore
/// pub mod helloworld {
///     restate_runtime::include_proto!("helloworld");
/// }
/// ```
#[macro_export]
macro_rules! include_proto {
    ($package:literal) => {
        include!(concat!(env!("OUT_DIR"), "/", $package, ".rs"));
    };
}
