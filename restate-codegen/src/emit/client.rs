//! The client: calls the service from inside another handler (journaled through the context)
//! or from outside Restate (through the ingress), with one generic struct and an alias for the
//! ingress flavour.

use proc_macro2::TokenStream;
use quote::quote;

use super::view::{MethodView, ServiceView};
use super::{docs, runtime};

/// The client struct, its alias for the ingress, and its methods (one per rpc); nothing for a
/// service without rpcs.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    if view.methods.is_empty() {
        return TokenStream::new();
    }
    let rt = runtime();
    let client = &view.client;
    let ingress_client = &view.ingress_client;
    let definition = &view.definition;
    let doc = format!(
        " Calls [`{}`]: made from a handler's context, through the invocation's journal; made \
         from an ingress ([`{ingress_client}`]), from outside Restate.",
        view.handlers
    );
    let alias_doc = format!(
        " Calls [`{}`] from outside Restate, through its HTTP ingress.",
        view.handlers
    );
    let constructor = if view.service.ty.is_keyed() {
        quote! {
            /// A client calling through `caller` (a context or an ingress), addressing the
            /// instance `key`.
            pub fn new(
                caller: &impl #rt::IntoCaller<Caller = C>,
                key: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                Self { inner: #rt::Client::keyed(caller, &#definition, key.into()) }
            }
        }
    } else {
        quote! {
            /// A client calling through `caller` (a context or an ingress).
            pub fn new(caller: &impl #rt::IntoCaller<Caller = C>) -> Self {
                Self { inner: #rt::Client::new(caller, &#definition) }
            }
        }
    };
    let methods = view.methods.iter().map(request);
    let workflow_handle = workflow_handle(view);
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug)]
        pub struct #client<C = #rt::Context> {
            inner: #rt::Client<C>,
        }

        #[doc = #alias_doc]
        pub type #ingress_client = #client<#rt::Ingress>;

        impl<C: #rt::Caller> #client<C> {
            #constructor

            #(#methods)*

            #workflow_handle
        }
    }
}

/// The method building the request for one rpc.
fn request(method: &MethodView<'_>) -> TokenStream {
    let rt = runtime();
    let docs = docs::attrs(method.method.docs.as_deref(), || {
        format!("Calls the handler `{}`.", method.restate_name())
    });
    let ident = &method.ident;
    let name = method.restate_name();
    let input = method.input_type();
    let output = method.output_type();
    let (param, argument) = match &method.input {
        Some(ty) => (quote!(, request: #ty), quote!(request)),
        None => (TokenStream::new(), quote!(())),
    };
    quote! {
        #docs
        pub fn #ident(&self #param) -> #rt::Request<C, #input, #output> {
            self.inner.request(#name, #argument)
        }
    }
}

/// For workflows: the handle that attaches to the run handler's result or peeks at it.
fn workflow_handle(view: &ServiceView<'_>) -> TokenStream {
    let Some(run) = view.workflow_run() else {
        return TokenStream::new();
    };
    let rt = runtime();
    let doc = format!(
        " The workflow instance: attach to the result of `{}`, or peek at it.",
        run.restate_name()
    );
    let output = run.output_type();
    quote! {
        #[doc = #doc]
        pub fn handle(&self) -> #rt::WorkflowHandle<C, #output> {
            self.inner.workflow_handle()
        }
    }
}
