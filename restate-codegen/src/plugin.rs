//! The protoc plugin, `protoc-gen-restate-rust`: the same generator behind protoc's plugin
//! protocol, for teams that generate with `buf generate` or `protoc --restate-rust_out`.
//!
//! It writes the files a `build.rs` calling [`compile`](crate::compile) with the same options
//! would write (`<package>.rs` per proto package; include them with `include!` or as modules).
//! Options come as the plugin parameter, comma-separated:
//!
//! | parameter | as in `build.rs` |
//! |---|---|
//! | `codec=json` or `codec=protobuf` | [`Builder::default_codec`] |
//! | `grpc_gateway` | [`Builder::grpc_gateway`] |
//! | `serde_impls` | [`Builder::serde_impls`] |
//! | `require_service_type` | [`Builder::require_service_type`] |
//! | `ignore_unknown_json_fields` | [`Builder::ignore_unknown_json_fields`] |
//! | `extern_path=.pkg=::crate::path` (repeatable) | [`Builder::extern_path`] |
//!
//! A switch may also be written `name=true` or `name=false`. Problems are reported as the build
//! reports them, one per line, naming file, service and rpc.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage, Value};
use prost_types::compiler::CodeGeneratorResponse;
use prost_types::compiler::code_generator_response::{Feature, File};

use crate::protoc::Descriptors;
use crate::{Builder, Codec};

/// Answers one encoded `CodeGeneratorRequest` with an encoded `CodeGeneratorResponse`: the
/// generated files, or the error.
pub fn respond(request: &[u8]) -> Vec<u8> {
    let response = match generate(request) {
        Ok(file) => CodeGeneratorResponse { file, ..response() },
        Err(error) => CodeGeneratorResponse {
            error: Some(error),
            ..response()
        },
    };
    response.encode_to_vec()
}

fn response() -> CodeGeneratorResponse {
    CodeGeneratorResponse {
        supported_features: Some(Feature::Proto3Optional as u64),
        ..CodeGeneratorResponse::default()
    }
}

/// `FieldOptions.OptionRetention.RETENTION_SOURCE`.
const RETENTION_SOURCE: i32 = 2;

/// A `CodeGeneratorRequest` with its files kept as bytes: decoding them into `prost_types`
/// would drop the custom options (Restate's annotations are extensions, unknown fields there).
#[derive(Clone, PartialEq, Message)]
struct Request {
    #[prost(string, repeated, tag = "1")]
    file_to_generate: Vec<String>,
    #[prost(string, optional, tag = "2")]
    parameter: Option<String>,
    #[prost(bytes = "vec", repeated, tag = "15")]
    proto_file: Vec<Vec<u8>>,
}

/// A `FileDescriptorSet` of files kept as bytes (the same field number and wire type).
#[derive(Clone, PartialEq, Message)]
struct DescriptorSet {
    #[prost(bytes = "vec", repeated, tag = "1")]
    file: Vec<Vec<u8>>,
}

fn generate(request: &[u8]) -> Result<Vec<File>, String> {
    let request =
        Request::decode(request).map_err(|e| format!("not a CodeGeneratorRequest: {e}"))?;
    let builder = builder(request.parameter.as_deref().unwrap_or_default())?;
    let mut bytes = DescriptorSet {
        file: request.proto_file,
    }
    .encode_to_vec();
    // Options can only have a retention when descriptor.proto is among the files (it declares
    // options); its own descriptors say which.
    let pool = DescriptorPool::decode(bytes.as_slice())
        .map_err(|e| format!("the request's files do not make a descriptor pool: {e}"))?;
    if let Some(file_descriptor) = pool.get_message_by_name("google.protobuf.FileDescriptorProto") {
        let set = DescriptorSet::decode(bytes.as_slice()).map_err(|e| e.to_string())?;
        let file = set
            .file
            .into_iter()
            .map(|file| strip_source_retention(&file_descriptor, file))
            .collect::<Result<Vec<_>, _>>()?;
        bytes = DescriptorSet { file }.encode_to_vec();
    }
    let descriptors = Descriptors {
        bytes,
        files: request.file_to_generate,
    };
    let files = builder
        .generate_files(&descriptors, false)
        .map_err(|e| e.to_string())?;
    Ok(files
        .into_iter()
        .map(|file| File {
            name: Some(file.name),
            content: Some(file.contents),
            ..File::default()
        })
        .collect())
}

