//! Reads the services of the listed proto files out of a descriptor pool.

use std::collections::HashSet;

use prost_reflect::{DescriptorPool, FileDescriptor, MethodDescriptor, ServiceDescriptor};

use super::config::ConfigExtensions;
use super::handlers::{self, Rpc, Violation};
use super::key_field::KeyFieldExtensions;
use super::options::{Annotations, HandlerAnnotation};
use super::{Diagnostic, Error, Method, Service, ServiceType, docs, validate};
use crate::naming;
use crate::schema::SchemaCache;

/// The full name of the message that stands for "no input" or "no output".
const EMPTY: &str = "google.protobuf.Empty";
/// The full name of the message a `(restate.raw)` rpc passes through as bytes.
const BYTES_VALUE: &str = "google.protobuf.BytesValue";

/// Builds the model of the services declared in `files` (names as protoc gives them, e.g.
/// `greeter.proto`) from an encoded `FileDescriptorSet`.
///
/// Services of other files in the set (imports) are left out. The set needs source info
/// (`--include_source_info`) for documentation to be found.
///
/// # Errors
///
/// [`Error::Invalid`] lists every problem found: streaming rpcs, unknown or conflicting
/// annotations, handler types that do not fit the service type, a workflow without exactly one
/// run handler, and clashing Rust names.
#[cfg(test)]
pub(crate) fn from_descriptor_set(
    bytes: &[u8],
    files: &[impl AsRef<str>],
) -> Result<Vec<Service>, Error> {
    from_pool(&decode_pool(bytes)?, files)
}

/// Decodes an encoded `FileDescriptorSet` into a descriptor pool.
pub(crate) fn decode_pool(bytes: &[u8]) -> Result<DescriptorPool, Error> {
    // prost-reflect 0.16 panics on some files of protobuf editions rather than refusing them.
    std::panic::catch_unwind(|| DescriptorPool::decode(bytes))
        .map_err(|_| {
            Error::Unsupported(
                "the descriptors could not be read; a file of protobuf editions \
                 (`edition = ...`)? restate-codegen reads `syntax = \"proto3\"` and `\"proto2\"`"
                    .to_owned(),
            )
        })?
        .map_err(|error| located(error, bytes))
}

/// [`from_descriptor_set`] on a pool decoded already.
pub(crate) fn from_pool(
    pool: &DescriptorPool,
    files: &[impl AsRef<str>],
) -> Result<Vec<Service>, Error> {
    let pool = pool.clone();
    let annotations = Annotations::new(&pool);
    let configs = ConfigExtensions::new(&pool);
    let key_fields = KeyFieldExtensions::new(&pool);
    let mut schemas = SchemaCache::default();
    let mut services = Vec::new();
    let mut diagnostics = Vec::new();
    let mut seen = HashSet::new();
    for name in files {
        let name = name.as_ref();
        if !seen.insert(name) {
            continue;
        }
        let file = pool
            .get_file_by_name(name)
            .ok_or_else(|| Error::MissingFile(name.to_owned()))?;
        for descriptor in file.services() {
            let extensions = Extensions {
                annotations: &annotations,
                configs: &configs,
                key_fields: &key_fields,
            };
            let (service, problems) = read_service(&extensions, &mut schemas, &file, &descriptor);
            services.push(service);
            diagnostics.extend(problems);
        }
    }
    diagnostics.extend(validate::item_names(&pool, &services));
    diagnostics.extend(validate::field_names(&pool));
    if diagnostics.is_empty() {
        Ok(services)
    } else {
        Err(Error::Invalid(diagnostics))
    }
}

/// Checks that every service annotates its type (`Builder::require_service_type`).
///
/// # Errors
///
/// [`Error::Invalid`] naming each service without `(restate.service_type)`.
pub(crate) fn require_service_types(services: &[Service]) -> Result<(), Error> {
    let diagnostics: Vec<Diagnostic> = services
        .iter()
        .filter(|service| !service.ty_annotated)
        .map(|service| {
            Diagnostic::new(
                &service.proto_file,
                &service.full_name,
                None,
                "no (restate.service_type) annotation: this build requires one on every \
                 service (SERVICE, VIRTUAL_OBJECT or WORKFLOW)",
            )
        })
        .collect();
    if diagnostics.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(diagnostics))
    }
}

