//! Requests to handlers: one [`Request`] type for calls from inside a handler (journaled through
//! its [`Context`]) and from outside Restate (HTTP through an [`Ingress`]); only the transport
//! differs.
//!
//! Generated clients (`GreeterClient`) build a request per rpc; a client made from a context
//! calls through the journal, one made from an ingress (`GreeterIngressClient`) over HTTP:
//!
//! ```no_run
//! # async fn example(ctx: restate_runtime::Context) -> Result<(), restate_runtime::HandlerError> {
//! use bytes::Bytes;
//! use restate_runtime::{Codec, Request, Target};
//!
//! // An untyped call, by service and handler name, with a body passed through as is.
//! let target = Target::new("helloworld.Greeter", "SayHello", Codec::Json);
//! let body = Bytes::from_static(br#"{"name":"Ada"}"#);
//! let response: Bytes = Request::raw(&ctx, target, body).await?;
//! # Ok(()) }
//! ```

mod http;
mod journaled;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use bytes::Bytes;

use crate::codec::Codec;
use crate::context::{
    Context, ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext,
};
use crate::ingress::Ingress;

/// Names the handler a request goes to: its service, its name, the key of the object or
/// workflow instance, and the codec of its payloads.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    service: Cow<'static, str>,
    handler: Cow<'static, str>,
    key: Option<String>,
    codec: Codec,
}

impl Target {
    /// The handler `handler` of the service `service` (fully qualified, e.g.
    /// `helloworld.Greeter`), taking and returning payloads in `codec`.
    pub fn new(
        service: impl Into<Cow<'static, str>>,
        handler: impl Into<Cow<'static, str>>,
        codec: Codec,
    ) -> Self {
        Self {
            service: service.into(),
            handler: handler.into(),
            key: None,
            codec,
        }
    }

    /// Addresses the virtual object or workflow instance `key`.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The handler name.
    pub fn handler(&self) -> &str {
        &self.handler
    }

    /// The key of the object or workflow instance, if the service is keyed.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The codec of the handler's payloads.
    pub fn codec(&self) -> Codec {
        self.codec
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Context {}
    impl Sealed for crate::ingress::Ingress {}
}

/// How a request reaches Restate: through a handler's [`Context`] (the call is journaled) or
/// through an [`Ingress`] (HTTP, from outside Restate).
pub trait Caller: Clone + fmt::Debug + Send + Sync + 'static + sealed::Sealed {}

impl Caller for Context {}
impl Caller for Ingress {}

/// What a client can be made from: any handler context, or an [`Ingress`].
pub trait IntoCaller {
    /// Where the requests go.
    type Caller: Caller;

    /// The caller requests go through.
    fn caller(&self) -> Self::Caller;
}

macro_rules! context_callers {
    ($($context:ty),*) => {$(
        impl IntoCaller for $context {
            type Caller = Context;

            fn caller(&self) -> Context {
                AsRef::<Context>::as_ref(self).clone()
            }
        }
    )*};
}

context_callers!(
    Context,
    ObjectContext,
    ObjectSharedContext,
    WorkflowContext,
    WorkflowSharedContext
);

impl IntoCaller for Ingress {
    type Caller = Ingress;

    fn caller(&self) -> Ingress {
        self.clone()
    }
}

/// A request to a handler, made through a [`Caller`]: await it (or `call` it) for the response,
/// or `send` it to enqueue it.
///
/// From a context the request is journaled: [`call`](Request::call) returns a
/// [`CallFuture`](crate::CallFuture), [`send`](Request::send) a
/// [`SendHandle`](crate::SendHandle). From an ingress it is an HTTP request: `call`, `send`,
/// `send_after`, `attach` and `get_output` are `async` and fail with an
/// [`IngressError`](crate::ingress::IngressError).
#[must_use = "a request does nothing until it is called or sent"]
pub struct Request<C, Req, Res> {
    caller: C,
    target: Target,
    input: Req,
    idempotency_key: Option<String>,
    headers: Vec<(String, String)>,
    scope: Option<String>,
    limit_key: Option<String>,
    response: PhantomData<fn() -> Res>,
}

impl<C: fmt::Debug, Req, Res> fmt::Debug for Request<C, Req, Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("caller", &self.caller)
            .field("target", &self.target)
            .field("idempotency_key", &self.idempotency_key)
            .field("headers", &self.headers)
            .field("scope", &self.scope)
            .field("limit_key", &self.limit_key)
            .finish_non_exhaustive()
    }
}

