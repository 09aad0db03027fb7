//! What a bound service is to the endpoint: its discovery metadata, and the entry point an
//! invocation is dispatched to.

use std::future::Future;

use bytes::Bytes;
use futures::future::BoxFuture;

use super::definition::{HandlerDefinition, ServiceDefinition};
use crate::codec::Payload;
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
    pub fn run<Ctx, Req, Res, Fut>(self, handler: impl FnOnce(Ctx, Req) -> Fut) -> HandlerFuture
    where
        Ctx: HandlerContext,
        Req: Payload,
        Res: Payload,
        Fut: Future<Output = Result<Res, HandlerError>> + Send + 'static,
    {
        let codec = self.service.codec;
        let request = match Req::decode_payload(codec, &self.input) {
            Ok(request) => request,
            Err(error) => {
                let error = TerminalError::new(
                    400,
                    format!(
                        "cannot decode the input of handler {}: {error}",
                        self.handler.name
                    ),
                );
                return Box::pin(std::future::ready(Err(error.into())));
            }
        };
        let response = handler(Ctx::from_context(self.context), request);
        Box::pin(async move {
            let response = response.await?;
            response.encode_payload(codec).map_err(|e| {
                TerminalError::new(500, format!("cannot encode the output: {e}")).into()
            })
        })
    }

    /// The answer to a handler name the service does not have: a terminal error with code 404.
    pub fn unknown_handler(self) -> HandlerFuture {
        let error = TerminalError::new(
            404,
            format!(
                "service {} has no handler {}",
                self.service.name, self.handler.name
            ),
        );
        Box::pin(std::future::ready(Err(error.into())))
    }
}

/// The context types a handler can receive. Only the runtime makes them, so a shared handler
/// cannot turn its read-only context into one that writes state.
pub trait HandlerContext: sealed::FromContext + Send + 'static {}

#[allow(unreachable_pub)]
mod sealed {
    use crate::context::Context;

    pub trait FromContext {
        fn from_context(ctx: Context) -> Self;
    }
}

macro_rules! handler_contexts {
    ($($context:ident),*) => {$(
        impl sealed::FromContext for $context {
            fn from_context(ctx: Context) -> Self {
                $context::new(ctx)
            }
        }

        impl HandlerContext for $context {}
    )*};
}

impl sealed::FromContext for Context {
    fn from_context(ctx: Context) -> Self {
        ctx
    }
}

impl HandlerContext for Context {}

handler_contexts!(
    ObjectContext,
    ObjectSharedContext,
    WorkflowContext,
    WorkflowSharedContext
);

/// The body of a handler method left unimplemented: a terminal error with code 501.
pub fn not_implemented<T>(
    service: &str,
    handler: &str,
) -> std::future::Ready<Result<T, HandlerError>> {
    std::future::ready(Err(TerminalError::not_implemented(service, handler).into()))
}
