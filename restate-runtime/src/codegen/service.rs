//! What a bound service is to the endpoint: its discovery metadata, and the entry point an
//! invocation is dispatched to.

use std::future::Future;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::definition::{HandlerDefinition, ServiceDefinition};
use super::{HandlerType, ServiceType};
use crate::codec::{CodecError, Payload, check_empty_input};
use crate::context::{
    Context, ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext,
};
use crate::error::{HandlerError, TerminalError};

/// The future a handler invocation runs: the encoded output, or the error it failed with.
pub type HandlerFuture = BoxFuture<'static, Result<Bytes, HandlerError>>;

/// A service implementation bound to an endpoint.
///
/// Generated server wrappers (`GreeterServer`) implement it; users rarely do by hand.
pub trait Service: Send + Sync + 'static {
    /// The discovery metadata.
    fn definition(&self) -> &'static ServiceDefinition;

    /// Runs the handler the invocation names. The endpoint only dispatches names that
    /// [`ServiceDefinition::handlers`] lists.
    fn invoke(&self, invocation: Invocation) -> HandlerFuture;
}

/// One invocation of a handler, as the endpoint hands it to a [`Service`].
#[derive(Debug)]
pub struct Invocation {
    pub(crate) service: &'static ServiceDefinition,
    pub(crate) handler: &'static HandlerDefinition,
    pub(crate) context: Context,
    pub(crate) input: Bytes,
}

impl Invocation {
    /// The handler name.
    pub fn handler(&self) -> &'static str {
        self.handler.name
    }

    /// The raw input bytes.
    pub fn input(&self) -> &Bytes {
        &self.input
    }

    /// Runs `handler` with the context its type asks for and the decoded input, and encodes
    /// its output, both in the service's codec. Input that does not decode is a terminal
    /// error with code 400, and `handler` does not run.
    ///
    /// A context of the wrong kind for the handler (a generated server never asks for one)
    /// fails the attempt instead.
    pub fn run<Ctx, Req, Res, Fut>(self, handler: impl FnOnce(Ctx, Req) -> Fut) -> HandlerFuture
    where
        Ctx: HandlerContext,
        Req: Payload,
        Res: Payload,
        Fut: Future<Output = Result<Res, HandlerError>> + Send + 'static,
    {
        let codec = self.service.codec;
        if !Ctx::fits(self.service.ty, self.handler.ty) {
            return failed(HandlerError::retryable(format!(
                "handler {}/{} was given the context of another kind of handler",
                self.service.name, self.handler.name
            )));
        }
        let decoded = if self.handler.input.empty {
            check_empty_input(codec, &self.input).and_then(|()| Req::decode_payload(codec, &[]))
        } else {
            Req::decode_payload(codec, &self.input)
        };
        let request = match decoded {
            Ok(request) => request,
            // The generated code and the runtime disagree: a deployment problem, which a
            // retry on a fixed deployment gets past.
            Err(error @ CodecError::MissingDescriptor(_)) => {
                return failed(HandlerError::retryable(error.to_string()));
            }
            Err(error) => {
                let name = self.handler.name;
                let message = format!("cannot decode the input of handler {name}: {error}");
                return failed(TerminalError::new(400, message).into());
            }
        };
        let response = handler(Ctx::from_context(self.context, sealed::Token(())), request);
        Box::pin(async move {
            let response = response.await?;
            response.encode_payload(codec).map_err(|e| {
                TerminalError::new(500, format!("cannot encode the output: {e}")).into()
            })
        })
    }

    /// The answer to a handler name the service does not have: a terminal error with code 404.
    pub fn unknown_handler(self) -> HandlerFuture {
        let (service, handler) = (self.service.name, self.handler.name);
        let message = format!("service {service} has no handler {handler}");
        failed(TerminalError::new(404, message).into())
    }
}

/// A handler future that fails at once with `error`.
fn failed(error: HandlerError) -> HandlerFuture {
    Box::pin(std::future::ready(Err(error)))
}

/// The context types a handler can receive. Only the runtime makes them, so a shared handler
/// cannot turn its read-only context into one that writes state.
pub trait HandlerContext: sealed::FromContext + Send + 'static {}

#[allow(unreachable_pub)]
mod sealed {
    use crate::codegen::{HandlerType, ServiceType};
    use crate::context::Context;

    /// Proof that the runtime asks: no code outside it can make one, so no code outside it
    /// can call [`FromContext::from_context`], not even through a generic bound.
    #[derive(Debug)]
    pub struct Token(pub(super) ());

    pub trait FromContext: Sized {
        /// Whether a handler of type `handler` in a service of type `service` gets this
        /// context.
        fn fits(service: ServiceType, handler: Option<HandlerType>) -> bool;

        /// The context of an invocation.
        fn from_context(ctx: Context, token: Token) -> Self;
    }
}

/// Implements [`HandlerContext`] for a context type: the handlers it is for, and how it is
/// made from a [`Context`].
macro_rules! handler_context {
    ($context:ty, $fits:pat, $make:expr) => {
        impl sealed::FromContext for $context {
            fn fits(service: ServiceType, handler: Option<HandlerType>) -> bool {
                matches!((service, handler), $fits)
            }

            fn from_context(ctx: Context, _: sealed::Token) -> Self {
                $make(ctx)
            }
        }

        impl HandlerContext for $context {}
    };
}

handler_context!(Context, (ServiceType::Service, _), |ctx| ctx);
handler_context!(
    ObjectContext,
    (
        ServiceType::VirtualObject,
        None | Some(HandlerType::Exclusive)
    ),
    ObjectContext::new
);
handler_context!(
    ObjectSharedContext,
    (ServiceType::VirtualObject, Some(HandlerType::Shared)),
    ObjectSharedContext::new
);
handler_context!(
    WorkflowContext,
    (ServiceType::Workflow, Some(HandlerType::WorkflowRun)),
    WorkflowContext::new
);
handler_context!(
    WorkflowSharedContext,
    (
        ServiceType::Workflow,
        None | Some(HandlerType::Shared | HandlerType::Exclusive)
    ),
    WorkflowSharedContext::new
);

/// The body of a handler method left unimplemented: a terminal error with code 501.
pub fn not_implemented<T>(
    service: &str,
    handler: &str,
) -> std::future::Ready<Result<T, HandlerError>> {
    std::future::ready(Err(TerminalError::not_implemented(service, handler).into()))
}