impl<C: Caller, Req, Res> Request<C, Req, Res> {
    /// A request to `target` with `input`, through `caller` (a context or an ingress).
    pub fn new(caller: &impl IntoCaller<Caller = C>, target: Target, input: Req) -> Self {
        Self::from_caller(caller.caller(), target, input)
    }

    pub(crate) fn from_caller(caller: C, target: Target, input: Req) -> Self {
        Self {
            caller,
            target,
            input,
            idempotency_key: None,
            headers: Vec::new(),
            scope: None,
            limit_key: None,
            response: PhantomData,
        }
    }

    /// Adds a header, passed on to the handler.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Makes the request idempotent: Restate runs the handler at most once per key, and
    /// repeated requests get the first one's result.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Runs the invocation in the concurrency scope `scope`: Restate's concurrency rules
    /// (`PUT /limits/rules` on the admin API) whose pattern matches the scope (and the
    /// [limit key](Request::limit_key)) bound how many such invocations run at once; the rest
    /// wait. Scopes apply to plain services. They need restate-server with its vqueues and
    /// invocation protocol v7 (`RESTATE_EXPERIMENTAL_ENABLE_VQUEUES=true` and
    /// `RESTATE_EXPERIMENTAL_ENABLE_PROTOCOL_V7=true` on 1.7); without them a call from a
    /// handler fails the invocation and the ingress refuses the request.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The limit key within the [scope](Request::scope): one or two levels (`tenant` or
    /// `tenant/user`) that rules such as `scope/tenant/*` match. Only with a scope.
    pub fn limit_key(mut self, limit_key: impl Into<String>) -> Self {
        self.limit_key = Some(limit_key.into());
        self
    }

    /// The handler the request goes to.
    pub fn target(&self) -> &Target {
        &self.target
    }
}

impl<C: Caller> Request<C, Bytes, Bytes> {
    /// An untyped request: `body` goes to `target` as is, and the response comes back as is —
    /// for proxies and generic tooling. Prefer generated clients.
    pub fn raw(caller: &impl IntoCaller<Caller = C>, target: Target, body: Bytes) -> Self {
        Self::new(caller, target, body)
    }
}

/// A workflow instance: wait for its run handler's result, or peek at it. Start it with the
/// generated client's run-handler method.
///
/// Through a context, `attach` and `get_output` are journaled durable futures; through an
/// ingress they are HTTP requests.
pub struct WorkflowHandle<C, Res> {
    caller: C,
    target: Target,
    response: PhantomData<fn() -> Res>,
}

impl<C: Clone, Res> Clone for WorkflowHandle<C, Res> {
    fn clone(&self) -> Self {
        Self {
            caller: self.caller.clone(),
            target: self.target.clone(),
            response: PhantomData,
        }
    }
}

impl<C: fmt::Debug, Res> fmt::Debug for WorkflowHandle<C, Res> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowHandle")
            .field("caller", &self.caller)
            .field("target", &self.target)
            .finish()
    }
}

impl<C: Caller, Res> WorkflowHandle<C, Res> {
    /// The workflow `service` (fully qualified, e.g. `approval.Approval`) with id `key`, whose
    /// run handler's output travels in `codec`, through `caller`. Generated clients hand these
    /// out (`ApprovalClient::new(&ctx, id).handle()`).
    pub fn new(
        caller: &impl IntoCaller<Caller = C>,
        service: impl Into<Cow<'static, str>>,
        key: impl Into<String>,
        codec: Codec,
    ) -> Self {
        let target = Target::new(service, "", codec).with_key(key);
        Self::from_caller(caller.caller(), target)
    }

    /// Made by generated clients, whose target names the run handler and carries the key.
    pub(crate) fn from_caller(caller: C, target: Target) -> Self {
        Self {
            caller,
            target,
            response: PhantomData,
        }
    }

    /// The workflow's service, key and codec.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The workflow id.
    pub fn key(&self) -> &str {
        self.target.key.as_deref().unwrap_or_default()
    }
}
