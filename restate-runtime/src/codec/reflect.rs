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
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, ReflectMessage,
    SerializeOptions, Value,
};

use super::sorted_json::SortedObjects;
use super::{Codec, CodecError};

/// The encoded descriptors of a generated package and of everything it imports, decoded on
/// first use.
pub struct Descriptors {
    encoded: &'static [u8],
    pool: OnceLock<Result<DescriptorPool, String>>,
}

impl fmt::Debug for Descriptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Descriptors")
            .field("encoded_len", &self.encoded.len())
            .field("decoded", &self.pool.get().is_some())
            .finish()
    }
}

impl Descriptors {
    /// The descriptors in `encoded`, an encoded `FileDescriptorSet`.
    pub const fn new(encoded: &'static [u8]) -> Self {
        Self {
            encoded,
            pool: OnceLock::new(),
        }
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

/// The binary encoding of the message of type `descriptor` whose ProtoJSON is `json`.
fn json_to_protobuf(descriptor: MessageDescriptor, json: &[u8]) -> Result<Vec<u8>, CodecError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let message = DynamicMessage::deserialize_with_options(
        descriptor,
        &mut deserializer,
        &DeserializeOptions::new(),
    )?;
    deserializer.end()?;
    Ok(message.encode_to_vec())
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
) -> Result<T, CodecError> {
    match codec {
        Codec::Protobuf => Ok(T::decode(bytes)?),
        Codec::Json if bytes.is_empty() => Ok(T::default()),
        Codec::Json => {
            let binary = json_to_protobuf(descriptor()?, bytes)?;
            Ok(T::decode(binary.as_slice())?)
        }
    }
}

/// Encodes a generated message: binary Protobuf as prost writes it, or ProtoJSON through the
/// message's descriptor `name` in `descriptors`.
pub fn encode_message<T: Message>(
    value: &T,
    codec: Codec,
    descriptors: &Descriptors,
    name: &str,
) -> Result<Bytes, CodecError> {
    encode_with(value, codec, || descriptors.message(name))
}

/// Decodes a generated message; an empty body is the default message in both codecs.
pub fn decode_message<T: Message + Default>(
    codec: Codec,
    bytes: &[u8],
    descriptors: &Descriptors,
    name: &str,
) -> Result<T, CodecError> {
    decode_with(codec, bytes, || descriptors.message(name))
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
    decode_with(codec, bytes, || well_known(name))
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

    fn encode_json(item: &Item) -> String {
        let bytes = encode_message(item, Codec::Json, &DESCRIPTORS, "test.Item").unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn decode_json(json: &str) -> Result<Item, CodecError> {
        decode_message(Codec::Json, json.as_bytes(), &DESCRIPTORS, "test.Item")
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
        let error =
            decode_message::<Item>(Codec::Json, b"{}", &DESCRIPTORS, "test.Missing").unwrap_err();
        assert!(error.to_string().contains("test.Missing"), "{error}");
    }

    #[test]
    fn protobuf_is_prost_s_encoding() {
        let item = Item {
            display_name: "x".to_owned(),
            counts: BTreeMap::new(),
        };
        let bytes = encode_message(&item, Codec::Protobuf, &DESCRIPTORS, "test.Item").unwrap();
        assert_eq!(bytes, item.encode_to_vec());
        let back: Item =
            decode_message(Codec::Protobuf, &bytes, &DESCRIPTORS, "test.Item").unwrap();
        assert_eq!(back, item);
    }
}
