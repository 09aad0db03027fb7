//! Requests through a handler's [`Context`]: calls and sends are journaled, so a retried
//! invocation replays them instead of calling again.

use std::future::IntoFuture;
use std::time::Duration;

use bytes::Bytes;
use restate_sdk_shared_core::{
    AttachInvocationTarget, Header, PayloadOptions, Target as VmTarget, VM, Value,
};

use super::{Request, Target, WorkflowHandle};
use crate::codec::Payload;
use crate::context::{CallFuture, Context, SendHandle, decode_output};
use crate::engine::{self, DurableFuture, unexpected};
use crate::error::TerminalError;

impl<Req: Payload, Res: Payload> Request<Context, Req, Res> {
    /// Calls the handler; await the result for its response.
    pub fn call(self) -> CallFuture<Res> {
        let ctx = self.caller.clone();
        let codec = self.target.codec;
        let call = match self.into_vm_target(false) {
            Ok((target, input)) => {
                ctx.with_vm(|vm| vm.sys_call(target, input, None, PayloadOptions::default()))
            }
            Err(error) => {
                let response = DurableFuture::ready(&ctx.driver, Err(error));
                return CallFuture::new(&ctx, response, None);
            }
        };
        let invocation_id = call.map(|c| c.invocation_id_notification_handle);
        let response = DurableFuture::new(
            &ctx.driver,
            call.map(|c| c.call_notification_handle),
            move |value| {
                let bytes = match value {
                    Value::Success(bytes) => bytes,
                    Value::Void => Bytes::new(),
                    Value::Failure(failure) => return Err(failure.into()),
                    other => return Err(unexpected(&other)),
                };
                Res::decode_payload(codec, &bytes).map_err(|e| {
                    TerminalError::new(500, format!("cannot decode the response: {e}"))
                })
            },
        );
        CallFuture::new(&ctx, response, invocation_id)
    }

    /// Enqueues the request without waiting for it to run.
    pub fn send(self) -> Result<SendHandle, TerminalError> {
        self.send_at(None)
    }

    /// Enqueues the request to run after `delay`.
    pub fn send_after(self, delay: Duration) -> Result<SendHandle, TerminalError> {
        let at = engine::time_after(delay).ok_or_else(|| {
            TerminalError::new(
                400,
                format!("cannot delay by {delay:?}: the send time is out of range"),
            )
        })?;
        self.send_at(Some(at))
    }

    fn send_at(self, at: Option<Duration>) -> Result<SendHandle, TerminalError> {
        let ctx = self.caller.clone();
        let (target, input) = self.into_vm_target(true)?;
        let sent =
            ctx.with_vm(|vm| vm.sys_send(target, input, at, None, PayloadOptions::default()));
        Ok(SendHandle::new(
            &ctx,
            sent.map(|s| s.invocation_id_notification_handle),
        ))
    }

    /// The target as the state machine takes it, and the encoded input, once the endpoint's
    /// interceptors have seen the request (a send when `send`).
    fn into_vm_target(self, send: bool) -> Result<(VmTarget, Bytes), TerminalError> {
        let input = self
            .input
            .encode_payload(self.target.codec)
            .map_err(|e| TerminalError::new(500, format!("cannot encode the request: {e}")))?;
        match (&self.scope, &self.limit_key) {
            (Some(scope), _) if scope.is_empty() => {
                return Err(TerminalError::new(400, "a request's scope cannot be empty"));
            }
            (_, Some(limit_key)) if limit_key.is_empty() => {
                return Err(TerminalError::new(
                    400,
                    "a request's limit key cannot be empty",
                ));
            }
            (None, Some(_)) => {
                return Err(TerminalError::new(400, "a limit key needs a scope"));
            }
            _ => {}
        }
        let mut headers = self.headers;
        crate::telemetry::pass_on_trace(&mut headers, self.caller.headers());
        let info = &self.caller.info;
        if let Some(interceptors) = &info.interceptors {
            let mut request = crate::intercept::OutgoingRequest {
                service: &self.target.service,
                handler: &self.target.handler,
                key: self.target.key.as_deref(),
                send,
                headers: &mut headers,
                invocation: info,
            };
            crate::intercept::request(interceptors, &mut request)?;
        }
        let Target {
            service,
            handler,
            key,
            codec: _,
        } = self.target;
        let target = VmTarget {
            service: service.into_owned(),
            handler: handler.into_owned(),
            key,
            idempotency_key: self.idempotency_key,
            scope: self.scope,
            limit_key: self.limit_key,
            headers: headers
                .into_iter()
                .map(|(key, value)| Header {
                    key: key.into(),
                    value: value.into(),
                })
                .collect(),
        };
        Ok((target, input))
    }
}

impl<Req: Payload, Res: Payload> IntoFuture for Request<Context, Req, Res> {
    type Output = Result<Res, TerminalError>;
    type IntoFuture = CallFuture<Res>;

    fn into_future(self) -> Self::IntoFuture {
        self.call()
    }
}

impl<Res: Payload> WorkflowHandle<Context, Res> {
    /// Waits for the workflow's run handler to finish and returns its result.
    pub fn attach(&self) -> DurableFuture<Res> {
        let target = self.attach_target();
        let handle = self.caller.with_vm(|vm| vm.sys_attach_invocation(target));
        let codec = self.target.codec;
        DurableFuture::new(&self.caller.driver, handle, move |value| {
            decode_output(codec, value)?
                .ok_or_else(|| TerminalError::new(500, "the workflow finished without an output"))
        })
    }

    /// The workflow's result if its run handler finished, `None` if it has not.
    pub fn get_output(&self) -> DurableFuture<Option<Res>> {
        let target = self.attach_target();
        let handle = self
            .caller
            .with_vm(|vm| vm.sys_get_invocation_output(target));
        let codec = self.target.codec;
        DurableFuture::new(&self.caller.driver, handle, move |value| {
            decode_output(codec, value)
        })
    }

    fn attach_target(&self) -> AttachInvocationTarget {
        AttachInvocationTarget::WorkflowId {
            name: self.target.service.clone().into_owned(),
            key: self.key().to_owned(),
            scope: None,
        }
    }
}
