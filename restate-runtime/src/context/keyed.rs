//! Contexts of virtual objects and workflows: a key, state, and (for workflows) durable
//! promises.
//!
//! The capabilities follow the handler type: exclusive handlers ([`ObjectContext`],
//! [`WorkflowContext`]) read and write state, shared handlers ([`ObjectSharedContext`],
//! [`WorkflowSharedContext`]) only read it — a shared handler that calls `set` does not compile.
//! Every context dereferences to [`Context`] for `run`, `sleep`, calls and invocation facts.

use bytes::Bytes;
use restate_sdk_shared_core::{NonEmptyValue, PayloadOptions, VM, Value};

use super::Context;
use crate::codec::{Codec, Payload};
use crate::engine::{DurableFuture, unexpected};
use crate::error::TerminalError;

/// State and promise values are stored as JSON, so `restate kv get` shows them readably.
const STATE_CODEC: Codec = Codec::Json;

fn decode_stored<T: Payload>(what: &str, bytes: &Bytes) -> Result<T, TerminalError> {
    T::decode_payload(STATE_CODEC, bytes)
        .map_err(|e| TerminalError::new(500, format!("cannot decode {what}: {e}")))
}

impl Context {
    fn state_get<T: Payload>(&self, name: &str) -> DurableFuture<Option<T>> {
        let key = name.to_owned();
        let handle = self.with_vm(|vm| vm.sys_state_get(key, None, PayloadOptions::default()));
        let what = format!("state '{name}'");
        DurableFuture::new(&self.driver, handle, move |value| match value {
            Value::Void => Ok(None),
            Value::Success(bytes) => decode_stored(&what, &bytes).map(Some),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    fn state_keys(&self) -> DurableFuture<Vec<String>> {
        let handle = self.with_vm(|vm| vm.sys_state_get_keys(None));
        DurableFuture::new(&self.driver, handle, |value| match value {
            Value::StateKeys(keys) => Ok(keys),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    fn state_set<T: Payload>(&self, name: &str, value: &T) {
        let Some(bytes) = self.encode_or_trap(STATE_CODEC, value, name) else {
            return;
        };
        let key = name.to_owned();
        self.with_vm(|vm| vm.sys_state_set(key, bytes, None, PayloadOptions::default()));
    }

    fn state_clear(&self, name: &str) {
        let key = name.to_owned();
        self.with_vm(|vm| vm.sys_state_clear(key, None));
    }

    fn state_clear_all(&self) {
        self.with_vm(|vm| vm.sys_state_clear_all(None));
    }

    fn promise<T: Payload>(&self, name: &str) -> DurableFuture<T> {
        let key = name.to_owned();
        let handle = self.with_vm(|vm| vm.sys_get_promise(key));
        let what = format!("promise '{name}'");
        DurableFuture::new(&self.driver, handle, move |value| match value {
            Value::Success(bytes) => decode_stored(&what, &bytes),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    fn peek_promise<T: Payload>(&self, name: &str) -> DurableFuture<Option<T>> {
        let key = name.to_owned();
        let handle = self.with_vm(|vm| vm.sys_peek_promise(key));
        let what = format!("promise '{name}'");
        DurableFuture::new(&self.driver, handle, move |value| match value {
            Value::Void => Ok(None),
            Value::Success(bytes) => decode_stored(&what, &bytes).map(Some),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }

    fn complete_promise(&self, name: &str, value: NonEmptyValue) -> DurableFuture<()> {
        let key = name.to_owned();
        let handle =
            self.with_vm(|vm| vm.sys_complete_promise(key, value, PayloadOptions::default()));
        DurableFuture::new(&self.driver, handle, |value| match value {
            Value::Void | Value::Success(_) => Ok(()),
            Value::Failure(failure) => Err(failure.into()),
            other => Err(unexpected(&other)),
        })
    }
}

/// Declares a keyed context type: a [`Context`] plus the key and read access to state.
macro_rules! keyed_context {
    ($(#[$doc:meta])* $name:ident, key = $key_doc:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name {
            ctx: Context,
        }

        impl $name {
            pub(crate) fn new(ctx: Context) -> Self {
                Self { ctx }
            }

            #[doc = $key_doc]
            pub fn key(&self) -> &str {
                &self.ctx.info.key
            }

            /// Reads the state value `name`; `None` when it is not set.
            pub fn get<T: Payload>(&self, name: &str) -> DurableFuture<Option<T>> {
                self.ctx.state_get(name)
            }

            /// The names of all state values that are set.
            pub fn state_keys(&self) -> DurableFuture<Vec<String>> {
                self.ctx.state_keys()
            }
        }

        impl std::ops::Deref for $name {
            type Target = Context;

            fn deref(&self) -> &Context {
                &self.ctx
            }
        }

        impl AsRef<Context> for $name {
            fn as_ref(&self) -> &Context {
                &self.ctx
            }
        }
    };
}

/// Adds state writes to an exclusive context type.
macro_rules! state_writes {
    ($name:ident) => {
        impl $name {
            /// Sets the state value `name`. The write is part of the journal: it becomes visible
            /// to other handlers when this one completes.
            pub fn set<T: Payload>(&self, name: &str, value: &T) {
                self.ctx.state_set(name, value)
            }

            /// Removes the state value `name`.
            pub fn clear(&self, name: &str) {
                self.ctx.state_clear(name)
            }

            /// Removes every state value of this key.
            pub fn clear_all(&self) {
                self.ctx.state_clear_all()
            }
        }
    };
}

/// Adds durable promises to a workflow context type.
macro_rules! promises {
    ($name:ident) => {
        impl $name {
            /// Waits for the durable promise `name` of this workflow to be resolved (or rejected).
            pub fn promise<T: Payload>(&self, name: &str) -> DurableFuture<T> {
                self.ctx.promise(name)
            }

            /// The value of the durable promise `name` if it is resolved already, `None` if not.
            pub fn peek_promise<T: Payload>(&self, name: &str) -> DurableFuture<Option<T>> {
                self.ctx.peek_promise(name)
            }

            /// Resolves the durable promise `name`. Fails if it was already completed.
            pub fn resolve_promise<T: Payload>(&self, name: &str, value: &T) -> DurableFuture<()> {
                match self.ctx.encode_or_trap(STATE_CODEC, value, name) {
                    Some(bytes) => self
                        .ctx
                        .complete_promise(name, NonEmptyValue::Success(bytes)),
                    // Encoding failed and trapped the invocation: never resolves.
                    None => DurableFuture::new(&self.ctx.driver, None, |_| Ok(())),
                }
            }

            /// Rejects the durable promise `name` with a terminal error. Fails if it was already
            /// completed.
            pub fn reject_promise(&self, name: &str, error: TerminalError) -> DurableFuture<()> {
                self.ctx
                    .complete_promise(name, NonEmptyValue::Failure(error.into()))
            }
        }
    };
}

keyed_context!(
    /// The context of an exclusive handler of a virtual object: one runs per key at a time, and
    /// it may read and write the key's state.
    ObjectContext,
    key = "The object key this invocation runs on."
);
state_writes!(ObjectContext);

keyed_context!(
    /// The context of a shared handler of a virtual object: it runs concurrently with other
    /// handlers on the same key and only reads state.
    ObjectSharedContext,
    key = "The object key this invocation runs on."
);

keyed_context!(
    /// The context of a workflow's run handler: it executes once per workflow id, writes state
    /// and waits on durable promises.
    WorkflowContext,
    key = "The workflow id."
);
state_writes!(WorkflowContext);
promises!(WorkflowContext);

keyed_context!(
    /// The context of a workflow's shared handlers: they read state and resolve, reject or peek
    /// the workflow's durable promises, typically to signal or query a running workflow.
    WorkflowSharedContext,
    key = "The workflow id."
);
promises!(WorkflowSharedContext);
