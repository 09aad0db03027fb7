//! The service model: what `restate-codegen` knows about each Restate service after reading the
//! descriptors protoc produced, validated and with every default resolved.
//!
//! [`from_descriptor_set`] is the entry point; it needs no files and no protoc, so it can be fed
//! any encoded `FileDescriptorSet`.

mod config;
pub(crate) mod docs;
mod error;
mod handlers;
mod key_field;
mod load;
mod names;
mod options;
#[cfg(test)]
mod tests;
mod validate;

pub use error::Diagnostic;
pub(crate) use error::Error;
#[cfg(test)]
pub(crate) use load::from_descriptor_set;
pub(crate) use load::require_service_types;
pub(crate) use load::{decode_pool, from_pool};
pub(crate) use names::resolve_names;
pub(crate) use restate_model::{
    Codec, HandlerType, OnMaxAttempts, RetryPolicy, ServiceType, Settings,
};

/// One Restate service, read from a proto `service`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) struct Service {
    /// The proto file that declares the service, as protoc names it (relative to its include
    /// directory), e.g. `greeter.proto`.
    pub(crate) proto_file: String,
    /// The proto package, e.g. `helloworld`.
    pub(crate) package: String,
    /// The fully qualified proto name, e.g. `helloworld.Greeter`.
    pub(crate) full_name: String,
    /// The name Restate knows the service by: `(restate.service_name)`, else the short name
    /// when the build asks for short names, else the fully qualified proto name.
    pub(crate) restate_name: String,
    /// Whether `(restate.service_name)` gave the Restate name.
    pub(crate) restate_name_annotated: bool,
    /// The Rust name of the handler trait, e.g. `Greeter`.
    pub(crate) rust_name: String,
    /// The kind of service.
    pub(crate) ty: ServiceType,
    /// Whether the proto says the kind with an annotation; a service without one is plain.
    pub(crate) ty_annotated: bool,
    /// The codec the service's `(restate.codec)` option asks for; `None` means the default one.
    pub(crate) codec: Option<Codec>,
    /// The leading proto comment of the service.
    pub(crate) docs: Option<String>,
    /// The `(restate.service_config)` settings.
    pub(crate) settings: Settings,
    /// The handlers, in proto order.
    pub(crate) methods: Vec<Method>,
}

/// One handler, read from a proto `rpc`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub(crate) struct Method {
    /// The rpc name as written, e.g. `SayHello`.
    pub(crate) name: String,
    /// The name Restate knows the handler by: `(restate.handler_name)`, else the rpc name.
    pub(crate) restate_name: String,
    /// The Rust method name, e.g. `say_hello` (keywords are raw identifiers: `r#type`).
    pub(crate) rust_name: String,
    /// The fully qualified proto name of the input message, e.g. `helloworld.HelloRequest`.
    pub(crate) input_type: String,
    /// The fully qualified proto name of the output message.
    pub(crate) output_type: String,
    /// Whether the input is `google.protobuf.Empty`: the handler then takes no input.
    pub(crate) input_is_empty: bool,
    /// Whether the output is `google.protobuf.Empty`: the handler then returns `()`.
    pub(crate) output_is_empty: bool,
    /// Whether the input is a `google.protobuf.BytesValue` of a `(restate.raw)` rpc: the request
    /// body, passed through untouched as `Bytes`.
    pub(crate) input_is_raw: bool,
    /// Whether the output is a `google.protobuf.BytesValue` of a `(restate.raw)` rpc.
    pub(crate) output_is_raw: bool,
    /// The handler type with defaults applied; `None` in plain services.
    pub(crate) handler_type: Option<HandlerType>,
    /// The leading proto comment of the rpc.
    pub(crate) docs: Option<String>,
    /// The `(restate.handler_config)` settings.
    pub(crate) settings: Settings,
    /// The JSON Schema of the input's proto3 JSON form.
    pub(crate) input_schema: String,
    /// The JSON Schema of the output's proto3 JSON form.
    pub(crate) output_schema: String,
    /// The input field holding the object key or workflow id for calls through the gRPC
    /// gateway (`(restate.handler_key_field)` on the rpc, else `(restate.key_field)` on the service); checked to be a
    /// singular string field.
    pub(crate) key_field: Option<KeyField>,
}

/// The input field that holds an object key or workflow id, for the gRPC gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) struct KeyField {
    /// The field name as written in the proto.
    pub(crate) name: String,
    /// Whether the field is a proto3 `optional` (an `Option<String>` in Rust).
    pub(crate) optional: bool,
}