/// The Restate option extensions the descriptor pool declares.
struct Extensions<'a> {
    annotations: &'a Annotations,
    configs: &'a ConfigExtensions,
    key_fields: &'a KeyFieldExtensions,
}

/// A descriptor error, as a diagnostic naming its file and message when the error says where it
/// is (e.g. two fields whose JSON names clash).
fn located(error: prost_reflect::DescriptorError, bytes: &[u8]) -> Error {
    use prost::Message;
    let message = error.file().zip(error.path()).and_then(|(file, path)| {
        let set = prost_types::FileDescriptorSet::decode(bytes).ok()?;
        let proto = set.file.iter().find(|f| f.name() == file)?;
        Some((file.to_owned(), message_at(proto, path)?))
    });
    match message {
        Some((file, message)) => Error::Invalid(vec![Diagnostic::of_message(
            &file,
            &message,
            error.to_string(),
        )]),
        None => Error::Descriptors(error),
    }
}

/// The fully qualified name of the message a descriptor path points into: `[4, i]` is the
/// file's `i`th message, each `[3, j]` after it a nested message.
fn message_at(file: &prost_types::FileDescriptorProto, path: &[i32]) -> Option<String> {
    const MESSAGE_TYPE: i32 = 4;
    const NESTED_TYPE: i32 = 3;
    let mut steps = path.chunks(2);
    let first = steps.next()?;
    if first.first() != Some(&MESSAGE_TYPE) {
        return None;
    }
    let mut message = file
        .message_type
        .get(usize::try_from(*first.get(1)?).ok()?)?;
    let mut name = format!("{}.{}", file.package(), message.name());
    for step in steps {
        let [NESTED_TYPE, index] = step else { break };
        message = message.nested_type.get(usize::try_from(*index).ok()?)?;
        name = format!("{name}.{}", message.name());
    }
    Some(name)
}

/// Reads one service, with the problems found in it.
fn read_service(
    extensions: &Extensions<'_>,
    schemas: &mut SchemaCache,
    file: &FileDescriptor,
    descriptor: &ServiceDescriptor,
) -> (Service, Vec<Diagnostic>) {
    let Extensions {
        annotations,
        configs,
        key_fields,
    } = extensions;
    let mut violations: Vec<Violation> = Vec::new();
    let options = descriptor.options();
    let annotated_ty = annotations
        .service_type(&options)
        .unwrap_or_else(|message| {
            violations.push((None, message));
            None
        });
    let ty = annotated_ty.unwrap_or(ServiceType::Service);
    let restate_name = annotations.service_name(&options);
    let codec = annotations.codec(&options).unwrap_or_else(|message| {
        violations.push((None, message));
        None
    });

    let mut methods = Vec::new();
    let mut annotated = Vec::new();
    for method in descriptor.methods() {
        violations.extend(streaming(&method));
        let annotation = annotations
            .handler_type(&method.options())
            .unwrap_or_else(|message| {
                violations.push((Some(method.name().to_owned()), message));
                None
            });
        annotated.push(annotation);
        let mut read = read_method(file, &method, schemas);
        if let Some(name) = annotations.handler_name(&method.options()) {
            read.restate_name = name;
        }
        if annotations.raw(&method.options()) {
            match raw_payloads(&read) {
                Ok((input, output)) => (read.input_is_raw, read.output_is_raw) = (input, output),
                Err(message) => violations.push((Some(method.name().to_owned()), message)),
            }
        }
        methods.push(read);
    }

    resolve_handler_types(ty, &mut methods, &annotated, &mut violations);
    violations.extend(validate::method_names(ty, &methods));

    let settings = configs.service(&options, ty).unwrap_or_else(|problems| {
        violations.extend(problems.into_iter().map(|problem| (None, problem)));
        Default::default()
    });
    for (method, descriptor) in methods.iter_mut().zip(descriptor.methods()) {
        match configs.handler(&descriptor.options(), ty, method.handler_type) {
            Ok(settings) => method.settings = settings,
            Err(problems) => violations.extend(
                problems
                    .into_iter()
                    .map(|problem| (Some(method.name.clone()), problem)),
            ),
        }
    }

    let rpcs: Vec<_> = descriptor.methods().collect();
    let (fields, problems) = key_fields.resolve(&options, ty, &rpcs);
    violations.extend(problems);
    for (method, field) in methods.iter_mut().zip(fields) {
        method.key_field = field;
    }

    let service = Service {
        proto_file: file.name().to_owned(),
        package: file.package_name().to_owned(),
        full_name: descriptor.full_name().to_owned(),
        restate_name: restate_name
            .clone()
            .unwrap_or_else(|| descriptor.full_name().to_owned()),
        restate_name_annotated: restate_name.is_some(),
        rust_name: naming::type_name(descriptor.name()),
        ty,
        ty_annotated: annotated_ty.is_some(),
        codec,
        docs: docs::leading_comment(file, descriptor.path()),
        settings,
        methods,
    };
    let diagnostics = violations
        .into_iter()
        .map(|(method, message)| {
            Diagnostic::new(
                &service.proto_file,
                &service.full_name,
                method.as_deref(),
                message,
            )
        })
        .collect();
    (service, diagnostics)
}

