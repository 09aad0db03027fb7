//! The contract a build compiles, as a snapshot that can be written to a lock file and compared:
//! what callers, journals, queues and stored state depend on, and nothing else (no comments, no
//! Rust names, no handler settings).

use std::collections::BTreeMap;

use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use serde::{Deserialize, Serialize};

use crate::model::{Codec, HandlerType, Service, ServiceType};

/// The version of the lock file's format.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The compiled contract: files, services and the messages and enums the files declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contract {
    pub(crate) format: u32,
    pub(crate) files: BTreeMap<String, FileEntry>,
    pub(crate) services: BTreeMap<String, ServiceEntry>,
    pub(crate) messages: BTreeMap<String, MessageEntry>,
    pub(crate) enums: BTreeMap<String, EnumEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileEntry {
    pub(crate) package: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ServiceEntry {
    pub(crate) file: String,
    /// The name Restate knows the service by, when it is not the proto's full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restate_name: Option<String>,
    #[serde(rename = "type")]
    pub(crate) ty: String,
    pub(crate) codec: String,
    pub(crate) handlers: BTreeMap<String, HandlerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HandlerEntry {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) ty: Option<String>,
    /// The name Restate knows the handler by, when it is not the rpc's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) restate_name: Option<String>,
    pub(crate) input: String,
    pub(crate) output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key_field: Option<String>,
    #[serde(default, skip_serializing_if = "is_default_idempotency")]
    pub(crate) idempotency_level: String,
    /// Whether the input or output passes through untouched (`(restate.raw)`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) raw: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MessageEntry {
    pub(crate) file: String,
    pub(crate) fields: BTreeMap<u32, FieldEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reserved_numbers: Vec<(u32, u32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reserved_names: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FieldEntry {
    pub(crate) name: String,
    pub(crate) json_name: String,
    /// The protobuf kind: `int32`, `string`, `message`, `enum`, ...
    #[serde(rename = "type")]
    pub(crate) ty: String,
    /// The message or enum a `message` or `enum` field holds (a map's value type for maps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) type_name: Option<String>,
    /// A map's key kind (`ty` is then the value's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<String>,
    /// `implicit` (singular, implicit presence), `explicit` (explicit presence), `required`,
    /// `repeated` or `map`.
    pub(crate) cardinality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) oneof: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EnumEntry {
    pub(crate) file: String,
    /// The names of each number (several with `allow_alias`).
    pub(crate) values: BTreeMap<i32, Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reserved_numbers: Vec<(i32, i32)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) reserved_names: Vec<String>,
}

/// Files that come with protoc or this crate rather than from the user.
fn is_foreign(name: &str) -> bool {
    name.starts_with("google/protobuf/") || crate::annotations::is_annotation_file(name)
}

fn is_default_idempotency(level: &str) -> bool {
    level.is_empty()
}

impl Contract {
    /// The contract of `services` and of everything declared in `files` of `pool`; services
    /// without a codec of their own use `default_codec`.
    pub(crate) fn of(
        pool: &DescriptorPool,
        files: &[String],
        services: &[Service],
        default_codec: Codec,
    ) -> Self {
        let mut contract = Contract {
            format: FORMAT_VERSION,
            files: BTreeMap::new(),
            services: BTreeMap::new(),
            messages: BTreeMap::new(),
            enums: BTreeMap::new(),
        };
        // The listed files, and the user's files they import: messages and enums there are as
        // much the contract (handler inputs, state). Well-known types and the annotation protos
        // are not the user's.
        let locked = pool.files().filter(|file| {
            files.iter().any(|name| name == file.name()) || !is_foreign(file.name())
        });
        for file in locked {
            let name = file.name().to_owned();
            contract.files.insert(
                name.clone(),
                FileEntry {
                    package: file.package_name().to_owned(),
                },
            );
            for message in file.messages() {
                add_message(&mut contract, &name, &message);
            }
            for enumeration in file.enums() {
                add_enum(&mut contract, &name, &enumeration);
            }
        }
        for service in services {
            let methods = pool
                .get_service_by_name(&service.full_name)
                .map(|descriptor| descriptor.methods().collect::<Vec<_>>())
                .unwrap_or_default();
            let handlers = service
                .methods
                .iter()
                .map(|method| {
                    let idempotency = methods
                        .iter()
                        .find(|m| m.name() == method.name)
                        .map(|m| {
                            idempotency_level(
                                m.options()
                                    .get_field_by_name("idempotency_level")
                                    .map(std::borrow::Cow::into_owned),
                            )
                        })
                        .unwrap_or_default();
                    let entry = HandlerEntry {
                        ty: method
                            .handler_type
                            .map(|ty| handler_type_name(ty).to_owned()),
                        restate_name: (method.restate_name != method.name)
                            .then(|| method.restate_name.clone()),
                        input: method.input_type.clone(),
                        output: method.output_type.clone(),
                        key_field: method.key_field.as_ref().map(|field| field.name.clone()),
                        idempotency_level: idempotency,
                        raw: method.input_is_raw || method.output_is_raw,
                    };
                    (method.name.clone(), entry)
                })
                .collect();
            contract.services.insert(
                service.full_name.clone(),
                ServiceEntry {
                    file: service.proto_file.clone(),
                    restate_name: (service.restate_name != service.full_name)
                        .then(|| service.restate_name.clone()),
                    ty: service_type_name(service.ty).to_owned(),
                    codec: codec_name(service.codec.unwrap_or(default_codec)).to_owned(),
                    handlers,
                },
            );
        }
        contract
    }

    /// The lock file's text: pretty JSON, keys in order, a line feed at the end.
    pub fn to_lock_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a contract serializes");
        text.push('\n');
        text
    }

    /// Reads a lock file's text.
    pub fn from_lock_text(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let format = value["format"].as_u64().unwrap_or_default();
        if format > u64::from(FORMAT_VERSION) {
            return Err(format!(
                "format {format} is newer than this restate-codegen reads ({FORMAT_VERSION})"
            ));
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

fn add_message(contract: &mut Contract, file: &str, message: &MessageDescriptor) {
    if message.is_map_entry() {
        return;
    }
    let fields = message
        .fields()
        .map(|field| (field.number(), field_entry(&field)))
        .collect();
    let proto = message.descriptor_proto();
    contract.messages.insert(
        message.full_name().to_owned(),
        MessageEntry {
            file: file.to_owned(),
            fields,
            // Protobuf's reserved ranges end exclusively; the lock shows them inclusive.
            reserved_numbers: proto
                .reserved_range
                .iter()
                .map(|range| {
                    let start = u32::try_from(range.start()).unwrap_or_default();
                    let end = u32::try_from(range.end()).unwrap_or_default();
                    (start, end.saturating_sub(1))
                })
                .collect(),
            reserved_names: proto.reserved_name.clone(),
        },
    );
    for nested in message.child_messages() {
        add_message(contract, file, &nested);
    }
    for enumeration in message.child_enums() {
        add_enum(contract, file, &enumeration);
    }
}

fn add_enum(contract: &mut Contract, file: &str, enumeration: &EnumDescriptor) {
    let mut values: BTreeMap<i32, Vec<String>> = BTreeMap::new();
    for value in enumeration.values() {
        values
            .entry(value.number())
            .or_default()
            .push(value.name().to_owned());
    }
    let proto = enumeration.enum_descriptor_proto();
    contract.enums.insert(
        enumeration.full_name().to_owned(),
        EnumEntry {
            file: file.to_owned(),
            values,
            // Enum reserved ranges are inclusive already.
            reserved_numbers: proto
                .reserved_range
                .iter()
                .map(|range| (range.start(), range.end()))
                .collect(),
            reserved_names: proto.reserved_name.clone(),
        },
    );
}

fn field_entry(field: &FieldDescriptor) -> FieldEntry {
    let (ty, type_name, key) = match field.kind() {
        Kind::Message(entry) if field.is_map() => {
            let value = entry.map_entry_value_field().kind();
            let key = entry.map_entry_key_field().kind();
            (
                kind_name(&value).to_owned(),
                type_name(&value),
                Some(kind_name(&key).to_owned()),
            )
        }
        kind => (kind_name(&kind).to_owned(), type_name(&kind), None),
    };
    let cardinality = if field.is_list() {
        "repeated"
    } else if field.is_map() {
        "map"
    } else if field.cardinality() == Cardinality::Required {
        "required"
    } else if field.supports_presence() {
        "explicit"
    } else {
        "implicit"
    };
    let proto = field.field_descriptor_proto();
    FieldEntry {
        name: field.name().to_owned(),
        json_name: field.json_name().to_owned(),
        ty,
        type_name,
        key,
        cardinality: cardinality.to_owned(),
        oneof: field
            .containing_oneof()
            .filter(|oneof| !oneof.is_synthetic())
            .map(|oneof| oneof.name().to_owned()),
        default: proto.default_value.clone(),
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int32 => "int32",
        Kind::Int64 => "int64",
        Kind::Uint32 => "uint32",
        Kind::Uint64 => "uint64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Fixed32 => "fixed32",
        Kind::Fixed64 => "fixed64",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Message(_) => "message",
        Kind::Enum(_) => "enum",
    }
}

fn type_name(kind: &Kind) -> Option<String> {
    match kind {
        Kind::Message(message) => Some(message.full_name().to_owned()),
        Kind::Enum(enumeration) => Some(enumeration.full_name().to_owned()),
        _ => None,
    }
}

fn idempotency_level(value: Option<prost_reflect::Value>) -> String {
    match value.and_then(|value| value.as_enum_number()) {
        Some(1) => "NO_SIDE_EFFECTS".to_owned(),
        Some(2) => "IDEMPOTENT".to_owned(),
        _ => String::new(),
    }
}

pub(crate) fn service_type_name(ty: ServiceType) -> &'static str {
    match ty {
        ServiceType::Service => "service",
        ServiceType::VirtualObject => "virtual_object",
        ServiceType::Workflow => "workflow",
    }
}

pub(crate) fn handler_type_name(ty: HandlerType) -> &'static str {
    match ty {
        HandlerType::Exclusive => "exclusive",
        HandlerType::Shared => "shared",
        HandlerType::WorkflowRun => "workflow_run",
    }
}

fn codec_name(codec: Codec) -> &'static str {
    match codec {
        Codec::Json => "json",
        Codec::Protobuf => "protobuf",
    }
}
