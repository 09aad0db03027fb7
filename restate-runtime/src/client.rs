//! Requests to other services from inside a handler, journaled like every context operation.
//!
//! Generated clients (`GreeterClient`) build a [`Request`] per rpc; await it to call, or use
//! [`Request::send`] to fire and forget.

use std::borrow::Cow;
use std::future::IntoFuture;
use std::time::Duration;

use bytes::Bytes;
use restate_sdk_shared_core::{AttachInvocationTarget, Header, PayloadOptions, Target, VM, Value};

use crate::codec::{CodecError, Format};
use crate::context::{Context, unexpected};
use crate::durable::DurableFuture;
use crate::error::TerminalError;
use crate::invocation::{CallFuture, SendHandle};
use crate::vm_driver;

/// Decodes a response payload.
pub type ResponseDecoder<Res> = fn(Format, &[u8]) -> Result<Res, CodecError>;

/// A request to a handler of another (or the same) service.
#[must_use = "a request does nothing until it is awaited (a call) or sent"]
pub struct Request<Res> {
    ctx: Context,
    service: Cow<'static, str>,
    handler: Cow<'static, str>,
    key: Option<String>,
    format: Format,
    input: Result<Bytes, CodecError>,
    decode: ResponseDecoder<Res>,
    idempotency_key: Option<String>,
    headers: Vec<(String, String)>,
}

impl<Res: Send + 'static> Request<Res> {
    /// A request with an already encoded input. Generated clients call this.
    pub fn new(
        ctx: &Context,
        service: &'static str,
        handler: &'static str,
        key: Option<String>,
        format: Format,
        input: Result<Bytes, CodecError>,
        decode: ResponseDecoder<Res>,
    ) -> Self {
        Self {
            ctx: ctx.clone(),
            service: Cow::Borrowed(service),
            handler: Cow::Borrowed(handler),
            key,
            format,
            input,
            decode,
            idempotency_key: None,
            headers: Vec::new(),
        }
    }

    /// Adds a header to the request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Makes the request idempotent: Restate runs the target at most once per key.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Calls the handler; await the result for its response.
    pub fn call(self) -> CallFuture<Res> {
        let ctx = self.ctx.clone();
        let format = self.format;
        let decode = self.decode;
        let call = match self.target_and_input() {
            Ok((target, input)) => {
                ctx.with_vm(|vm| vm.sys_call(target, input, None, PayloadOptions::default()))
            }
            Err(error) => {
                return CallFuture::new(&ctx, DurableFuture::ready(&ctx, Err(error)), None);
            }
        };
        let invocation_id = call.map(|c| c.invocation_id_notification_handle);
        let response = DurableFuture::new(
            &ctx,
            call.map(|c| c.call_notification_handle),
            move |value| match value {
                Value::Success(bytes) => decode(format, &bytes).map_err(|e| {
                    TerminalError::new(500, format!("cannot decode the response: {e}"))
                }),
                Value::Void => decode(format, &[]).map_err(|e| {
                    TerminalError::new(500, format!("cannot decode the response: {e}"))
                }),
                Value::Failure(failure) => Err(failure.into()),
                other => Err(unexpected(&other)),
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
        let at = vm_driver::now_since_unix_epoch()
            .checked_add(delay)
            .ok_or_else(|| TerminalError::new(400, format!("cannot delay by {delay:?}")))?;
        self.send_at(Some(at))
    }

    fn send_at(self, at: Option<Duration>) -> Result<SendHandle, TerminalError> {
        let ctx = self.ctx.clone();
        let (target, input) = self.target_and_input()?;
        let sent =
            ctx.with_vm(|vm| vm.sys_send(target, input, at, None, PayloadOptions::default()));
        Ok(SendHandle::new(
            &ctx,
            sent.map(|s| s.invocation_id_notification_handle),
        ))
    }

    fn target_and_input(self) -> Result<(Target, Bytes), TerminalError> {
        let input = self
            .input
            .map_err(|e| TerminalError::new(500, format!("cannot encode the request: {e}")))?;
        let target = Target {
            service: self.service.into_owned(),
            handler: self.handler.into_owned(),
            key: self.key,
            idempotency_key: self.idempotency_key,
            scope: None,
            limit_key: None,
            headers: self
                .headers
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

impl Request<Bytes> {
    /// A request to any handler, named at run time, with a body passed through as is and the
    /// response returned as is — for proxies and generic tooling. Prefer generated clients.
    pub fn raw(
        ctx: &Context,
        service: impl Into<String>,
        handler: impl Into<String>,
        key: Option<String>,
        body: Bytes,
    ) -> Self {
        Self {
            ctx: ctx.clone(),
            service: Cow::Owned(service.into()),
            handler: Cow::Owned(handler.into()),
            key,
            format: Format::Json,
            input: Ok(body),
            decode: |_, bytes| Ok(Bytes::copy_from_slice(bytes)),
            idempotency_key: None,
            headers: Vec::new(),
        }
    }
}

impl<Res: Send + 'static> IntoFuture for Request<Res> {
    type Output = Result<Res, TerminalError>;
    type IntoFuture = CallFuture<Res>;

    fn into_future(self) -> Self::IntoFuture {
        self.call()
    }
}

/// A workflow instance seen from inside a handler: wait for its result, or peek at it.
///
/// Generated workflow clients hand one out (`ApprovalClient::new(&ctx, id).handle()`); start the
/// workflow with the client's run-handler method.
pub struct WorkflowHandle<Res> {
    ctx: Context,
    service: &'static str,
    key: String,
    format: Format,
    decode: ResponseDecoder<Res>,
}

impl<Res: Send + 'static> WorkflowHandle<Res> {
    /// The handle of workflow `service` with id `key`. Generated clients call this.
    pub fn new(
        ctx: &Context,
        service: &'static str,
        key: String,
        format: Format,
        decode: ResponseDecoder<Res>,
    ) -> Self {
        Self {
            ctx: ctx.clone(),
            service,
            key,
            format,
            decode,
        }
    }

    /// Waits for the workflow's run handler to finish and returns its result.
    pub fn attach(&self) -> DurableFuture<Res> {
        let target = self.target();
        let handle = self.ctx.with_vm(|vm| vm.sys_attach_invocation(target));
        let (format, decode) = (self.format, self.decode);
        DurableFuture::new(&self.ctx, handle, move |value| {
            decode_output(format, decode, value)?
                .ok_or_else(|| TerminalError::new(500, "the workflow finished without an output"))
        })
    }

    /// The workflow's result if its run handler finished, `None` if it has not.
    pub fn get_output(&self) -> DurableFuture<Option<Res>> {
        let target = self.target();
        let handle = self.ctx.with_vm(|vm| vm.sys_get_invocation_output(target));
        let (format, decode) = (self.format, self.decode);
        DurableFuture::new(&self.ctx, handle, move |value| {
            decode_output(format, decode, value)
        })
    }

    fn target(&self) -> AttachInvocationTarget {
        AttachInvocationTarget::WorkflowId {
            name: self.service.to_owned(),
            key: self.key.clone(),
            scope: None,
        }
    }
}

fn decode_output<Res>(
    format: Format,
    decode: ResponseDecoder<Res>,
    value: Value,
) -> Result<Option<Res>, TerminalError> {
    match value {
        Value::Void => Ok(None),
        Value::Success(bytes) => decode(format, &bytes)
            .map(Some)
            .map_err(|e| TerminalError::new(500, format!("cannot decode the output: {e}"))),
        Value::Failure(failure) => Err(failure.into()),
        other => Err(unexpected(&other)),
    }
}