/// Reads one rpc; its handler type is resolved later, with its siblings.
fn read_method(
    file: &FileDescriptor,
    method: &MethodDescriptor,
    schemas: &mut SchemaCache,
) -> Method {
    let input_type = method.input().full_name().to_owned();
    let output_type = method.output().full_name().to_owned();
    Method {
        name: method.name().to_owned(),
        restate_name: method.name().to_owned(),
        rust_name: naming::method_name(method.name()),
        input_is_empty: input_type == EMPTY,
        output_is_empty: output_type == EMPTY,
        input_is_raw: false,
        output_is_raw: false,
        input_type,
        output_type,
        handler_type: None,
        docs: docs::leading_comment(file, method.path()),
        settings: Default::default(),
        input_schema: schemas.json_schema_string(&method.input()),
        output_schema: schemas.json_schema_string(&method.output()),
        key_field: None,
    }
}

/// Which sides of a `(restate.raw)` rpc are raw bytes: each side must be `BytesValue` or
/// `Empty`, and one at least `BytesValue`.
fn raw_payloads(method: &Method) -> Result<(bool, bool), String> {
    let side = |ty: &str| match ty {
        BYTES_VALUE => Ok(true),
        EMPTY => Ok(false),
        other => Err(format!(
            "(restate.raw) rpcs take and return {BYTES_VALUE} (or {EMPTY}), not {other}"
        )),
    };
    let (input, output) = (side(&method.input_type)?, side(&method.output_type)?);
    if !(input || output) {
        return Err(format!(
            "(restate.raw) needs {BYTES_VALUE} as the input or the output"
        ));
    }
    Ok((input, output))
}

/// Restate handlers take one request and give one response.
fn streaming(method: &MethodDescriptor) -> Option<Violation> {
    (method.is_client_streaming() || method.is_server_streaming()).then(|| {
        (
            Some(method.name().to_owned()),
            "streaming rpcs are not supported by Restate".to_owned(),
        )
    })
}

/// Applies the handler types the rules give, or records why they cannot be given.
fn resolve_handler_types(
    ty: ServiceType,
    methods: &mut [Method],
    annotations: &[Option<HandlerAnnotation>],
    violations: &mut Vec<Violation>,
) {
    let rpcs: Vec<Rpc<'_>> = methods
        .iter()
        .zip(annotations)
        .map(|(method, annotation)| Rpc {
            name: &method.name,
            annotation: *annotation,
        })
        .collect();
    match handlers::resolve(ty, &rpcs) {
        Ok(types) => {
            for (method, handler_type) in methods.iter_mut().zip(types) {
                method.handler_type = handler_type;
            }
        }
        Err(found) => violations.extend(found),
    }
}
