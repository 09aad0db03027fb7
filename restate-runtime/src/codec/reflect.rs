//! ProtoJSON for generated messages, driven by their descriptors: the proto3 JSON mapping
//! applied at run time by `prost-reflect`, instead of a serializer generated per message.
//!
//! A message is encoded by way of its binary form: prost encodes it, `prost-reflect` reads the
//! bytes as a dynamic message of the same descriptor and writes its JSON; decoding runs the other
//! way. Only the prost calls are generic, so each message adds two small functions to the
//! user's crate.

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;
use prost::Message;
use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor,
    ReflectMessage, SerializeOptions, Value,
};

use super::sorted_json::SortedObjects;
use super::{Codec, CodecError};

/// The encoded descriptors of a generated package and of everything it imports, decoded on
/// first use.
pub struct Descriptors {
    encoded: &'static [u8],
    pool: OnceLock<Result<DescriptorPool, String>>,
    /// Whether ProtoJSON input may carry fields the messages do not declare.
    ignore_unknown_json_fields: bool,
}

impl fmt::Debug for Descriptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Descriptors")
            .field("encoded_len", &self.encoded.len())
            .field("decoded", &self.pool.get().is_some())
            .field(
                "ignore_unknown_json_fields",
                &self.ignore_unknown_json_fields,
            )
            .finish()
    }
}

impl Descriptors {
    /// The descriptors in `encoded`, an encoded `FileDescriptorSet`.
    pub const fn new(encoded: &'static [u8]) -> Self {
        Self {
            encoded,
            pool: OnceLock::new(),
            ignore_unknown_json_fields: false,
        }
    }

    /// The same descriptors, but ProtoJSON input may carry fields the messages do not declare:
    /// they are skipped instead of failing the request (callers newer than the service).
    pub const fn ignoring_unknown_json_fields(mut self) -> Self {
        self.ignore_unknown_json_fields = true;
        self
    }

    /// The encoded `FileDescriptorSet`.
    pub fn encoded(&self) -> &'static [u8] {
        self.encoded
    }

    /// The descriptor of the message `name` (fully qualified, without a leading dot).
    pub(crate) fn message(&self, name: &str) -> Result<MessageDescriptor, CodecError> {
        let pool = self.pool.get_or_init(|| {
            DescriptorPool::decode(self.encoded).map_err(|error| error.to_string())
        });
        match pool {
            Ok(pool) => pool
                .get_message_by_name(name)
                .ok_or_else(|| CodecError::MissingDescriptor(name.to_owned())),
            Err(error) => Err(CodecError::MissingDescriptor(format!(
                "{name} (the embedded descriptors do not decode: {error})"
            ))),
        }
    }
}

/// The ProtoJSON of the message of type `descriptor` whose binary encoding is `binary`.
fn protobuf_to_json(descriptor: MessageDescriptor, binary: &[u8]) -> Result<Vec<u8>, CodecError> {
    let message = DynamicMessage::decode(descriptor, binary)?;
    let options = SerializeOptions::new();
    let mut json = Vec::with_capacity(binary.len() * 2 + 2);
    if has_unordered_map(&message) {
        // Map fields are hash maps in a dynamic message: their entries would come out in a
        // different order on every attempt, and Restate compares a replayed call's parameter
        // with its journal. Objects written in key order make the JSON the same every time.
        let formatter = SortedObjects::default();
        let mut serializer = serde_json::Serializer::with_formatter(&mut json, formatter);
        message.serialize_with_options(&mut serializer, &options)?;
    } else {
        message.serialize_with_options(&mut serde_json::Serializer::new(&mut json), &options)?;
    }
    Ok(json)
}

/// What ProtoJSON input may do with fields its message does not declare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UnknownFields {
    /// Fail: a typo or a field of another message is a malformed request.
    Deny,
    /// Skip them.
    Ignore,
}

/// The binary encoding of the message of type `descriptor` whose ProtoJSON is `json`. A
/// malformed field is named in the error, with its type and, for integers, its range.
fn json_to_protobuf(
    descriptor: MessageDescriptor,
    json: &[u8],
    unknown_fields: UnknownFields,
) -> Result<Vec<u8>, CodecError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
    let message = DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        tracked,
        &DeserializeOptions::new().deny_unknown_fields(unknown_fields == UnknownFields::Deny),
    )
    .map_err(|error| located(error, &track.path(), &descriptor))?;
    deserializer.end()?;
    Ok(message.encode_to_vec())
}

