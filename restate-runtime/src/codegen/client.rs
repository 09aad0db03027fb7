//! The common part of generated clients: which service they call, through what, and for which
//! key.

use super::definition::ServiceDefinition;
use crate::call::{Caller, IntoCaller, Request, Target, WorkflowHandle};

/// The service a generated client calls, the caller it calls through, and the key of the
/// instance for objects and workflows. Each generated method is one [`Client::request`].
#[derive(Debug, Clone)]
pub struct Client<C> {
    caller: C,
    service: &'static ServiceDefinition,
    key: Option<String>,
}

impl<C: Caller> Client<C> {
    /// A client of the plain service `service`.
    pub fn new(caller: &impl IntoCaller<Caller = C>, service: &'static ServiceDefinition) -> Self {
        Self {
            caller: caller.caller(),
            service,
            key: None,
        }
    }

    /// A client of the instance `key` of the virtual object or workflow `service`.
    pub fn keyed(
        caller: &impl IntoCaller<Caller = C>,
        service: &'static ServiceDefinition,
        key: String,
    ) -> Self {
        Self {
            caller: caller.caller(),
            service,
            key: Some(key),
        }
    }

    /// A request to the handler `handler` with `input`.
    pub fn request<Req, Res>(&self, handler: &'static str, input: Req) -> Request<C, Req, Res> {
        Request::from_caller(self.caller.clone(), self.target(handler), input)
    }

    /// The workflow instance this client addresses.
    pub fn workflow_handle<Res>(&self) -> WorkflowHandle<C, Res> {
        let run = self.service.workflow_run().map_or("", |run| run.name);
        WorkflowHandle::from_caller(self.caller.clone(), self.target(run))
    }

    fn target(&self, handler: &'static str) -> Target {
        let target = Target::new(self.service.name, handler, self.service.codec);
        match &self.key {
            Some(key) => target.with_key(key.clone()),
            None => target,
        }
    }
}
