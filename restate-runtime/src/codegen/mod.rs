//! The contract between the code `restate-codegen` generates and this runtime.
//!
//! Generated code refers to this module only: the items below, and the crates it needs through
//! their re-exports ([`prost`], [`pbjson_types`], and [`serde`], [`pbjson`] for the optional
//! serde implementations). A user crate therefore depends on `restate-runtime` alone. Nothing
//! here is needed to write handlers; it is public so that generated code can use it, and is
//! kept stable across patch releases for that reason.
//!
//! Per proto package, the generated file holds the package's encoded descriptors
//! ([`Descriptors`]) and a [`messages!`](crate::codegen::messages) list that makes each message
//! a [`Payload`]. Per service it holds a handler trait whose default methods answer
//! [`not_implemented`], a [`ServiceDefinition`], a server wrapper implementing [`Service`] whose
//! `invoke` is one [`Invocation::run`] per handler, and a client made of one [`Client`] whose
//! methods are one [`Client::request`] each.

mod client;
mod definition;
mod service;

pub use client::Client;
pub use definition::{HandlerDefinition, PayloadDefinition, ServiceDefinition};
pub use restate_model::{HandlerType, OnMaxAttempts, RetryPolicy, ServiceType, Settings};
pub use service::{HandlerContext, HandlerFuture, Invocation, Service, not_implemented};

pub use crate::call::{Caller, IntoCaller, Request, Target, WorkflowHandle};
pub use crate::codec::{
    Codec, CodecError, Descriptors, MessageName, Payload, decode_message, encode_message,
};
pub use crate::context::{
    Context, ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext,
};
pub use crate::error::{HandlerError, TerminalError};
pub use crate::ingress::Ingress;

/// The gateway side of generated gRPC services (feature `grpc`).
#[cfg(feature = "grpc")]
pub mod grpc {
    pub use crate::grpc::{Forwarder, GatewayService, MessageLimits};
}
#[cfg(feature = "grpc")]
pub use tonic;
#[cfg(feature = "grpc")]
pub use tonic_prost;

pub use bytes;
pub use pbjson;
pub use pbjson_types;
pub use prost;
pub use serde;

/// Makes the generated messages of a package [`Payload`]s: `Type = "full.proto.Name"` pairs,
/// encoded to ProtoJSON through the descriptors in the named [`Descriptors`] static.
///
/// The methods are `#[inline]`: like any generic code, they are compiled where a message is
/// used as a payload, not for every message of every package (prost's encoding and decoding of
/// each message would otherwise be compiled and optimized in the crate that includes it).
///
/// ```ignore
/// ::restate_runtime::codegen::messages!(DESCRIPTORS {
///     HelloRequest = "helloworld.HelloRequest",
///     hello_request::Nested = "helloworld.HelloRequest.Nested",
/// });
/// ```
pub use crate::__restate_messages as messages;

#[doc(hidden)]
#[macro_export]
macro_rules! __restate_messages {
    ($descriptors:ident { $($ty:ty = $name:literal),* $(,)? }) => {$(
        const _: () = {
            static MESSAGE: $crate::codegen::MessageName = $crate::codegen::MessageName::new($name);

            impl $crate::codegen::Payload for $ty {
                #[inline]
                fn encode_payload(
                    &self,
                    codec: $crate::codegen::Codec,
                ) -> ::core::result::Result<$crate::codegen::bytes::Bytes, $crate::codegen::CodecError> {
                    $crate::codegen::encode_message(self, codec, &$descriptors, &MESSAGE)
                }

                #[inline]
                fn decode_payload(
                    codec: $crate::codegen::Codec,
                    bytes: &[u8],
                ) -> ::core::result::Result<Self, $crate::codegen::CodecError> {
                    $crate::codegen::decode_message(codec, bytes, &$descriptors, &MESSAGE)
                }
            }
        };
    )*};
}