/// `error` with the field it happened at, when it happened inside one.
fn located(
    error: serde_json::Error,
    path: &serde_path_to_error::Path,
    message: &MessageDescriptor,
) -> serde_json::Error {
    use serde::de::Error as _;
    if path.iter().next().is_none() {
        return error;
    }
    let what = field_at(path, message).map_or_else(String::new, |kind| format!(" ({kind})"));
    serde_json::Error::custom(format!("field `{path}`{what}: {error}"))
}

/// The type of the field `path` leads to in `message`, e.g. `int64, from -2^63 to 2^63-1`.
fn field_at(path: &serde_path_to_error::Path, message: &MessageDescriptor) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut message = message.clone();
    let mut field: Option<FieldDescriptor> = None;
    let mut in_map = false;
    for segment in path.iter() {
        match segment {
            Segment::Seq { .. } => {}
            Segment::Map { key } if in_map => {
                // A map key: what follows is the entry's value.
                let value = field.as_ref()?.kind().as_message()?.map_entry_value_field();
                in_map = false;
                if let Kind::Message(inner) = value.kind() {
                    message = inner;
                }
                let _ = key;
                field = Some(value);
            }
            // Inside these, the keys are not fields of the message (an `Any` packs another).
            Segment::Map { .. }
                if matches!(
                    message.full_name(),
                    "google.protobuf.Any"
                        | "google.protobuf.Struct"
                        | "google.protobuf.Value"
                        | "google.protobuf.ListValue"
                ) =>
            {
                return Some(message.full_name().to_owned());
            }
            Segment::Map { key } => {
                let found = message
                    .get_field_by_json_name(key)
                    .or_else(|| message.get_field_by_name(key))?;
                in_map = found.is_map();
                if let (false, Kind::Message(inner)) = (in_map, found.kind()) {
                    message = inner;
                }
                field = Some(found);
            }
            Segment::Enum { .. } | Segment::Unknown => return None,
        }
    }
    let field = field?;
    if field.is_map() {
        return Some("map".to_owned());
    }
    let repeated = if field.is_list() { "repeated " } else { "" };
    Some(format!("{repeated}{}", kind_name(&field.kind())))
}

/// A field type as a proto file writes it, with the range of integers.
fn kind_name(kind: &Kind) -> String {
    let (name, range) = match kind {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => ("int32", Some("from -2^31 to 2^31-1")),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => ("int64", Some("from -2^63 to 2^63-1")),
        Kind::Uint32 | Kind::Fixed32 => ("uint32", Some("from 0 to 2^32-1")),
        Kind::Uint64 | Kind::Fixed64 => ("uint64", Some("from 0 to 2^64-1")),
        Kind::Double => ("double", None),
        Kind::Float => ("float", None),
        Kind::Bool => ("bool", None),
        Kind::String => ("string", None),
        Kind::Bytes => ("bytes, base64", None),
        Kind::Message(message) => return message.full_name().to_owned(),
        Kind::Enum(enumeration) => return format!("enum {}", enumeration.full_name()),
    };
    match range {
        Some(range) => format!("{name}, {range}"),
        None => name.to_owned(),
    }
}

/// Encodes `value`, whose descriptor `descriptor` gives, in `codec`.
fn encode_with<T: Message>(
    value: &T,
    codec: Codec,
    descriptor: impl FnOnce() -> Result<MessageDescriptor, CodecError>,
) -> Result<Bytes, CodecError> {
    let binary = value.encode_to_vec();
    match codec {
        Codec::Protobuf => Ok(Bytes::from(binary)),
        Codec::Json => protobuf_to_json(descriptor()?, &binary).map(Bytes::from),
    }
}

/// Decodes a `T`, whose descriptor `descriptor` gives, from `bytes` in `codec`; an empty body
/// is the default message in both codecs.
fn decode_with<T: Message + Default>(
    codec: Codec,
    bytes: &[u8],
    descriptor: impl FnOnce() -> Result<MessageDescriptor, CodecError>,
    unknown_fields: UnknownFields,
) -> Result<T, CodecError> {
    match codec {
        Codec::Protobuf => Ok(T::decode(bytes)?),
        Codec::Json if bytes.is_empty() => Ok(T::default()),
        Codec::Json => {
            let binary = json_to_protobuf(descriptor()?, bytes, unknown_fields)?;
            Ok(T::decode(binary.as_slice())?)
        }
    }
}

/// A generated message's name, and its descriptor once looked up: each message keeps one in a
/// static, so ProtoJSON finds its descriptor without a look-up by name per payload.
#[derive(Debug)]
pub struct MessageName {
    name: &'static str,
    descriptor: OnceLock<MessageDescriptor>,
}

