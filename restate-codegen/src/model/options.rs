//! Restate annotations on services and rpcs: this crate's `restate/options.proto` and the Go
//! SDK's `dev/restate/sdk/go.proto`, read as extensions of the descriptor options.
//!
//! Both files number their enum values alike, so one decoding serves both.

use prost_reflect::{DescriptorPool, DynamicMessage, ExtensionDescriptor, Kind};

use super::{Codec, ServiceType};

/// The extension names of the service type options, in order of precedence.
const SERVICE_TYPE: [&str; 2] = ["restate.service_type", "dev.restate.sdk.go.service_type"];
/// The extension names of the handler type options.
const HANDLER_TYPE: [&str; 2] = ["restate.handler_type", "dev.restate.sdk.go.handler_type"];
/// The extension name of the codec option.
const CODEC: [&str; 1] = ["restate.codec"];
/// The extension name of the raw payload option.
const RAW: &str = "restate.raw";
/// The extension name of a service's Restate name.
const SERVICE_NAME: &str = "restate.service_name";
/// The extension name of a handler's Restate name.
const HANDLER_NAME: &str = "restate.handler_name";

/// A handler type as annotated on an rpc, before defaults apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HandlerAnnotation {
    /// `EXCLUSIVE`.
    Exclusive,
    /// `SHARED`.
    Shared,
    /// `WORKFLOW_RUN`.
    WorkflowRun,
}

/// What an enum number of an annotation means.
enum Meaning<T> {
    /// The zero "unset" value: as if the option were absent.
    Unset,
    /// A known value.
    Set(T),
    /// A number this crate does not know.
    Unknown,
}

/// The Restate annotation extensions the descriptor pool declares. An extension the protos never
/// imported is absent, and so is any use of it.
pub(super) struct Annotations {
    service_type: Vec<ExtensionDescriptor>,
    handler_type: Vec<ExtensionDescriptor>,
    codec: Vec<ExtensionDescriptor>,
    raw: Option<ExtensionDescriptor>,
    service_name: Option<ExtensionDescriptor>,
    handler_name: Option<ExtensionDescriptor>,
}

impl Annotations {
    /// Looks the extensions up in `pool`.
    pub(super) fn new(pool: &DescriptorPool) -> Self {
        let find = |names: &[&str]| {
            names
                .iter()
                .filter_map(|name| pool.get_extension_by_name(name))
                .collect()
        };
        Self {
            service_type: find(&SERVICE_TYPE),
            handler_type: find(&HANDLER_TYPE),
            codec: find(&CODEC),
            raw: pool.get_extension_by_name(RAW),
            service_name: pool.get_extension_by_name(SERVICE_NAME),
            handler_name: pool.get_extension_by_name(HANDLER_NAME),
        }
    }

    /// The service type annotated on a service (`ServiceOptions`), if any; a plain service
    /// when absent.
    pub(super) fn service_type(
        &self,
        options: &DynamicMessage,
    ) -> Result<Option<ServiceType>, String> {
        read(options, &self.service_type, |number| match number {
            0 => Meaning::Set(ServiceType::Service),
            1 => Meaning::Set(ServiceType::VirtualObject),
            2 => Meaning::Set(ServiceType::Workflow),
            _ => Meaning::Unknown,
        })
    }

    /// The codec annotated on a service (`ServiceOptions`), if any.
    pub(super) fn codec(&self, options: &DynamicMessage) -> Result<Option<Codec>, String> {
        read(options, &self.codec, |number| match number {
            0 => Meaning::Unset,
            1 => Meaning::Set(Codec::Json),
            2 => Meaning::Set(Codec::Protobuf),
            _ => Meaning::Unknown,
        })
    }

    /// Whether an rpc (`MethodOptions`) passes its `BytesValue` payloads through as raw bytes.
    pub(super) fn raw(&self, options: &DynamicMessage) -> bool {
        self.raw.as_ref().is_some_and(|extension| {
            options.has_extension(extension)
                && options.get_extension(extension).as_bool() == Some(true)
        })
    }

    /// The Restate name annotated on a service (`ServiceOptions`), if any.
    pub(super) fn service_name(&self, options: &DynamicMessage) -> Option<String> {
        string(options, self.service_name.as_ref())
    }

    /// The Restate name annotated on an rpc (`MethodOptions`), if any.
    pub(super) fn handler_name(&self, options: &DynamicMessage) -> Option<String> {
        string(options, self.handler_name.as_ref())
    }

    /// The handler type annotated on an rpc (`MethodOptions`), if any.
    pub(super) fn handler_type(
        &self,
        options: &DynamicMessage,
    ) -> Result<Option<HandlerAnnotation>, String> {
        read(options, &self.handler_type, |number| match number {
            0 => Meaning::Unset,
            1 => Meaning::Set(HandlerAnnotation::Exclusive),
            2 => Meaning::Set(HandlerAnnotation::Shared),
            3 => Meaning::Set(HandlerAnnotation::WorkflowRun),
            _ => Meaning::Unknown,
        })
    }
}

/// The string `extension` holds in `options`, if set (an empty string counts as set: the name
/// checks refuse it).
fn string(options: &DynamicMessage, extension: Option<&ExtensionDescriptor>) -> Option<String> {
    let extension = extension.filter(|e| options.has_extension(e))?;
    options.get_extension(extension).as_str().map(str::to_owned)
}

/// Reads the value of whichever of `extensions` are set in `options`; it is an error when a
/// number is unknown or when two of them disagree.
fn read<T: Copy + PartialEq>(
    options: &DynamicMessage,
    extensions: &[ExtensionDescriptor],
    meaning: impl Fn(i32) -> Meaning<T>,
) -> Result<Option<T>, String> {
    let mut found: Option<(T, &ExtensionDescriptor, i32)> = None;
    for extension in extensions.iter().filter(|e| options.has_extension(e)) {
        let Some(number) = options.get_extension(extension).as_enum_number() else {
            continue;
        };
        let value = match meaning(number) {
            Meaning::Unset => continue,
            Meaning::Set(value) => value,
            Meaning::Unknown => {
                return Err(format!(
                    "unknown value {number} of option ({})",
                    extension.full_name()
                ));
            }
        };
        match found {
            Some((first, first_extension, first_number)) if first != value => {
                return Err(format!(
                    "conflicting annotations: ({}) = {} but ({}) = {}",
                    first_extension.full_name(),
                    value_name(first_extension, first_number),
                    extension.full_name(),
                    value_name(extension, number),
                ));
            }
            Some(_) => {}
            None => found = Some((value, extension, number)),
        }
    }
    Ok(found.map(|(value, _, _)| value))
}

/// The proto name of enum value `number` of `extension`'s type, or the number itself.
fn value_name(extension: &ExtensionDescriptor, number: i32) -> String {
    match extension.kind() {
        Kind::Enum(ty) => ty
            .get_value(number)
            .map(|value| value.name().to_owned())
            .unwrap_or_else(|| number.to_string()),
        _ => number.to_string(),
    }
}
