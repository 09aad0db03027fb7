//! The discovery metadata of a service, as generated code declares it: names, kinds, codec,
//! documentation, JSON Schemas and Restate settings. The same names as the code generator's
//! model (`ServiceType`, `HandlerType`, `Codec`, `Config`, `RetryPolicy`, `OnMaxAttempts`).

use std::time::Duration;

use crate::codec::Codec;

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
    WorkflowRun,
}

/// The shape of a handler's input or output, as the discovery manifest describes it; the
/// content type follows the service's [`Codec`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayloadDefinition {
    /// Whether the payload is `google.protobuf.Empty`: a handler without input accepts an empty
    /// body (or an empty message), one without output answers with an empty message.
    pub empty: bool,
    /// The JSON Schema of the payload's JSON form, if known.
    pub json_schema: Option<&'static str>,
    /// Whether the payload is raw bytes (`(restate.raw)`): any content type in,
    /// `application/octet-stream` out.
    pub raw: bool,
}

impl PayloadDefinition {
    /// A message payload, schema unknown.
    pub const MESSAGE: Self = Self {
        empty: false,
        json_schema: None,
        raw: false,
    };
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
pub struct RetryPolicy {
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

impl RetryPolicy {
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
    pub retry_policy: RetryPolicy,
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
        retry_policy: RetryPolicy::NONE,
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
    /// A handler named `name` taking and returning messages.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            ty: None,
            documentation: None,
            input: PayloadDefinition::MESSAGE,
            output: PayloadDefinition::MESSAGE,
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

    /// Marks the input as raw bytes, passed through untouched.
    pub const fn with_raw_input(mut self) -> Self {
        self.input.raw = true;
        self
    }

    /// Marks the output as raw bytes.
    pub const fn with_raw_output(mut self) -> Self {
        self.output.raw = true;
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
    /// The codec of the handlers' payloads.
    pub codec: Codec,
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

    /// The run handler, for workflows.
    pub fn workflow_run(&self) -> Option<&HandlerDefinition> {
        self.handlers
            .iter()
            .find(|h| h.ty == Some(HandlerType::WorkflowRun))
    }
}