impl MessageName {
    /// The message `name` (fully qualified, without a leading dot).
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            descriptor: OnceLock::new(),
        }
    }

    /// Its descriptor in `descriptors`.
    fn descriptor(&self, descriptors: &Descriptors) -> Result<MessageDescriptor, CodecError> {
        if let Some(descriptor) = self.descriptor.get() {
            return Ok(descriptor.clone());
        }
        let descriptor = descriptors.message(self.name)?;
        Ok(self.descriptor.get_or_init(|| descriptor).clone())
    }
}

/// Encodes a generated message: binary Protobuf as prost writes it, or ProtoJSON through the
/// descriptor of `message` in `descriptors`.
pub fn encode_message<T: Message>(
    value: &T,
    codec: Codec,
    descriptors: &Descriptors,
    message: &MessageName,
) -> Result<Bytes, CodecError> {
    encode_with(value, codec, || message.descriptor(descriptors))
}

/// Decodes a generated message; an empty body is the default message in both codecs.
pub fn decode_message<T: Message + Default>(
    codec: Codec,
    bytes: &[u8],
    descriptors: &Descriptors,
    message: &MessageName,
) -> Result<T, CodecError> {
    let unknown_fields = if descriptors.ignore_unknown_json_fields {
        UnknownFields::Ignore
    } else {
        UnknownFields::Deny
    };
    decode_with(
        codec,
        bytes,
        || message.descriptor(descriptors),
        unknown_fields,
    )
}

/// The descriptor of the well-known type `name` (`google.protobuf.Timestamp`, ...).
fn well_known(name: &str) -> Result<MessageDescriptor, CodecError> {
    static WELL_KNOWN_TYPES: OnceLock<DescriptorPool> = OnceLock::new();
    WELL_KNOWN_TYPES
        .get_or_init(DescriptorPool::global)
        .get_message_by_name(name)
        .ok_or_else(|| CodecError::MissingDescriptor(name.to_owned()))
}

/// Encodes a well-known type, e.g. `pbjson_types::Timestamp` as `google.protobuf.Timestamp`.
pub(crate) fn encode_well_known<T: Message>(
    value: &T,
    codec: Codec,
    name: &str,
) -> Result<Bytes, CodecError> {
    encode_with(value, codec, || well_known(name))
}

/// Decodes a well-known type.
pub(crate) fn decode_well_known<T: Message + Default>(
    codec: Codec,
    bytes: &[u8],
    name: &str,
) -> Result<T, CodecError> {
    decode_with(codec, bytes, || well_known(name), UnknownFields::Deny)
}

/// The message type whose JSON packs another message, which may hold maps of its own.
const ANY: &str = "google.protobuf.Any";

/// Whether `message` may hold, at any depth, a map with more than one entry.
fn has_unordered_map(message: &DynamicMessage) -> bool {
    message.descriptor().full_name() == ANY
        || message
            .fields()
            .any(|(_, value)| value_has_unordered_map(value))
}

