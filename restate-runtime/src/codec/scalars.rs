//! [`Payload`] for the types that are not generated from the user's protos: scalars, `()`,
//! raw [`Bytes`] and the well-known types of `pbjson-types`.

use bytes::Bytes;
use prost::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::reflect::{decode_well_known, encode_well_known};
use super::{Codec, CodecError, Payload};

/// ProtoJSON through the type's serde implementation, Protobuf through prost.
fn encode_serde<T: Message + Serialize>(value: &T, codec: Codec) -> Result<Bytes, CodecError> {
    match codec {
        Codec::Json => Ok(Bytes::from(serde_json::to_vec(value)?)),
        Codec::Protobuf => Ok(Bytes::from(value.encode_to_vec())),
    }
}

fn decode_serde<T: Message + Default + DeserializeOwned>(
    codec: Codec,
    bytes: &[u8],
) -> Result<T, CodecError> {
    match codec {
        Codec::Json if bytes.is_empty() => Ok(T::default()),
        Codec::Json => Ok(serde_json::from_slice(bytes)?),
        Codec::Protobuf => Ok(T::decode(bytes)?),
    }
}

/// Implements [`Payload`] through serde and prost.
macro_rules! serde_payload {
    ($($ty:ty),* $(,)?) => {$(
        impl Payload for $ty {
            fn encode_payload(&self, codec: Codec) -> Result<Bytes, CodecError> {
                encode_serde(self, codec)
            }

            fn decode_payload(codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
                decode_serde(codec, bytes)
            }
        }
    )*};
}

// Scalars: prost treats them as the wrapper messages (`StringValue`, ...); in JSON they are
// plain JSON values, as serde writes them.
serde_payload!(String, bool, i32, i64, u32, u64, f32, f64, Vec<u8>);

/// Implements [`Payload`] for well-known types through their descriptors, as for generated
/// messages.
macro_rules! well_known_payload {
    ($($ty:ident),* $(,)?) => {$(
        impl Payload for pbjson_types::$ty {
            fn encode_payload(&self, codec: Codec) -> Result<Bytes, CodecError> {
                encode_well_known(self, codec, concat!("google.protobuf.", stringify!($ty)))
            }

            fn decode_payload(codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
                decode_well_known(codec, bytes, concat!("google.protobuf.", stringify!($ty)))
            }
        }
    )*};
}

well_known_payload!(
    Any,
    Api,
    BoolValue,
    BytesValue,
    DoubleValue,
    Duration,
    Empty,
    Enum,
    EnumValue,
    Field,
    FieldMask,
    FloatValue,
    Int32Value,
    Int64Value,
    ListValue,
    Method,
    Mixin,
    Option,
    SourceContext,
    StringValue,
    Struct,
    Timestamp,
    Type,
    UInt32Value,
    UInt64Value,
    Value,
);

/// `google.protobuf.Empty`, which generated code writes as `()`: `{}` in JSON, no bytes in
/// Protobuf. Reading one takes whatever came (an awakeable resolved with any value, a call's
/// answer): there is nothing to read. A handler whose input is `Empty` is held to more: its
/// request must carry no bytes, `{}` or `null`, or it ends with a terminal 400.
impl Payload for () {
    fn encode_payload(&self, codec: Codec) -> Result<Bytes, CodecError> {
        Ok(match codec {
            Codec::Json => Bytes::from_static(b"{}"),
            Codec::Protobuf => Bytes::new(),
        })
    }

    fn decode_payload(_codec: Codec, _bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(())
    }
}

/// Whether `bytes` is an input for a handler that takes `google.protobuf.Empty`: no body, `{}`,
/// or `null` in JSON (as `run` results of `()` were once journaled); valid Protobuf. Anything
/// else is malformed, as for any other message: an object with fields names an unknown field.
pub(crate) fn check_empty_input(codec: Codec, bytes: &[u8]) -> Result<(), CodecError> {
    use serde::de::Error as _;
    match codec {
        Codec::Json if bytes.iter().all(u8::is_ascii_whitespace) => Ok(()),
        Codec::Json => match serde_json::from_slice::<serde_json::Value>(bytes)? {
            serde_json::Value::Null => Ok(()),
            serde_json::Value::Object(fields) => match fields.keys().next() {
                None => Ok(()),
                Some(field) => Err(CodecError::Json(serde_json::Error::custom(format!(
                    "unknown field `{field}`: google.protobuf.Empty has no fields"
                )))),
            },
            other => {
                let kind = match other {
                    serde_json::Value::Bool(_) => "a boolean",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::String(_) => "a string",
                    _ => "an array",
                };
                Err(CodecError::Json(serde_json::Error::custom(format!(
                    "expected an object for google.protobuf.Empty, found {kind}"
                ))))
            }
        },
        Codec::Protobuf => Ok(<() as Message>::decode(bytes)?),
    }
}

/// Raw bytes, passed through untouched in both codecs.
impl Payload for Bytes {
    fn encode_payload(&self, _codec: Codec) -> Result<Bytes, CodecError> {
        Ok(self.clone())
    }

    fn decode_payload(_codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
        Ok(Bytes::copy_from_slice(bytes))
    }
}
