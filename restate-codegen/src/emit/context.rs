//! The context a handler receives: the one place that decides its type and how the server
//! obtains it from the invocation.

use proc_macro2::TokenStream;
use quote::quote;

use crate::model::{HandlerType, ServiceType};

/// How a handler receives its context.
pub(super) struct HandlerContext {
    /// The context type in the handler's signature.
    pub(super) ty: TokenStream,
    /// The `Invocation` method that turns the invocation into that context.
    pub(super) from_invocation: TokenStream,
}

/// The context of a handler of type `handler` in a service of type `service`: exclusive
/// handlers may write state, shared ones only read it, and workflow handlers reach the
/// workflow's durable promises.
pub(super) fn context_type(service: ServiceType, handler: Option<HandlerType>) -> HandlerContext {
    let (ty, from_invocation) = match (service, handler) {
        (ServiceType::Service, _) => (quote!(Context), quote!(into_context)),
        (ServiceType::VirtualObject, Some(HandlerType::Shared)) => (
            quote!(ObjectSharedContext),
            quote!(into_object_shared_context),
        ),
        (ServiceType::VirtualObject, _) => (quote!(ObjectContext), quote!(into_object_context)),
        (ServiceType::Workflow, Some(HandlerType::WorkflowRun)) => {
            (quote!(WorkflowContext), quote!(into_workflow_context))
        }
        (ServiceType::Workflow, _) => (
            quote!(WorkflowSharedContext),
            quote!(into_workflow_shared_context),
        ),
    };
    HandlerContext {
        ty: quote!(::restate_runtime::#ty),
        from_invocation,
    }
}
