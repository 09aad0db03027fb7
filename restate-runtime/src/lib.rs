//! Run-time library for Restate services generated from `.proto` files by `restate-codegen`.
//!
//! A handler receives a [`Context`] whose operations are journaled by Restate: a `run` side
//! effect, a timer, or a call to another service happens once, and replays its recorded result
//! when the invocation is retried. Generated server wrappers implement [`Service`]; bind them to
//! an [`Endpoint`] and serve it:
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
//!         .serve("0.0.0.0:9080".parse().unwrap())
//!         .await
//! }
//! ```

mod attempt;
mod awakeable;
pub mod client;
pub mod codec;
mod context;
mod discovery;
mod durable;
mod endpoint;
mod error;
pub mod ingress;
mod invocation;
mod keyed;
mod retry;
mod server;
mod service;
#[cfg(feature = "testing")]
pub mod testing;
mod vm_driver;

pub use client::{Request, WorkflowHandle};
pub use codec::{Format, Payload};
pub use context::Context;
pub use durable::{Completions, DurableFuture, all_settled, any, join_all, race, select};
pub use endpoint::{Endpoint, EndpointBuilder, IdentityKeyError, ResponseBody};
pub use error::{HandlerError, TerminalError};
pub use invocation::{CallFuture, InvocationHandle, SendHandle};
pub use keyed::{ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext};
pub use retry::RunRetryPolicy;
pub use server::shutdown_signal;
pub use service::{
    Config, HandlerDefinition, HandlerFuture, HandlerType, Invocation, OnMaxAttempts,
    PayloadDefinition, RetryConfig, Service, ServiceDefinition, ServiceType, encode_output,
};

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
