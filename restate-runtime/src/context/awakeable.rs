//! Awakeables and signals: durable futures completed from outside the invocation.

use restate_sdk_shared_core::{NonEmptyValue, PayloadOptions, VM, Value};

use super::Context;
use crate::codec::{Codec, Payload};
use crate::engine::{DurableFuture, unexpected};
use crate::error::TerminalError;

/// Awakeable and signal payloads travel as JSON, the encoding every Restate SDK understands.
const SIGNAL_CODEC: Codec = Codec::Json;

fn decode_completion<T: Payload>(what: &'static str, value: Value) -> Result<T, TerminalError> {
    match value {
        Value::Success(bytes) => T::decode_payload(SIGNAL_CODEC, &bytes)
            .map_err(|e| TerminalError::new(500, format!("cannot decode the {what} value: {e}"))),
        Value::Void => Ok(T::default()),
        Value::Failure(failure) => Err(failure.into()),
        other => Err(unexpected(&other)),
    }
}

impl Context {
    /// Creates an awakeable: an id to hand to another system, and the future its completion
    /// resolves. Complete it with [`Context::resolve_awakeable`] from another handler, or through
    /// the ingress (`POST /restate/awakeables/{id}/resolve`).
    pub fn awakeable<T: Payload>(&self) -> (String, DurableFuture<T>) {
        let awakeable = self.with_vm(|vm| vm.sys_awakeable());
        let id = awakeable.as_ref().map(|a| a.id.clone()).unwrap_or_default();
        let future = DurableFuture::new(&self.driver, awakeable.map(|a| a.handle), |value| {
            decode_completion("awakeable", value)
        });
        (id, future)
    }

    /// Resolves the awakeable `id` with `value`.
    pub fn resolve_awakeable<T: Payload>(&self, id: &str, value: &T) {
        if let Some(bytes) = self.encode_or_trap(SIGNAL_CODEC, value, "the awakeable value") {
            let id = id.to_owned();
            self.with_vm(|vm| {
                vm.sys_complete_awakeable(
                    id,
                    NonEmptyValue::Success(bytes),
                    PayloadOptions::default(),
                )
            });
        }
    }

    /// Rejects the awakeable `id`: whoever awaits it gets `error`.
    pub fn reject_awakeable(&self, id: &str, error: TerminalError) {
        let id = id.to_owned();
        self.with_vm(|vm| {
            vm.sys_complete_awakeable(
                id,
                NonEmptyValue::Failure(error.into()),
                PayloadOptions::default(),
            )
        });
    }

    /// Waits for the signal `name` sent to this invocation (see [`Context::resolve_signal`]).
    /// Signals sent before the invocation asks for them are kept until it does.
    pub fn signal<T: Payload>(&self, name: &str) -> DurableFuture<T> {
        let name = name.to_owned();
        let handle = self.with_vm(|vm| vm.create_signal_handle(name));
        DurableFuture::new(&self.driver, handle, |value| {
            decode_completion("signal", value)
        })
    }

    /// Sends the signal `name` with `value` to the invocation `invocation_id`.
    pub fn resolve_signal<T: Payload>(&self, invocation_id: &str, name: &str, value: &T) {
        if let Some(bytes) = self.encode_or_trap(SIGNAL_CODEC, value, "the signal value") {
            let (target, name) = (invocation_id.to_owned(), name.to_owned());
            self.with_vm(|vm| vm.sys_complete_signal(target, name, NonEmptyValue::Success(bytes)));
        }
    }

    /// Sends the signal `name` to the invocation `invocation_id` as a failure.
    pub fn reject_signal(&self, invocation_id: &str, name: &str, error: TerminalError) {
        let (target, name) = (invocation_id.to_owned(), name.to_owned());
        self.with_vm(|vm| {
            vm.sys_complete_signal(target, name, NonEmptyValue::Failure(error.into()))
        });
    }
}
