//! The in-handler client: calls the service from inside another handler, through the calling
//! invocation's journal.

use proc_macro2::TokenStream;
use quote::quote;

use super::docs;
use super::view::{MethodView, ServiceView};

/// The client struct and its methods, one per rpc; nothing for a service without rpcs.
pub(super) fn tokens(view: &ServiceView<'_>) -> TokenStream {
    if view.methods.is_empty() {
        return TokenStream::new();
    }
    let client = &view.client;
    let doc = format!(
        " Calls [`{}`] from inside a handler, through the invocation's journal.",
        view.handlers
    );
    let keyed = view.service.ty.is_keyed();
    let (key_field, key_param, key_init) = if keyed {
        (
            quote!(key: ::std::string::String,),
            quote!(, key: impl ::core::convert::Into<::std::string::String>),
            quote!(key: key.into(),),
        )
    } else {
        (TokenStream::new(), TokenStream::new(), TokenStream::new())
    };
    let new_doc = if keyed {
        " A client that calls through `ctx`, addressing the instance with `key`."
    } else {
        " A client that calls through `ctx`."
    };
    let methods = view.methods.iter().map(|method| call(view, method));
    let workflow_handle = workflow_handle(view);
    quote! {
        #[doc = #doc]
        #[derive(Clone)]
        pub struct #client {
            ctx: ::restate_runtime::Context,
            #key_field
        }

        impl #client {
            #[doc = #new_doc]
            pub fn new(
                ctx: &impl ::core::convert::AsRef<::restate_runtime::Context>
                #key_param
            ) -> Self {
                Self {
                    ctx: ctx.as_ref().clone(),
                    #key_init
                }
            }

            #(#methods)*

            #workflow_handle
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
        pub fn handle(&self) -> ::restate_runtime::WorkflowHandle<#output> {
            ::restate_runtime::WorkflowHandle::new(
                &self.ctx,
                #service_name,
                self.key.clone(),
                #format,
                #decode
            )
        }
    }
}

/// What the `handle()` accessor of a workflow's clients is made of; `None` for other services.
pub(super) struct WorkflowHandleParts {
    pub(super) doc: String,
    pub(super) output: TokenStream,
    pub(super) service_name: String,
    pub(super) format: proc_macro2::Ident,
    pub(super) decode: TokenStream,
}

impl WorkflowHandleParts {
    pub(super) fn new(view: &ServiceView<'_>) -> Option<Self> {
        let run = view.workflow_run()?;
        Some(Self {
            doc: format!(
                " The workflow instance: attach to the result of `{}`, or peek at it.",
                run.name()
            ),
            output: run.output_type(),
            service_name: view.name().to_owned(),
            format: view.format.clone(),
            decode: decoder(run),
        })
    }
}

/// The pieces every request-building method shares, for the in-handler and the ingress client.
pub(super) struct RequestParts {
    /// The method's docs.
    pub(super) docs: TokenStream,
    /// The request parameter (with its leading comma), or nothing for `Empty` input.
    pub(super) param: TokenStream,
    /// The arguments after the receiver: service, handler, key, format, encoded input, decoder.
    pub(super) args: TokenStream,
    /// The response type.
    pub(super) output: TokenStream,
}

impl RequestParts {
    pub(super) fn new(view: &ServiceView<'_>, method: &MethodView<'_>) -> Self {
        let docs = docs::attrs(method.method.docs.as_deref(), || {
            format!("Calls the handler `{}`.", method.name())
        });
        let format = &view.format;
        let service_name = view.name();
        let handler_name = method.name();
        let key = if view.service.ty.is_keyed() {
            quote!(::core::option::Option::Some(self.key.clone()))
        } else {
            quote!(::core::option::Option::None)
        };
        let (param, input) = match &method.input {
            Some(ty) => (
                quote!(, request: #ty),
                quote!(::restate_runtime::codec::encode(#format, &request)),
            ),
            None => (
                TokenStream::new(),
                quote!(::core::result::Result::Ok(::restate_runtime::codec::encode_empty(#format))),
            ),
        };
        let decode = decoder(method);
        Self {
            docs,
            param,
            args: quote!(#service_name, #handler_name, #key, #format, #input, #decode),
            output: method.output_type(),
        }
    }
}

/// The function that decodes a handler's response.
pub(super) fn decoder(method: &MethodView<'_>) -> TokenStream {
    match &method.output {
        Some(ty) => quote!(::restate_runtime::codec::decode::<#ty>),
        None => quote!(::restate_runtime::codec::decode_empty),
    }
}

/// The method building the request for one rpc.
fn call(view: &ServiceView<'_>, method: &MethodView<'_>) -> TokenStream {
    let RequestParts {
        docs,
        param,
        args,
        output,
    } = RequestParts::new(view, method);
    let ident = &method.ident;
    quote! {
        #docs
        pub fn #ident(&self #param) -> ::restate_runtime::Request<#output> {
            ::restate_runtime::Request::new(&self.ctx, #args)
        }
    }
}
