//! What kind of service, handler and payload encoding a proto describes.

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

impl ServiceType {
    /// Whether the service is addressed by a key (virtual objects and workflows).
    pub const fn is_keyed(self) -> bool {
        !matches!(self, ServiceType::Service)
    }
}

/// The concurrency kind of a handler of a virtual object or workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandlerType {
    /// Runs alone per key and may write state.
    Exclusive,
    /// Runs concurrently with other handlers of the same key and only reads state.
    Shared,
    /// The run handler of a workflow.
    WorkflowRun,
}

/// The wire encoding of a service's payloads: the `(restate.codec)` proto option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Codec {
    /// The proto3 JSON mapping (`application/json`), the wire shape sdk-go's generated code and
    /// curl users send.
    #[default]
    Json,
    /// Binary Protobuf (`application/proto`).
    Protobuf,
}

impl Codec {
    /// The content type of payloads in this codec.
    pub const fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::Protobuf => "application/proto",
        }
    }
}
