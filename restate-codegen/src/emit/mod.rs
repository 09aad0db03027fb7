//! Rust for the model: for each service a handler trait, a server wrapper, a discovery
//! definition and a client, built with `quote` and laid out with `prettyplease`; for each
//! package its descriptors and the list that makes its messages payloads.
//!
//! The generated code names everything by absolute path (`::restate_runtime::codegen::...`,
//! `::core::...`), so it compiles inside any module without imports, and it refers to the
//! runtime's `codegen` module only.

mod client;
mod context;
mod definition;
mod docs;
#[cfg(feature = "gateway")]
mod gateway;
mod handler_trait;
mod package;
mod server;
mod settings;
#[cfg(test)]
mod tests;
mod view;

use std::collections::HashMap;

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{Codec, Service};

pub(crate) use package::{PackageMessage, package_items};

/// The runtime module generated code refers to.
fn runtime() -> TokenStream {
    quote!(::restate_runtime::codegen)
}

/// The Rust types prost generated for an rpc's input and output, as paths relative to the
/// module of the service's package (e.g. `HelloRequest` or `super::common::Page`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MethodTypes {
    /// The input type.
    pub(crate) input: String,
    /// The output type.
    pub(crate) output: String,
}

/// The emitter could not produce code for a service.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// No Rust types were given for an rpc whose input or output is a message.
    #[error("service {service}, method {method}: no Rust types were given for the rpc")]
    MissingTypes {
        /// The fully qualified service name.
        service: String,
        /// The rpc name.
        method: String,
    },
    /// A given Rust type does not parse as a type.
    #[error("service {service}, method {method}: `{path}` is not a Rust type: {source}")]
    InvalidType {
        /// The fully qualified service name.
        service: String,
        /// The rpc name.
        method: String,
        /// The text that did not parse.
        path: String,
        /// Why it did not parse.
        source: syn::Error,
    },
    /// The emitted tokens are not a valid Rust file; a bug in the emitter.
    #[error("the code generated for service {service} does not parse: {source}")]
    Unparsable {
        /// The fully qualified service name.
        service: String,
        /// Where parsing failed.
        source: syn::Error,
    },
    /// The Rust path of a message does not parse; a bug in the generator.
    #[error("message {message}: `{path}` is not a Rust path: {source}")]
    InvalidMessagePath {
        /// The fully qualified message name.
        message: String,
        /// The text that did not parse.
        path: String,
        /// Why it did not parse.
        source: syn::Error,
    },
    /// The emitted package items are not a valid Rust file; a bug in the emitter.
    #[error("the code generated for package {package} does not parse: {source}")]
    UnparsablePackage {
        /// The proto package.
        package: String,
        /// Where parsing failed.
        source: syn::Error,
    },
}

/// The Rust code of one service, formatted: its handler trait, discovery definition, server
/// wrapper and client (with the ingress client's alias).
///
/// `types` maps each rpc name to the Rust types of its input and output; rpcs taking and
/// returning `google.protobuf.Empty` need no entry. `default_codec` applies when the service
/// has no `(restate.codec)` option.
///
/// # Errors
///
/// When `types` lacks an entry that is needed, or holds text that is not a Rust type.
#[cfg(test)]
pub(crate) fn service(
    service: &Service,
    default_codec: Codec,
    types: &HashMap<String, MethodTypes>,
) -> Result<String, Error> {
    let tokens = service_tokens(service, default_codec, types, false)?;
    Ok(prettyplease::unparse(&parse(service, tokens)?))
}

/// As [`service`], unformatted: for code that is formatted later together with its
/// surroundings (prost-build lays out each package file once, services included). With
/// `grpc_gateway`, the service's gRPC gateway too.
pub(crate) fn service_unformatted(
    service: &Service,
    default_codec: Codec,
    types: &HashMap<String, MethodTypes>,
    grpc_gateway: bool,
) -> Result<String, Error> {
    let tokens = service_tokens(service, default_codec, types, grpc_gateway)?;
    let source = tokens.to_string();
    parse(service, tokens)?;
    Ok(source)
}

/// Parses the code of `service`, so that a mistake of the emitter is reported as such.
fn parse(service: &Service, tokens: TokenStream) -> Result<syn::File, Error> {
    syn::parse2::<syn::File>(tokens).map_err(|source| Error::Unparsable {
        service: service.full_name.clone(),
        source,
    })
}

/// The items of [`service`], unformatted.
fn service_tokens(
    service: &Service,
    default_codec: Codec,
    types: &HashMap<String, MethodTypes>,
    grpc_gateway: bool,
) -> Result<TokenStream, Error> {
    let view = view::ServiceView::new(service, default_codec, types)?;
    let handler_trait = handler_trait::tokens(&view);
    let definition = definition::tokens(&view);
    let server = server::tokens(&view);
    let client = client::tokens(&view);
    #[cfg(feature = "gateway")]
    let gateway = if grpc_gateway {
        gateway::tokens(&view)?
    } else {
        TokenStream::new()
    };
    #[cfg(not(feature = "gateway"))]
    let gateway = {
        // Only `Builder::grpc_gateway` (feature `gateway`) switches it on.
        debug_assert!(!grpc_gateway);
        TokenStream::new()
    };
    Ok(quote! {
        #handler_trait
        #definition
        #server
        #client
        #gateway
    })
}
