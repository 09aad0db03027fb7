//! The handler trait users implement: one async method per rpc, answering 501 until
//! implemented.

use proc_macro2::TokenStream;
use quote::quote;

use super::view::{MethodView, ServiceView};
use super::{docs, runtime};

/// The trait, e.g. `pub trait Greeter { fn say_hello(...) ... }`.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    let docs = docs::attrs(view.service.docs.as_deref(), || {
        format!(
            "The handlers of the Restate service `{}`.",
            view.restate_name()
        )
    });
    let name = &view.handlers;
    let methods = view.methods.iter().map(|method| handler(view, method));
    quote! {
        #docs
        pub trait #name: ::core::marker::Send + ::core::marker::Sync + 'static {
            #(#methods)*
        }
    }
}

/// One handler method with its default body.
fn handler(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let rt = runtime();
    let docs = docs::attrs(method.method.docs.as_deref(), || {
        format!("The handler `{}`.", method.restate_name())
    });
    let ident = &method.ident;
    let context = &method.context;
    let output = method.output_type();
    let (request_param, unused) = match &method.input {
        Some(input) => (quote!(, request: #input), quote!((ctx, request))),
        None => (TokenStream::new(), quote!(ctx)),
    };
    let service_name = view.restate_name();
    let handler_name = method.restate_name();
    quote! {
        #docs
        fn #ident(&self, ctx: #context #request_param) -> impl ::core::future::Future<
            Output = ::core::result::Result<#output, #rt::HandlerError>
        > + ::core::marker::Send {
            let _ = #unused;
            #rt::not_implemented(#service_name, #handler_name)
        }
    }
}
