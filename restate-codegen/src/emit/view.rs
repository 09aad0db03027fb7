//! A service as the emitters see it: the model plus resolved identifiers, Rust types and
//! codec.

use std::collections::HashMap;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::context::context_type;
use super::{Error, MethodTypes};
use crate::model::{Codec, HandlerType, Method, Service};
use crate::naming::ServiceItems;

/// A service ready to be emitted.
pub(super) struct ServiceView<'a> {
    /// The model.
    pub(super) service: &'a Service,
    /// The handler trait.
    pub(super) handlers: Ident,
    /// The server wrapper.
    pub(super) server: Ident,
    /// The client.
    pub(super) client: Ident,
    /// The alias of the client that calls through the ingress.
    pub(super) ingress_client: Ident,
    /// The static holding the discovery definition.
    pub(super) definition: Ident,
    /// The gRPC gateway.
    #[cfg(feature = "gateway")]
    pub(super) gateway: Ident,
    /// The handlers.
    pub(super) methods: Vec<MethodView<'a>>,
    /// The codec of the payloads.
    pub(super) codec: Codec,
}

/// A handler ready to be emitted.
pub(super) struct MethodView<'a> {
    /// The model.
    pub(super) method: &'a Method,
    /// The Rust method name.
    pub(super) ident: Ident,
    /// The input type; `None` when the handler takes no input.
    pub(super) input: Option<syn::Type>,
    /// The output type; `None` when the handler returns `()`.
    pub(super) output: Option<syn::Type>,
    /// The type of the context the handler receives.
    pub(super) context: TokenStream,
}

impl<'a> ServiceView<'a> {
    /// Resolves `service` with the Rust types prost generated for its messages.
    pub(super) fn new(
        service: &'a Service,
        default_codec: Codec,
        types: &HashMap<String, MethodTypes>,
    ) -> Result<Self, Error> {
        let items = ServiceItems::new(&service.rust_name);
        let methods = service
            .methods
            .iter()
            .map(|method| MethodView::new(service, method, types.get(&method.name)))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            service,
            handlers: format_ident!("{}", items.handlers),
            server: format_ident!("{}", items.server),
            client: format_ident!("{}", items.client),
            ingress_client: format_ident!("{}", items.ingress_client),
            definition: format_ident!("{}", items.definition),
            #[cfg(feature = "gateway")]
            gateway: format_ident!("{}", items.gateway),
            methods,
            codec: service.codec.unwrap_or(default_codec),
        })
    }

    /// The fully qualified proto name, which gRPC knows the service by.
    #[cfg(feature = "gateway")]
    pub(super) fn proto_name(&self) -> &str {
        &self.service.full_name
    }

    /// The name Restate knows the service by.
    pub(super) fn restate_name(&self) -> &str {
        &self.service.restate_name
    }

    /// The run handler, for workflows.
    pub(super) fn workflow_run(&self) -> Option<&MethodView<'a>> {
        self.methods
            .iter()
            .find(|m| m.method.handler_type == Some(HandlerType::WorkflowRun))
    }
}

impl<'a> MethodView<'a> {
    fn new(
        service: &Service,
        method: &'a Method,
        types: Option<&MethodTypes>,
    ) -> Result<Self, Error> {
        let parse = |empty: bool, raw: bool, path: fn(&MethodTypes) -> &String| {
            if empty {
                return Ok(None);
            }
            if raw {
                return Ok(Some(syn::parse_quote!(
                    ::restate_runtime::codegen::bytes::Bytes
                )));
            }
            let types = types.ok_or_else(|| Error::MissingTypes {
                service: service.full_name.clone(),
                method: method.name.clone(),
            })?;
            let path = path(types);
            syn::parse_str::<syn::Type>(path)
                .map(Some)
                .map_err(|source| Error::InvalidType {
                    service: service.full_name.clone(),
                    method: method.name.clone(),
                    path: path.clone(),
                    source,
                })
        };
        Ok(Self {
            method,
            ident: format_ident!("{}", method.rust_name),
            input: parse(method.input_is_empty, method.input_is_raw, |types| {
                &types.input
            })?,
            output: parse(method.output_is_empty, method.output_is_raw, |types| {
                &types.output
            })?,
            context: context_type(service.ty, method.handler_type),
        })
    }

    /// The rpc name, which gRPC knows the method by.
    #[cfg(feature = "gateway")]
    pub(super) fn proto_name(&self) -> &str {
        &self.method.name
    }

    /// The name Restate knows the handler by.
    pub(super) fn restate_name(&self) -> &str {
        &self.method.restate_name
    }

    /// The type a successful call returns: the output message, or `()`.
    pub(super) fn output_type(&self) -> TokenStream {
        match &self.output {
            Some(ty) => quote!(#ty),
            None => quote!(()),
        }
    }

    /// The type of the request: the input message, or `()`.
    pub(super) fn input_type(&self) -> TokenStream {
        match &self.input {
            Some(ty) => quote!(#ty),
            None => quote!(()),
        }
    }
}
