//! Hooks around what an endpoint's handlers do: each attempt of a handler, each `run` that
//! executes, and each call or send a handler makes ([`EndpointBuilder::interceptor`]).
//!
//! One shape for all three: an [`Interceptor`] sees what is about to happen and either lets it
//! go on — wrapping the work, to time it, log it or change its result — or refuses it with an
//! error. What runs when:
//!
//! | hook | runs | on a replay |
//! |---|---|---|
//! | [`Interceptor::attempt`] | around every attempt of a handler | yes: every attempt, the journal's replay included |
//! | [`Interceptor::run`] | around a `run` closure that executes | no: a journaled result is replayed, the closure (and the hook) do not run again |
//! | [`Interceptor::request`] | before a call or send is journaled | yes: on every attempt, so what it adds must be the same each time |
//!
//! A header [`Interceptor::request`] adds becomes part of the journaled call: derive it from
//! the invocation (its headers, its id), never from the clock or a counter, or the replay of
//! the call fails with a journal mismatch. The same holds for a refusal (a call journaled on
//! one attempt and refused on the next no longer matches), and for the set and order of the
//! interceptors across a deployment: invocations in flight replay their calls' headers.
//!
//! The run hook is called while the invocation's state machine is locked: it wraps the
//! closure's future and returns at once; the work belongs in the future it returns.
//!
//! ```
//! use restate_runtime::intercept::{Attempt, Interceptor, OutgoingRequest};
//! use restate_runtime::service::HandlerFuture;
//! use restate_runtime::TerminalError;
//!
//! /// Refuses invocations without the team's token, and passes the tenant on to every call.
//! struct Auth;
//!
//! impl Interceptor for Auth {
//!     fn attempt(&self, attempt: &Attempt, handler: HandlerFuture) -> HandlerFuture {
//!         if attempt.header("authorization") != Some("Bearer team-token") {
//!             return Box::pin(async { Err(TerminalError::new(401, "not authorized").into()) });
//!         }
//!         handler
//!     }
//!
//!     fn request(&self, request: &mut OutgoingRequest<'_>) -> Result<(), TerminalError> {
//!         if let Some(tenant) = request.invocation_header("x-tenant").map(str::to_owned) {
//!             request.set_header("x-tenant", tenant);
//!         }
//!         Ok(())
//!     }
//! }
//! # let _ = restate_runtime::Endpoint::builder().interceptor(Auth);
//! ```
//!
//! [`EndpointBuilder::interceptor`]: crate::EndpointBuilder::interceptor

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::codegen::HandlerFuture;
use crate::context::InvocationInfo;
use crate::error::{HandlerError, TerminalError};

/// The work of a `run` closure: its journaled result, encoded, or its error.
pub type RunFuture = BoxFuture<'static, Result<Bytes, HandlerError>>;

/// Hooks around an endpoint's handlers; every method has a default that lets the work go on.
/// Several interceptors apply in the order they were added: the first is the outermost.
pub trait Interceptor: Send + Sync + 'static {
    /// Around one attempt of a handler: return `handler` to run it (wrapped, if you like), or
    /// a future of your own to refuse it. A [`TerminalError`] ends the invocation with that
    /// error; any other error is retried by Restate.
    fn attempt(&self, attempt: &Attempt, handler: HandlerFuture) -> HandlerFuture {
        let _ = attempt;
        handler
    }

    /// Around a `run` closure that executes (not one whose result is replayed). An error fails
    /// the run as the closure's own error would: retried per the run's policy, or terminal.
    fn run(&self, run: &RunInfo, action: RunFuture) -> RunFuture {
        let _ = run;
        action
    }

    /// Before a call or send is journaled, on every attempt: read and add headers, or refuse
    /// it with a terminal error, which the call's future (or `send`) then returns.
    fn request(&self, request: &mut OutgoingRequest<'_>) -> Result<(), TerminalError> {
        let _ = request;
        Ok(())
    }
}

/// The interceptors of an endpoint, in the order they were added.
pub(crate) type Interceptors = Arc<[Arc<dyn Interceptor>]>;

/// What an attempt is about to run.
#[derive(Debug, Clone)]
pub struct Attempt {
    service: &'static str,
    handler: &'static str,
    invocation: Arc<InvocationInfo>,
}

