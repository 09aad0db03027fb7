//! The context a handler receives: the one place that decides its type.

use proc_macro2::TokenStream;
use quote::quote;

use super::runtime;
use crate::model::{HandlerType, ServiceType};

/// The context type of a handler of type `handler` in a service of type `service`: exclusive
/// handlers may write state, shared ones only read it, and workflow handlers reach the
/// workflow's durable promises.
pub(super) fn context_type(service: ServiceType, handler: Option<HandlerType>) -> TokenStream {
    let ty = match (service, handler) {
        (ServiceType::Service, _) => quote!(Context),
        (ServiceType::VirtualObject, Some(HandlerType::Shared)) => quote!(ObjectSharedContext),
        (ServiceType::VirtualObject, _) => quote!(ObjectContext),
        (ServiceType::Workflow, Some(HandlerType::WorkflowRun)) => quote!(WorkflowContext),
        (ServiceType::Workflow, _) => quote!(WorkflowSharedContext),
    };
    let rt = runtime();
    quote!(#rt::#ty)
}