/// `file` without the options whose retention is `SOURCE`, as protoc leaves them out of the
/// descriptor sets it writes with `-o` (and so `compile` never sees them), but not out of
/// plugin requests. Files without such options keep their bytes.
fn strip_source_retention(
    file_descriptor: &MessageDescriptor,
    file: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let mut message = DynamicMessage::decode(file_descriptor.clone(), file.as_slice())
        .map_err(|e| format!("an invalid file descriptor in the request: {e}"))?;
    if strip(&mut message) {
        Ok(message.encode_to_vec())
    } else {
        Ok(file)
    }
}

/// Clears the source-retention fields in `message` and the messages it holds; whether any was
/// set.
fn strip(message: &mut DynamicMessage) -> bool {
    let mut stripped = false;
    let fields: Vec<_> = message.descriptor().fields().collect();
    for field in fields {
        if !message.has_field(&field) {
            continue;
        }
        let source_only = field
            .options()
            .get_field_by_name("retention")
            .and_then(|retention| retention.as_enum_number())
            == Some(RETENTION_SOURCE);
        if source_only {
            message.clear_field(&field);
            stripped = true;
            continue;
        }
        match message.get_field_mut(&field) {
            Value::Message(inner) => {
                let inner_stripped = strip(inner);
                stripped |= inner_stripped;
                // Options left empty go as protoc lets them go.
                if inner_stripped && field.name() == "options" && is_empty(inner) {
                    message.clear_field(&field);
                }
            }
            Value::List(items) => {
                for item in items {
                    if let Value::Message(inner) = item {
                        stripped |= strip(inner);
                    }
                }
            }
            _ => {}
        }
    }
    stripped
}

/// Whether `message` holds nothing: no field set, no unknown field.
fn is_empty(message: &DynamicMessage) -> bool {
    message.fields().next().is_none() && message.unknown_fields().next().is_none()
}

/// The builder the plugin parameter describes.
fn builder(parameter: &str) -> Result<Builder, String> {
    let mut builder = crate::configure().emit_rerun_if_changed(false);
    for option in parameter
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
    {
        let (name, value) = option.split_once('=').unwrap_or((option, "true"));
        let switch = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!(
                "option `{name}` takes true or false, not `{other}`"
            )),
        };
        builder = match name {
            "codec" => builder.default_codec(match value {
                "json" => Codec::Json,
                "protobuf" => Codec::Protobuf,
                other => return Err(format!("codec `{other}`: json or protobuf")),
            }),
            "grpc_gateway" => builder.grpc_gateway(switch()?),
            "serde_impls" => builder.serde_impls(switch()?),
            "require_service_type" => builder.require_service_type(switch()?),
            "ignore_unknown_json_fields" => builder.ignore_unknown_json_fields(switch()?),
            "extern_path" => {
                let (proto, rust) = value.split_once('=').ok_or_else(|| {
                    format!("extern_path `{value}`: write it as .proto.path=::rust::path")
                })?;
                builder.extern_path(proto, rust)
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` (known: codec, grpc_gateway, serde_impls, \
                     require_service_type, ignore_unknown_json_fields, extern_path)"
                ));
            }
        };
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_set_the_builder_and_bad_ones_are_named() {
        let configured =
            builder("codec=protobuf, grpc_gateway,serde_impls=false,extern_path=.a.b=::c::d")
                .unwrap();
        assert_eq!(configured.default_codec, Codec::Protobuf);
        assert!(configured.grpc_gateway);
        assert!(!configured.serde_impls);
        assert!(
            configured
                .extern_paths
                .contains(&(".a.b".to_owned(), "::c::d".to_owned()))
        );
        assert!(builder("").is_ok());
        assert!(
            builder("codec=xml")
                .unwrap_err()
                .contains("json or protobuf")
        );
        assert!(
            builder("grpc_gateway=yes")
                .unwrap_err()
                .contains("true or false")
        );
        assert!(
            builder("colour")
                .unwrap_err()
                .contains("unknown option `colour`")
        );
        assert!(
            builder("extern_path=.a")
                .unwrap_err()
                .contains("extern_path")
        );
    }

    #[test]
    fn a_request_that_is_not_one_answers_an_error() {
        let response = CodeGeneratorResponse::decode(respond(b"\xff\xff").as_slice()).unwrap();
        assert!(
            response
                .error
                .unwrap()
                .contains("not a CodeGeneratorRequest")
        );
        assert_eq!(response.supported_features, Some(1));
    }
}
