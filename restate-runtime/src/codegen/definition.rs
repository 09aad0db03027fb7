//! The discovery metadata of a service, as generated code declares it: names, kinds, codec,
//! documentation, JSON Schemas and Restate settings. The kinds, the codec and the settings are
//! `restate-model`'s, the types the code generator reads from the proto.

use restate_model::{Codec, HandlerType, ServiceType, Settings};

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

/// Discovery metadata of one handler.
#[derive(Debug, Clone)]
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
    pub settings: Settings,
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
            settings: Settings::NONE,
        }
    }

    /// Sets the Restate settings; meant for the constants generated code declares, once, on
    /// [`HandlerDefinition::new`] (settings replaced here are forgotten, not dropped).
    pub const fn with_settings(mut self, settings: Settings) -> Self {
        // `Settings::NONE` owns nothing; forgetting it lets this run in constants.
        std::mem::forget(std::mem::replace(&mut self.settings, settings));
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
#[derive(Debug, Clone)]
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
    pub settings: Settings,
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
