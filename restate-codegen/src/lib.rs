//! Build-time code generation for Restate services described in `.proto` files.
//!
//! Call [`compile`] from `build.rs`; it runs a vendored protoc, so nothing needs installing:
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     restate_codegen::compile(&["proto/greeter.proto"], &["proto"])
//! }
//! ```
//!
//! For each proto package it writes `<package>.rs` to `OUT_DIR`, holding
//!
//! - the message types (prost), each a `restate_runtime::Payload` in both codecs: binary
//!   Protobuf through prost, ProtoJSON (the proto3 JSON mapping) through the package's
//!   descriptors, which the file embeds. `map` fields are `BTreeMap`s and maps are written in
//!   key order, so a message encodes to the same bytes on every attempt of an invocation
//!   (Restate compares a replayed call's parameter with the journal). The well-known types come
//!   from `pbjson-types`, whose `google.protobuf.Struct` keeps a `HashMap`: in binary Protobuf
//!   a `Struct` still encodes in hash order (its ProtoJSON is sorted like every map). An `Any`
//!   field's ProtoJSON needs the packed type among the package's descriptors (its files and
//!   their imports). Serde implementations for your own use are one switch away
//!   ([`Builder::serde_impls`]);
//! - for each service of the listed files: a handler trait to implement (`Greeter`), a server
//!   wrapper that binds an implementation to a `restate_runtime` endpoint (`GreeterServer`),
//!   its discovery metadata (`GREETER_DEFINITION`), and a client (`GreeterClient`) that calls
//!   the service from inside another handler, journaled, when made from a context, or from
//!   outside Restate through its HTTP ingress when made from an `Ingress` (the alias
//!   `GreeterIngressClient`).
//!
//! Include it with `restate_runtime::include_proto!("helloworld")`. The generated code refers
//! to `restate_runtime::codegen` only, so the crate that includes it needs `restate-runtime` as
//! its one dependency (plus tokio for `main`).
//!
//! Services are plain services unless annotated; annotations come from
//! `import "restate/options.proto";` or, for protos written for the Go SDK,
//! `import "dev/restate/sdk/go.proto";` — both ship with this crate:
//!
//! ```proto
//! service Counter {
//!   option (restate.service_type) = VIRTUAL_OBJECT;
//!   rpc Add(AddRequest) returns (google.protobuf.Empty);
//!   rpc Get(google.protobuf.Empty) returns (Value) {
//!     option (restate.handler_type) = SHARED;
//!   }
//! }
//! ```
//!
//! The stages are public for tools and tests: [`model::from_descriptor_set`] reads and
//! validates services from an encoded `FileDescriptorSet`, and [`emit::service`] turns one
//! into Rust source.

mod annotations;
mod builder;
pub mod emit;
mod generator;
mod messages;
pub mod model;
mod naming;
mod protoc;
pub mod schema;
#[cfg(test)]
mod testing;

use std::io;
use std::path::Path;

pub use builder::Builder;
pub use model::Codec;

/// A [`Builder`] with the defaults: output to `OUT_DIR`, ProtoJSON payloads, and
/// `cargo:rerun-if-changed` lines for the protos and include directories.
pub fn configure() -> Builder {
    Builder::default()
}

/// Compiles `protos`, importing from `includes`, with the default configuration; see
/// [`Builder::compile`].
///
/// # Errors
///
/// When protoc rejects the files, a service breaks Restate's rules, or the output cannot be
/// written; the message says which file, service and rpc.
pub fn compile(protos: &[impl AsRef<Path>], includes: &[impl AsRef<Path>]) -> io::Result<()> {
    configure().compile(protos, includes)
}
