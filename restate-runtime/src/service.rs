//! What a bound service is: its discovery metadata and the entry point the endpoint dispatches to.

use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;

use crate::codec::{self, Format, Payload};
use crate::context::Context;
use crate::error::{HandlerError, TerminalError};
use crate::keyed::{ObjectContext, ObjectSharedContext, WorkflowContext, WorkflowSharedContext};

/// Restate's kind of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceType {
    /// A stateless service.
    Service,
    /// A keyed service with state; one exclusive handler runs per key at a time.
    VirtualObject,
    /// A keyed service whose run handler executes exactly once per workflow id.
    Workflow,
}

/// The concurrency kind of a handler of a virtual object or workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlerType {
    /// Runs alone per key and may write state.
    Exclusive,
    /// Runs concurrently with others on the same key and only reads state.
    Shared,
    /// The run handler of a workflow.
    Workflow,
}

/// The shape of a handler's input or output, as the discovery manifest describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadDefinition {
    /// The content type of the payload.
    pub content_type: &'static str,
    /// Whether the payload is `google.protobuf.Empty`: a handler without input accepts an empty
    /// body (or an empty message), one without output answers with an empty message.
    pub empty: bool,
    /// The JSON Schema of the payload's JSON form, if known.
    pub json_schema: Option<&'static str>,
}

impl PayloadDefinition {
    /// A payload encoded in `format`.
    pub const fn of(format: Format) -> Self {
        Self {
            content_type: format.content_type(),
            empty: false,
            json_schema: None,
        }
    }

    /// `google.protobuf.Empty`, encoded in `format`.
    pub const fn empty(format: Format) -> Self {
        Self {
            content_type: format.content_type(),
            empty: true,
            json_schema: None,
        }
    }
}

/// What Restate does once a retry policy's attempts are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMaxAttempts {
    /// Pause the invocation; an operator resumes or cancels it.
    Pause,
    /// Kill the invocation.
    Kill,
}

/// How Restate retries failed attempts of an invocation; `None` keeps the server's default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryConfig {
    /// The wait before the first retry.
    pub initial_interval: Option<Duration>,
    /// The longest wait between retries.
    pub max_interval: Option<Duration>,
    /// What each wait is multiplied by.
    pub factor: Option<f64>,
    /// How many attempts to make, the first one included.
    pub max_attempts: Option<u32>,
    /// What happens once the attempts are used up.
    pub on_max_attempts: Option<OnMaxAttempts>,
}

impl RetryConfig {
    /// Nothing set.
    pub const NONE: Self = Self {
        initial_interval: None,
        max_interval: None,
        factor: None,
        max_attempts: None,
        on_max_attempts: None,
    };
}

/// Restate settings of a service or handler, carried in the discovery manifest; `None` keeps
/// the server's default. Generated from `(restate.service_config)` and
/// `(restate.handler_config)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// How long an invocation may wait without progress before it is suspended.
    pub inactivity_timeout: Option<Duration>,
    /// How long a suspending invocation gets before it is aborted.
    pub abort_timeout: Option<Duration>,
    /// How long results of completed invocations are kept for idempotency keys.
    pub idempotency_retention: Option<Duration>,
    /// How long journals of completed invocations are kept.
    pub journal_retention: Option<Duration>,
    /// How long a completed workflow's result, state and promises are kept (run handlers).
    pub workflow_completion_retention: Option<Duration>,
    /// Whether the ingress refuses to invoke it.
    pub ingress_private: Option<bool>,
    /// Whether state is fetched on demand instead of sent with each invocation.
    pub enable_lazy_state: Option<bool>,
    /// How failed attempts are retried.
    pub retry_policy: RetryConfig,
    /// Custom metadata, shown by the admin API.
    pub metadata: &'static [(&'static str, &'static str)],
}

impl Config {
    /// Nothing set.
    pub const NONE: Self = Self {
        inactivity_timeout: None,
        abort_timeout: None,
        idempotency_retention: None,
        journal_retention: None,
        workflow_completion_retention: None,
        ingress_private: None,
        enable_lazy_state: None,
        retry_policy: RetryConfig::NONE,
        metadata: &[],
    };
}

