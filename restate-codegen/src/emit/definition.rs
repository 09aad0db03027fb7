//! The discovery definition: the service's name, kind, documentation and handlers, as the
//! endpoint announces them to Restate.

use proc_macro2::TokenStream;
use quote::quote;

use super::view::{MethodView, ServiceView};
use super::{config, docs, runtime};
use crate::model::{Codec, Config, HandlerType, ServiceType};

/// The static, e.g. `pub static GREETER_DEFINITION: ServiceDefinition = ...;`.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    let rt = runtime();
    let name = &view.definition;
    let service_name = view.name();
    let ty = match view.service.ty {
        ServiceType::Service => quote!(#rt::ServiceType::Service),
        ServiceType::VirtualObject => quote!(#rt::ServiceType::VirtualObject),
        ServiceType::Workflow => quote!(#rt::ServiceType::Workflow),
    };
    let codec = match view.codec {
        Codec::Json => quote!(#rt::Codec::Json),
        Codec::Protobuf => quote!(#rt::Codec::Protobuf),
    };
    let documentation = docs::option_str(view.service.docs.as_deref());
    let handlers = view.methods.iter().map(|method| handler(view, method));
    let mut service_config = view.service.config.clone();
    // The manifest carries a workflow's completion retention on its run handler.
    service_config.workflow_completion_retention = None;
    let config = config::tokens(&service_config);
    let doc = format!(
        " The discovery metadata of [`{}`]: its name, kind and handlers.",
        view.handlers
    );
    quote! {
        #[doc = #doc]
        pub static #name: #rt::ServiceDefinition =
            #rt::ServiceDefinition {
                name: #service_name,
                ty: #ty,
                codec: #codec,
                documentation: #documentation,
                handlers: &[#(#handlers),*],
                config: #config,
            };
    }
}

/// One `HandlerDefinition` expression.
fn handler(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let rt = runtime();
    let name = method.name();
    let mut tokens = quote!(#rt::HandlerDefinition::new(#name));
    if let Some(ty) = method.method.handler_type {
        let ty = match ty {
            HandlerType::Exclusive => quote!(#rt::HandlerType::Exclusive),
            HandlerType::Shared => quote!(#rt::HandlerType::Shared),
            HandlerType::WorkflowRun => quote!(#rt::HandlerType::WorkflowRun),
        };
        tokens.extend(quote!(.with_type(#ty)));
    }
    if let Some(docs) = method.method.docs.as_deref() {
        tokens.extend(quote!(.with_documentation(#docs)));
    }
    if method.input.is_none() {
        tokens.extend(quote!(.without_input()));
    }
    if method.output.is_none() {
        tokens.extend(quote!(.without_output()));
    }
    let (input_schema, output_schema) = (&method.method.input_schema, &method.method.output_schema);
    tokens.extend(if method.method.input_is_raw {
        quote!(.with_raw_input())
    } else {
        quote!(.with_input_schema(#input_schema))
    });
    tokens.extend(if method.method.output_is_raw {
        quote!(.with_raw_output())
    } else {
        quote!(.with_output_schema(#output_schema))
    });
    let mut handler_config = method.method.config.clone();
    if method.method.handler_type == Some(HandlerType::WorkflowRun) {
        handler_config.workflow_completion_retention = handler_config
            .workflow_completion_retention
            .or(view.service.config.workflow_completion_retention);
    }
    if handler_config != Config::default() {
        let config = config::tokens(&handler_config);
        tokens.extend(quote!(.with_config(#config)));
    }
    tokens
}