fn value_has_unordered_map(value: &Value) -> bool {
    match value {
        Value::Message(message) => has_unordered_map(message),
        Value::List(values) => values.iter().any(value_has_unordered_map),
        Value::Map(entries) => entries.len() > 1 || entries.values().any(value_has_unordered_map),
        _ => false,
    }
}
#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::LazyLock;

    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet,
        MessageOptions,
    };

    use super::*;

    /// `test.Item { string display_name = 1; map<string, int64> counts = 2; }`, as prost
    /// generates it.
    #[derive(Clone, PartialEq, prost::Message)]
    struct Item {
        #[prost(string, tag = "1")]
        display_name: String,
        #[prost(btree_map = "string, int64", tag = "2")]
        counts: BTreeMap<String, i64>,
    }

    fn field(name: &str, number: i32, ty: Type, label: Label) -> FieldDescriptorProto {
        FieldDescriptorProto {
            name: Some(name.to_owned()),
            number: Some(number),
            r#type: Some(ty as i32),
            label: Some(label as i32),
            ..Default::default()
        }
    }

    static DESCRIPTORS: LazyLock<Descriptors> = LazyLock::new(|| {
        let entry = DescriptorProto {
            name: Some("CountsEntry".to_owned()),
            field: vec![
                field("key", 1, Type::String, Label::Optional),
                field("value", 2, Type::Int64, Label::Optional),
            ],
            options: Some(MessageOptions {
                map_entry: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut counts = field("counts", 2, Type::Message, Label::Repeated);
        counts.type_name = Some(".test.Item.CountsEntry".to_owned());
        let item = DescriptorProto {
            name: Some("Item".to_owned()),
            field: vec![
                field("display_name", 1, Type::String, Label::Optional),
                counts,
            ],
            nested_type: vec![entry],
            ..Default::default()
        };
        let set = FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("test.proto".to_owned()),
                package: Some("test".to_owned()),
                message_type: vec![item],
                syntax: Some("proto3".to_owned()),
                ..Default::default()
            }],
        };
        Descriptors::new(Box::leak(set.encode_to_vec().into_boxed_slice()))
    });

    static ITEM: MessageName = MessageName::new("test.Item");

    fn encode_json(item: &Item) -> String {
        let bytes = encode_message(item, Codec::Json, &DESCRIPTORS, &ITEM).unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn decode_json(json: &str) -> Result<Item, CodecError> {
        decode_message(Codec::Json, json.as_bytes(), &DESCRIPTORS, &ITEM)
    }

    #[test]
    fn json_follows_the_proto3_mapping() {
        let item = Item {
            display_name: "lamp".to_owned(),
            counts: BTreeMap::from([("a".to_owned(), 5)]),
        };
        let json = encode_json(&item);
        assert_eq!(json, r#"{"displayName":"lamp","counts":{"a":"5"}}"#);
        assert_eq!(decode_json(&json).unwrap(), item);
        // The proto field name and numbers for int64 are accepted too; defaults are left out.
        let parsed = decode_json(r#"{"display_name":"lamp","counts":{"a":5}}"#).unwrap();
        assert_eq!(parsed, item);
        assert_eq!(encode_json(&Item::default()), "{}");
        assert_eq!(decode_json("").unwrap(), Item::default());
    }

    #[test]
    fn maps_encode_the_same_every_time() {
        let item = Item {
            display_name: String::new(),
            counts: (0..64).map(|n| (format!("key-{n}"), n)).collect(),
        };
        let first = encode_json(&item);
        for _ in 0..20 {
            assert_eq!(encode_json(&item), first);
        }
        assert!(first.starts_with(r#"{"counts":{"key-0":"0","key-1":"1","key-10":"10""#));
        assert_eq!(decode_json(&first).unwrap(), item);
    }

    #[test]
    fn errors_name_the_field_its_type_and_range() {
        let message = |json: &str| decode_json(json).unwrap_err().to_string();
        let bad_int = message(r#"{"counts":{"a":true}}"#);
        assert!(
            bad_int.contains("field `counts.a` (int64, from -2^63 to 2^63-1)"),
            "{bad_int}"
        );
        let out_of_range = message(r#"{"counts":{"a":9223372036854775808}}"#);
        assert!(out_of_range.contains("int64, from -2^63"), "{out_of_range}");
        let bad_string = message(r#"{"displayName":5}"#);
        assert!(
            bad_string.contains("field `displayName` (string)"),
            "{bad_string}"
        );
        // Null is a field's default, as the mapping says.
        assert_eq!(
            decode_json(r#"{"displayName":null,"counts":null}"#).unwrap(),
            Item::default()
        );
    }

    #[test]
    fn malformed_json_is_an_error() {
        for json in [
            r#"{"displayName":"#,
            r#"{"unknown":1}"#,
            r#"{"counts":[]}"#,
            "{} x",
        ] {
            assert!(
                matches!(decode_json(json), Err(CodecError::Json(_))),
                "{json}"
            );
        }
    }

    #[test]
    fn an_unknown_message_is_named() {
        let error = decode_message::<Item>(
            Codec::Json,
            b"{}",
            &DESCRIPTORS,
            &MessageName::new("test.Missing"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("test.Missing"), "{error}");
    }

    #[test]
    fn protobuf_is_prost_s_encoding() {
        let item = Item {
            display_name: "x".to_owned(),
            counts: BTreeMap::new(),
        };
        let bytes = encode_message(&item, Codec::Protobuf, &DESCRIPTORS, &ITEM).unwrap();
        assert_eq!(bytes, item.encode_to_vec());
        let back: Item = decode_message(Codec::Protobuf, &bytes, &DESCRIPTORS, &ITEM).unwrap();
        assert_eq!(back, item);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256),
            json in "[ -~]{0,64}",
        ) {
            for codec in [Codec::Json, Codec::Protobuf] {
                let _ = decode_message::<Item>(codec, &bytes, &DESCRIPTORS, &ITEM);
                let _ = decode_message::<Item>(codec, json.as_bytes(), &DESCRIPTORS, &ITEM);
            }
        }
    }
}
