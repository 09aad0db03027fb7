//! The server wrapper: binds an implementation of the handler trait to an endpoint by
//! implementing `restate_runtime::Service`.

use proc_macro2::TokenStream;
use quote::quote;

use super::view::{MethodView, ServiceView};

/// The wrapper struct, its constructors and its `Service` implementation.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    let server = &view.server;
    let handlers = &view.handlers;
    let definition = &view.definition;
    let doc = format!(" Binds a [`{handlers}`] implementation to a Restate endpoint.");
    let invoke = invoke_body(view);
    quote! {
        #[doc = #doc]
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

        impl<T: #handlers> ::restate_runtime::Service for #server<T> {
            fn definition(&self) -> &'static ::restate_runtime::ServiceDefinition {
                &#definition
            }

            fn invoke(&self, invocation: ::restate_runtime::Invocation) -> ::restate_runtime::HandlerFuture {
                #invoke
            }
        }
    }
}

/// Dispatches on the handler name; unknown names answer 404.
fn invoke_body(view: &ServiceView<'_>) -> TokenStream {
    let message = format!("service {} has no handler {{}}", view.name());
    let not_found = quote! {
        let error = ::restate_runtime::TerminalError::new(
            404,
            ::std::format!(#message, invocation.handler())
        );
        ::std::boxed::Box::pin(async move {
            ::core::result::Result::Err(::restate_runtime::HandlerError::from(error))
        })
    };
    if view.methods.is_empty() {
        return not_found;
    }
    let arms = view.methods.iter().map(|method| arm(view, method));
    quote! {
        let inner = ::std::sync::Arc::clone(&self.inner);
        match invocation.handler() {
            #(#arms)*
            _ => { #not_found }
        }
    }
}

/// The match arm that decodes the input, calls the handler and encodes its output.
fn arm(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let name = method.name();
    let ident = &method.ident;
    let format = &view.format;
    let (decode, request_arg) = match &method.input {
        Some(input) => (
            quote!(let request: #input = invocation.decode_input(#format)?;),
            quote!(, request),
        ),
        None => (TokenStream::new(), TokenStream::new()),
    };
    let into_context = &method.context.from_invocation;
    let call = quote!(inner.#ident(invocation.#into_context() #request_arg).await?);
    let respond = match &method.output {
        Some(_) => quote! {
            let response = #call;
            ::restate_runtime::encode_output(#format, &response)
        },
        None => quote! {
            #call;
            ::core::result::Result::<_, ::restate_runtime::HandlerError>::Ok(
                ::restate_runtime::codec::encode_empty(#format)
            )
        },
    };
    quote! {
        #name => ::std::boxed::Box::pin(async move {
            #decode
            #respond
        }),
    }
}
