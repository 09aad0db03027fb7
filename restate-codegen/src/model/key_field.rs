//! `(restate.key_field)` on a service and `(restate.handler_key_field)` on an rpc: which field of
//! an rpc's input holds the object key or workflow id when the rpc is called through the gRPC
//! gateway. Checked against the input message: the field must exist and be a singular `string`.

use prost_reflect::{
    Cardinality, DescriptorPool, DynamicMessage, ExtensionDescriptor, Kind, MethodDescriptor,
};

use super::handlers::Violation;
use super::{KeyField, ServiceType};

/// The extension on services.
const SERVICE_KEY_FIELD: &str = "restate.key_field";
/// The extension on rpcs.
const HANDLER_KEY_FIELD: &str = "restate.handler_key_field";

/// The `key_field` extensions the pool declares (absent when never imported).
pub(super) struct KeyFieldExtensions {
    service: Option<ExtensionDescriptor>,
    method: Option<ExtensionDescriptor>,
}

impl KeyFieldExtensions {
    pub(super) fn new(pool: &DescriptorPool) -> Self {
        Self {
            service: pool.get_extension_by_name(SERVICE_KEY_FIELD),
            method: pool.get_extension_by_name(HANDLER_KEY_FIELD),
        }
    }

    /// The key field of each rpc of a service, in order: the rpc's own option, else the
    /// service's; checked against each input message.
    pub(super) fn resolve(
        &self,
        service_options: &DynamicMessage,
        ty: ServiceType,
        methods: &[MethodDescriptor],
    ) -> (Vec<Option<KeyField>>, Vec<Violation>) {
        let service_field =
            read(service_options, self.service.as_ref()).filter(|field| !field.is_empty());
        let mut violations = Vec::new();
        let mut fields = Vec::new();
        for method in methods {
            // An rpc's own option, even empty (which opts out of the service's), wins.
            let field = match read(&method.options(), self.method.as_ref()) {
                Some(own) => Some(own).filter(|field| !field.is_empty()),
                None => service_field.clone(),
            };
            let Some(field) = field else {
                fields.push(None);
                continue;
            };
            let checked = if ty.is_keyed() {
                check(method, field)
            } else {
                Err(
                    "key fields are only allowed on virtual objects and workflows: plain \
                     services have no key"
                        .to_owned(),
                )
            };
            match checked {
                Ok(field) => fields.push(Some(field)),
                Err(problem) => {
                    violations.push((Some(method.name().to_owned()), problem));
                    fields.push(None);
                }
            }
        }
        (fields, violations)
    }
}

/// The string value of `extension` in `options`, if it is set (possibly to `""`).
fn read(options: &DynamicMessage, extension: Option<&ExtensionDescriptor>) -> Option<String> {
    let extension = extension?;
    if !options.has_extension(extension) {
        return None;
    }
    let value = options.get_extension(extension);
    value.as_str().map(str::to_owned)
}

/// The key field `field` of `method`'s input, or why it cannot hold the key.
fn check(method: &MethodDescriptor, field: String) -> Result<KeyField, String> {
    let input = method.input();
    let Some(descriptor) = input.get_field_by_name(&field) else {
        return Err(format!(
            "key field `{field}` is not a field of the input message {}",
            input.full_name()
        ));
    };
    if descriptor.is_list() || descriptor.is_map() || descriptor.kind() != Kind::String {
        return Err(format!(
            "key field `{field}` of {} must be a singular string field",
            input.full_name()
        ));
    }
    let oneof = descriptor.containing_oneof();
    if oneof.as_ref().is_some_and(|oneof| !oneof.is_synthetic()) {
        return Err(format!(
            "key field `{field}` of {} must not be part of a oneof",
            input.full_name()
        ));
    }
    // prost writes `Option<String>` for fields with presence: proto3 `optional`, proto2
    // `optional`.
    let optional =
        descriptor.cardinality() == Cardinality::Optional && descriptor.supports_presence();
    Ok(KeyField {
        name: field,
        optional,
    })
}