impl Attempt {
    pub(crate) fn new(
        service: &'static str,
        handler: &'static str,
        invocation: Arc<InvocationInfo>,
    ) -> Self {
        Self {
            service,
            handler,
            invocation,
        }
    }

    /// The service's name.
    pub fn service(&self) -> &str {
        self.service
    }

    /// The handler's name.
    pub fn handler(&self) -> &str {
        self.handler
    }

    /// The invocation id.
    pub fn invocation_id(&self) -> &str {
        &self.invocation.id
    }

    /// The object key or workflow id; empty for plain services.
    pub fn key(&self) -> &str {
        &self.invocation.key
    }

    /// The headers the invocation was started with.
    pub fn headers(&self) -> &[(String, String)] {
        &self.invocation.headers
    }

    /// The invocation's header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.invocation.header(name)
    }
}

/// A `run` about to execute.
#[derive(Debug, Clone)]
pub struct RunInfo {
    name: String,
    invocation: Arc<InvocationInfo>,
}

impl RunInfo {
    pub(crate) fn new(name: String, invocation: Arc<InvocationInfo>) -> Self {
        Self { name, invocation }
    }

    /// The run's name, as the journal shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The id of the invocation the run belongs to.
    pub fn invocation_id(&self) -> &str {
        &self.invocation.id
    }

    /// The invocation's header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.invocation.header(name)
    }
}

/// A call or send about to be journaled.
#[derive(Debug)]
pub struct OutgoingRequest<'a> {
    pub(crate) service: &'a str,
    pub(crate) handler: &'a str,
    pub(crate) key: Option<&'a str>,
    pub(crate) send: bool,
    pub(crate) headers: &'a mut Vec<(String, String)>,
    pub(crate) invocation: &'a InvocationInfo,
}

impl OutgoingRequest<'_> {
    /// The called service.
    pub fn service(&self) -> &str {
        self.service
    }

    /// The called handler.
    pub fn handler(&self) -> &str {
        self.handler
    }

    /// The object key or workflow id it addresses, for keyed services.
    pub fn key(&self) -> Option<&str> {
        self.key
    }

    /// Whether it is a send (one-way, perhaps delayed) rather than a call.
    pub fn is_send(&self) -> bool {
        self.send
    }

    /// The headers it carries so far.
    pub fn headers(&self) -> &[(String, String)] {
        self.headers
    }

    /// Sets header `name`, replacing any of the same name (case-insensitive).
    pub fn set_header(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        self.headers
            .retain(|(key, _)| !key.eq_ignore_ascii_case(&name));
        self.headers.push((name, value.into()));
    }

    /// The header `name` (case-insensitive) of the invocation making the request, if present.
    pub fn invocation_header(&self, name: &str) -> Option<&str> {
        self.invocation.header(name)
    }

    /// The id of the invocation making the request.
    pub fn invocation_id(&self) -> &str {
        &self.invocation.id
    }
}

/// `handler` wrapped by every interceptor, the first outermost.
pub(crate) fn attempt(
    interceptors: &Interceptors,
    attempt: &Attempt,
    handler: HandlerFuture,
) -> HandlerFuture {
    interceptors
        .iter()
        .rev()
        .fold(handler, |handler, interceptor| {
            interceptor.attempt(attempt, handler)
        })
}

/// `action` wrapped by every interceptor, the first outermost. A hook that panics fails the
/// run (retried, as a panicking closure would be) instead of the attempt.
pub(crate) fn run(interceptors: &Interceptors, run: &RunInfo, action: RunFuture) -> RunFuture {
    let wrapped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        interceptors
            .iter()
            .rev()
            .fold(action, |action, interceptor| interceptor.run(run, action))
    }));
    wrapped.unwrap_or_else(|panic| {
        let message = crate::engine::panic_message(&*panic);
        Box::pin(async move {
            Err(HandlerError::retryable(format!(
                "an interceptor's run hook panicked: {message}"
            )))
        })
    })
}

/// Every interceptor's look at `request`, in order; the first refusal wins.
pub(crate) fn request(
    interceptors: &Interceptors,
    request: &mut OutgoingRequest<'_>,
) -> Result<(), TerminalError> {
    interceptors
        .iter()
        .try_for_each(|interceptor| interceptor.request(request))
}
