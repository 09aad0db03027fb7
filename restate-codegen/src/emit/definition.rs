//! The discovery definition: the service's name, kind, documentation and handlers, as the
//! endpoint announces them to Restate.

use proc_macro2::TokenStream;
use quote::quote;

use super::view::{MethodView, ServiceView};
use super::{docs, runtime, settings};
use crate::model::{Codec, HandlerType, ServiceType};

/// The static, e.g. `pub static GREETER_DEFINITION: ServiceDefinition = ...;`.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    let rt = runtime();
    let name = &view.definition;
    let service_name = view.restate_name();
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
    let mut service_settings = view.service.settings.clone();
    // The manifest carries a workflow's completion retention on its run handler.
    service_settings.workflow_completion_retention = None;
    let settings = settings::tokens(&service_settings);
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
                settings: #settings,
            };
    }
}

/// One `HandlerDefinition` expression.
fn handler(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let rt = runtime();
    let name = method.restate_name();
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
    let mut handler_settings = method.method.settings.clone();
    if method.method.handler_type == Some(HandlerType::WorkflowRun) {
        handler_settings.workflow_completion_retention = handler_settings
            .workflow_completion_retention
            .or(view.service.settings.workflow_completion_retention);
    }
    if !handler_settings.is_none() {
        let settings = settings::tokens(&handler_settings);
        tokens.extend(quote!(.with_settings(#settings)));
    }
    tokens
}