/// Discovery metadata of one handler.
#[derive(Debug, Clone, Copy)]
pub struct HandlerDefinition {
    /// The handler name: the rpc name as written in the proto.
    pub name: &'static str,
    /// `None` for handlers of plain services.
    pub ty: Option<HandlerType>,
    /// The rpc's proto comment.
    pub documentation: Option<&'static str>,
    /// What the handler takes.
    pub input: PayloadDefinition,
    /// What the handler returns.
    pub output: PayloadDefinition,
    /// Restate settings of the handler.
    pub config: Config,
}

impl HandlerDefinition {
    /// A handler named `name` taking and returning payloads in `format`.
    pub const fn new(name: &'static str, format: Format) -> Self {
        Self {
            name,
            ty: None,
            documentation: None,
            input: PayloadDefinition::of(format),
            output: PayloadDefinition::of(format),
            config: Config::NONE,
        }
    }

    /// Sets the Restate settings.
    pub const fn with_config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Sets the JSON Schema of the input (proto3 JSON mapping), for Restate's UI.
    pub const fn with_input_schema(mut self, schema: &'static str) -> Self {
        self.input.json_schema = Some(schema);
        self
    }

    /// Sets the JSON Schema of the output.
    pub const fn with_output_schema(mut self, schema: &'static str) -> Self {
        self.output.json_schema = Some(schema);
        self
    }

    /// Sets the handler type.
    pub const fn with_type(mut self, ty: HandlerType) -> Self {
        self.ty = Some(ty);
        self
    }

    /// Sets the documentation.
    pub const fn with_documentation(mut self, documentation: &'static str) -> Self {
        self.documentation = Some(documentation);
        self
    }

    /// Marks the handler as taking no input.
    pub const fn without_input(mut self) -> Self {
        self.input.empty = true;
        self
    }

    /// Marks the handler as returning nothing.
    pub const fn without_output(mut self) -> Self {
        self.output.empty = true;
        self
    }
}

/// Discovery metadata of one service.
#[derive(Debug, Clone, Copy)]
pub struct ServiceDefinition {
    /// The fully qualified proto name, e.g. `helloworld.Greeter`.
    pub name: &'static str,
    /// The kind of service.
    pub ty: ServiceType,
    /// The service's proto comment.
    pub documentation: Option<&'static str>,
    /// The handlers, in proto order.
    pub handlers: &'static [HandlerDefinition],
    /// Restate settings of the service.
    pub config: Config,
}

impl ServiceDefinition {
    /// The handler called `name`, if the service has one.
    pub fn handler(&self, name: &str) -> Option<&HandlerDefinition> {
        self.handlers.iter().find(|h| h.name == name)
    }
}

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
pub struct Invocation {
    pub(crate) handler: &'static str,
    pub(crate) context: Context,
    pub(crate) input: Bytes,
}

impl Invocation {
    /// The handler name.
    pub fn handler(&self) -> &'static str {
        self.handler
    }

    /// The raw input bytes.
    pub fn input(&self) -> &Bytes {
        &self.input
    }

    /// Decodes the input; malformed input is a terminal error with code 400.
    pub fn decode_input<T: Payload>(&self, format: Format) -> Result<T, TerminalError> {
        codec::decode(format, &self.input).map_err(|e| {
            TerminalError::new(
                400,
                format!("cannot decode the input of handler {}: {e}", self.handler),
            )
        })
    }

    /// The context of the invocation.
    pub fn into_context(self) -> Context {
        self.context
    }

    /// The context of an exclusive virtual-object handler.
    pub fn into_object_context(self) -> ObjectContext {
        ObjectContext::new(self.context)
    }

    /// The context of a shared virtual-object handler.
    pub fn into_object_shared_context(self) -> ObjectSharedContext {
        ObjectSharedContext::new(self.context)
    }

    /// The context of a workflow's run handler.
    pub fn into_workflow_context(self) -> WorkflowContext {
        WorkflowContext::new(self.context)
    }

    /// The context of a workflow's shared handler.
    pub fn into_workflow_shared_context(self) -> WorkflowSharedContext {
        WorkflowSharedContext::new(self.context)
    }
}

/// Encodes a handler's output.
pub fn encode_output<T: Payload>(format: Format, value: &T) -> Result<Bytes, HandlerError> {
    codec::encode(format, value).map_err(|e| TerminalError::new(500, e.to_string()).into())
}
