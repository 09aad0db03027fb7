//! The server wrapper: binds an implementation of the handler trait to an endpoint by
//! implementing the runtime's `Service`.

use proc_macro2::TokenStream;
use quote::quote;

use super::runtime;
use super::view::{MethodView, ServiceView};

/// The wrapper struct, its constructors and its `Service` implementation.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    let rt = runtime();
    let server = &view.server;
    let handlers = &view.handlers;
    let definition = &view.definition;
    let doc = format!(" Binds a [`{handlers}`] implementation to a Restate endpoint.");
    let invoke = invoke_body(view);
    quote! {
        #[doc = #doc]
        #[derive(Debug)]
        pub struct #server<T> {
            inner: ::std::sync::Arc<T>,
        }

        impl<T: #handlers> #server<T> {
            /// Wraps `inner`.
            pub fn new(inner: T) -> Self {
                Self::from_arc(::std::sync::Arc::new(inner))
            }

            /// Wraps an implementation that is already shared.
            pub fn from_arc(inner: ::std::sync::Arc<T>) -> Self {
                Self { inner }
            }
        }

        impl<T> ::core::clone::Clone for #server<T> {
            fn clone(&self) -> Self {
                Self {
                    inner: ::std::sync::Arc::clone(&self.inner),
                }
            }
        }

        impl<T: #handlers> #rt::Service for #server<T> {
            fn definition(&self) -> &'static #rt::ServiceDefinition {
                &#definition
            }

            fn invoke(&self, invocation: #rt::Invocation) -> #rt::HandlerFuture {
                #invoke
            }
        }
    }
}

/// Dispatches on the handler name; the endpoint only passes names the definition lists.
fn invoke_body(view: &ServiceView<'_>) -> TokenStream {
    if view.methods.is_empty() {
        return quote!(invocation.unknown_handler());
    }
    let arms = view.methods.iter().map(arm);
    quote! {
        let inner = ::std::sync::Arc::clone(&self.inner);
        match invocation.handler() {
            #(#arms)*
            _ => invocation.unknown_handler(),
        }
    }
}

/// The match arm that runs one handler: the runtime decodes the input, makes the context and
/// encodes the output.
fn arm(method: &MethodView<'_>) -> TokenStream {
    let name = method.restate_name();
    let ident = &method.ident;
    let context = &method.context;
    let input = method.input_type();
    let call = match &method.input {
        Some(_) => quote!(inner.#ident(ctx, request)),
        None => quote!(inner.#ident(ctx)),
    };
    let request = match &method.input {
        Some(_) => quote!(request),
        None => quote!(_),
    };
    quote! {
        #name => invocation.run(move |ctx: #context, #request: #input| async move { #call.await }),
    }
}
