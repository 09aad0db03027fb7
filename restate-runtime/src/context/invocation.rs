//! Handles on other invocations: their ids, cancelling them, and waiting for their results.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use restate_sdk_shared_core::{AttachInvocationTarget, NotificationHandle, VM, Value};

use super::Context;
use crate::codec::{Codec, Payload};
use crate::engine::{DurableFuture, unexpected};
use crate::error::TerminalError;

/// The invocation id a call or send receives, once Restate has assigned it.
#[derive(Debug)]
struct InvocationId {
    ctx: Context,
    handle: Option<NotificationHandle>,
    known: Option<String>,
}

impl InvocationId {
    fn new(ctx: &Context, handle: Option<NotificationHandle>) -> Self {
        Self {
            ctx: ctx.clone(),
            handle,
            known: None,
        }
    }

    async fn get(&mut self) -> Result<String, TerminalError> {
        if let Some(id) = &self.known {
            return Ok(id.clone());
        }
        let Some(handle) = self.handle else {
            return Err(TerminalError::new(
                500,
                "the request was never sent, so it has no invocation id",
            ));
        };
        // The handle stays until the id is known: an await cut short can be repeated.
        let id = DurableFuture::new(&self.ctx.driver, Some(handle), |value| match value {
            Value::InvocationId(id) => Ok(id),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
        .await?;
        self.known = Some(id.clone());
        Ok(id)
    }

    async fn cancel(&mut self) -> Result<(), TerminalError> {
        let id = self.get().await?;
        self.ctx.with_vm(|vm| vm.sys_cancel_invocation(id));
        Ok(())
    }
}

/// A call in flight: await it for the response, or ask for its invocation id or cancel it.
#[must_use = "a call is made either way; await it to get the response"]
#[derive(Debug)]
pub struct CallFuture<Res> {
    response: DurableFuture<Res>,
    invocation_id: InvocationId,
}

impl<Res> CallFuture<Res> {
    pub(crate) fn new(
        ctx: &Context,
        response: DurableFuture<Res>,
        invocation_id: Option<NotificationHandle>,
    ) -> Self {
        Self {
            response,
            invocation_id: InvocationId::new(ctx, invocation_id),
        }
    }

    /// The invocation id of the called handler.
    pub async fn invocation_id(&mut self) -> Result<String, TerminalError> {
        self.invocation_id.get().await
    }

    /// Cancels the called invocation; awaiting the call then yields its cancellation (409).
    pub async fn cancel(&mut self) -> Result<(), TerminalError> {
        self.invocation_id.cancel().await
    }
}

impl<Res> Future for CallFuture<Res> {
    type Output = Result<Res, TerminalError>;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().response).poll(cx)
    }
}

impl<Res> From<CallFuture<Res>> for DurableFuture<Res> {
    fn from(call: CallFuture<Res>) -> Self {
        call.response
    }
}

/// A request enqueued with `send`: ask for its invocation id, or cancel it.
#[derive(Debug)]
pub struct SendHandle {
    invocation_id: InvocationId,
}

impl SendHandle {
    pub(crate) fn new(ctx: &Context, invocation_id: Option<NotificationHandle>) -> Self {
        Self {
            invocation_id: InvocationId::new(ctx, invocation_id),
        }
    }

    /// The invocation id of the enqueued request.
    pub async fn invocation_id(&mut self) -> Result<String, TerminalError> {
        self.invocation_id.get().await
    }

    /// Cancels the enqueued invocation.
    pub async fn cancel(&mut self) -> Result<(), TerminalError> {
        self.invocation_id.cancel().await
    }
}

/// Any invocation, by id: cancel it, wait for its result, or peek at it.
#[derive(Debug, Clone)]
pub struct InvocationHandle {
    ctx: Context,
    id: String,
}

impl Context {
    /// A handle on the invocation `id`.
    pub fn invocation(&self, id: impl Into<String>) -> InvocationHandle {
        InvocationHandle {
            ctx: self.clone(),
            id: id.into(),
        }
    }
}

impl InvocationHandle {
    /// The invocation id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Cancels the invocation (and, by default, the calls it made).
    pub fn cancel(&self) {
        let id = self.id.clone();
        self.ctx.with_vm(|vm| vm.sys_cancel_invocation(id));
    }

    /// Waits for the invocation to finish and returns its output, decoded from `codec`.
    pub fn attach<T: Payload>(&self, codec: Codec) -> DurableFuture<T> {
        let target = AttachInvocationTarget::InvocationId(self.id.clone());
        let handle = self.ctx.with_vm(|vm| vm.sys_attach_invocation(target));
        DurableFuture::new(&self.ctx.driver, handle, move |value| {
            decode_output(codec, value)?
                .ok_or_else(|| TerminalError::new(500, "the invocation finished without an output"))
        })
    }

    /// The invocation's output if it finished, `None` if it has not.
    pub fn get_output<T: Payload>(&self, codec: Codec) -> DurableFuture<Option<T>> {
        let target = AttachInvocationTarget::InvocationId(self.id.clone());
        let handle = self.ctx.with_vm(|vm| vm.sys_get_invocation_output(target));
        DurableFuture::new(&self.ctx.driver, handle, move |value| {
            decode_output(codec, value)
        })
    }
}

/// The output of a finished invocation, `None` if it has not finished.
pub(crate) fn decode_output<T: Payload>(
    codec: Codec,
    value: Value,
) -> Result<Option<T>, TerminalError> {
    match value {
        Value::Void => Ok(None),
        Value::Success(bytes) => T::decode_payload(codec, &bytes)
            .map(Some)
            .map_err(|e| TerminalError::new(500, format!("cannot decode the output: {e}"))),
        Value::Failure(failure) => Err(failure.into()),
        other => Err(unexpected(&other)),
    }
}
