//! The ingress client: calls the service from outside Restate, over its HTTP ingress, with the
//! same typed requests as the in-handler client.

use proc_macro2::TokenStream;
use quote::quote;

use super::client::{RequestParts, WorkflowHandleParts};
use super::view::{MethodView, ServiceView};

/// The ingress client struct and its methods; nothing for a service without rpcs.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    if view.methods.is_empty() {
        return TokenStream::new();
    }
    let client = &view.ingress_client;
    let doc = format!(
        " Calls [`{}`] from outside Restate, through its HTTP ingress.",
        view.handlers
    );
    let keyed = view.service.ty.is_keyed();
    let (key_field, key_param, key_init, new_doc) = if keyed {
        (
            quote!(key: ::std::string::String,),
            quote!(, key: impl ::core::convert::Into<::std::string::String>),
            quote!(key: key.into(),),
            " A client calling through `ingress`, addressing the instance with `key`.",
        )
    } else {
        (
            TokenStream::new(),
            TokenStream::new(),
            TokenStream::new(),
            " A client calling through `ingress`.",
        )
    };
    let methods = view.methods.iter().map(|method| request(view, method));
    let workflow_handle = workflow_handle(view);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        pub struct #client {
            ingress: ::restate_runtime::ingress::Ingress,
            #key_field
        }

        impl #client {
            #[doc = #new_doc]
            pub fn new(ingress: &::restate_runtime::ingress::Ingress #key_param) -> Self {
                Self {
                    ingress: ingress.clone(),
                    #key_init
                }
            }

            #(#methods)*

            #workflow_handle
        }
    }
}

/// The method building the ingress request for one rpc.
fn request(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let RequestParts {
        docs,
        param,
        args,
        output,
    } = RequestParts::new(view, method);
    let ident = &method.ident;
    quote! {
        #docs
        pub fn #ident(&self #param) -> ::restate_runtime::ingress::IngressRequest<#output> {
            self.ingress.request(#args)
        }
    }
}

/// For workflows: the handle that attaches to the run handler's result or peeks at it.
fn workflow_handle(view: &ServiceView<'_>) -> TokenStream {
    let Some(WorkflowHandleParts {
        doc,
        output,
        service_name,
        format,
        decode,
    }) = WorkflowHandleParts::new(view)
    else {
        return TokenStream::new();
    };
    quote! {
        #[doc = #doc]
        pub fn handle(&self) -> ::restate_runtime::ingress::IngressWorkflowHandle<#output> {
            self.ingress.workflow_handle(#service_name, &self.key, #format, #decode)
        }
    }
}
