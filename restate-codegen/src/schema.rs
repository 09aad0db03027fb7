//! JSON Schemas (draft 2020-12) of the proto3 JSON mapping of messages, for the discovery
//! manifest: Restate's UI draws request forms from them.
//!
//! [`json_schema`] describes what a proto3 JSON codec (pbjson, protobuf's canonical JSON) writes
//! and reads for a message:
//!
//! - A message is an object titled with its name, described by its leading comment, whose
//!   properties are named by the fields' JSON names (lowerCamelCase unless `json_name` says
//!   otherwise). Nothing is `required`: proto3 JSON omits default values. Parsers also accept the
//!   proto field names, so unknown properties are not forbidden.
//! - Message-typed fields are `{"$ref": "#/$defs/<full name>"}`, each message defined once in the
//!   top-level `$defs`; a reference back to the described message itself is `{"$ref": "#"}`. So
//!   recursive messages stay finite.
//! - `string` is a string, `bool` a boolean, 32-bit integers integers with their bounds.
//! - 64-bit integers are written as decimal strings but read from numbers too:
//!   `{"type": ["string", "integer"]}` with a `pattern` for the string form (and `minimum: 0`
//!   for unsigned types).
//! - `float` and `double` are numbers, except that NaN and the infinities are written as the
//!   strings `"NaN"`, `"Infinity"` and `"-Infinity"`: `{"type": ["number", "string"]}` with a
//!   `pattern` admitting exactly those strings. (Parsers also read numbers quoted as strings;
//!   the schema leaves that form out.)
//! - `bytes` is a string with `"contentEncoding": "base64"`.
//! - An enum is a string naming one of its values. (Parsers also read the numbers; the schema
//!   leaves them out so that a form offers the names.)
//! - `repeated` fields are arrays; maps are objects whose `additionalProperties` is the schema
//!   of the values, with `propertyNames` constraining integer and bool keys.
//! - Members of a `oneof` are ordinary optional properties; their description says which others
//!   they exclude. Deprecated fields carry `"deprecated": true`.
//! - The well-known types use their special JSON forms: `Timestamp` is an RFC 3339 `date-time`
//!   string, `Duration` a string of seconds ending in `s`, `FieldMask` a string, `Struct` any
//!   object, `Value` any JSON value, `ListValue` an array, `NullValue` null, `Empty` an object
//!   without properties, `Any` an object with a required `@type`, and the wrappers
//!   (`StringValue`, `Int64Value`, ...) the bare value they wrap. They are written inline, never
//!   put in `$defs`, and describing one of them directly gives the same schema.
//!
//! Fields may also be `null` in proto3 JSON input (meaning "not set"); the schemas leave that
//! out, as forms have no use for it.

use std::collections::{HashMap, HashSet};

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};

use crate::model::docs::CommentIndex;
use serde_json::{Map, Value, json};

/// The `$ref` of the described message itself.
const ROOT_REF: &str = "#";

/// The JSON Schema of the proto3 JSON form of `message`:
/// `{"type": "object", "title", "description", "properties", "$defs"}`, with `description` only
/// when the message has a leading comment and `$defs` only when some message is referenced.
/// For a well-known type it is that type's special form, e.g. `{"type": "string"}` for
/// `google.protobuf.StringValue`.
#[cfg(test)]
pub(crate) fn json_schema(message: &MessageDescriptor) -> Value {
    schema_of(message, &mut CommentIndex::default())
}

/// Schemas of many messages of one descriptor pool, with what they share computed once: the
/// comment index of each file, and each message's schema text.
#[derive(Debug, Default)]
pub(crate) struct SchemaCache {
    comments: CommentIndex,
    schemas: HashMap<String, String>,
}

impl SchemaCache {
    /// A message's JSON Schema as compact JSON text, computed once per message.
    pub(crate) fn json_schema_string(&mut self, message: &MessageDescriptor) -> String {
        if let Some(schema) = self.schemas.get(message.full_name()) {
            return schema.clone();
        }
        let schema = schema_of(message, &mut self.comments).to_string();
        self.schemas
            .insert(message.full_name().to_owned(), schema.clone());
        schema
    }
}

fn schema_of(message: &MessageDescriptor, comments: &mut CommentIndex) -> Value {
    if let Some(schema) = well_known(message.full_name()) {
        return schema;
    }
    let mut definitions = Definitions::new(message, comments);
    let mut schema = definitions.message(message);
    let defs = definitions.finish();
    if !defs.is_empty() {
        schema.insert("$defs".to_owned(), Value::Object(defs));
    }
    Value::Object(schema)
}

/// The messages referenced while describing one root message, and their definitions.
struct Definitions<'a> {
    /// Where the comments come from.
    comments: &'a mut CommentIndex,
    /// The full name of the described message.
    root: String,
    /// Every message referenced so far, besides the root.
    referenced: HashSet<String>,
    /// Referenced messages not described yet.
    pending: Vec<MessageDescriptor>,
    /// The definitions written so far, by full name.
    defs: Map<String, Value>,
}

impl<'a> Definitions<'a> {
    fn new(root: &MessageDescriptor, comments: &'a mut CommentIndex) -> Self {
        Definitions {
            comments,
            root: root.full_name().to_owned(),
            referenced: HashSet::new(),
            pending: Vec::new(),
            defs: Map::new(),
        }
    }

    /// Describes the pending messages, and the ones they reference, until none is left.
    fn finish(mut self) -> Map<String, Value> {
        while let Some(message) = self.pending.pop() {
            let schema = self.message(&message);
            self.defs
                .insert(message.full_name().to_owned(), Value::Object(schema));
        }
        self.defs
    }

    /// The object schema of an ordinary (not well-known) message.
    fn message(&mut self, message: &MessageDescriptor) -> Map<String, Value> {
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        schema.insert("title".to_owned(), json!(message.name()));
        if let Some(docs) = self
            .comments
            .leading(&message.parent_file(), message.path())
        {
            schema.insert("description".to_owned(), json!(docs));
        }
        let properties = message
            .fields()
            .map(|field| (field.json_name().to_owned(), self.field(&field)))
            .collect();
        schema.insert("properties".to_owned(), Value::Object(properties));
        schema
    }

    /// The schema of one field, with its documentation.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        let mut schema = if field.is_map() {
            self.map(field)
        } else if field.is_list() {
            json!({ "type": "array", "items": self.kind(&field.kind()) })
        } else {
            self.kind(&field.kind())
        };
        let docs = [
            self.comments.leading(&field.parent_file(), field.path()),
            oneof_note(field),
        ];
        let docs: Vec<String> = docs.into_iter().flatten().collect();
        if let Value::Object(schema) = &mut schema {
            if !docs.is_empty() {
                schema.insert("description".to_owned(), json!(docs.join("\n\n")));
            }
            if is_deprecated(field) {
                schema.insert("deprecated".to_owned(), json!(true));
            }
        }
        schema
    }

    /// The schema of a map field: an object keyed by the keys' JSON strings.
    fn map(&mut self, field: &FieldDescriptor) -> Value {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field's type is its entry message")
        };
        let mut schema = Map::new();
        schema.insert("type".to_owned(), json!("object"));
        if let Some(names) = key_names(&entry.map_entry_key_field().kind()) {
            schema.insert("propertyNames".to_owned(), names);
        }
        let values = self.kind(&entry.map_entry_value_field().kind());
        schema.insert("additionalProperties".to_owned(), values);
        Value::Object(schema)
    }

    /// The schema of one value of a field's type.
    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Message(message) => self.reference(message),
            Kind::Enum(descriptor) if descriptor.full_name() == "google.protobuf.NullValue" => {
                json!({ "type": "null" })
            }
            Kind::Enum(descriptor) => {
                let names: Vec<Value> = descriptor.values().map(|v| json!(v.name())).collect();
                json!({ "type": "string", "enum": names })
            }
            scalar => scalar_schema(scalar),
        }
    }

    /// A well-known type's schema, or a `$ref` to the definition of `message`, queueing it to be
    /// described if it is new.
    fn reference(&mut self, message: &MessageDescriptor) -> Value {
        let name = message.full_name();
        if let Some(schema) = well_known(name) {
            return schema;
        }
        if name == self.root {
            return json!({ "$ref": ROOT_REF });
        }
        if self.referenced.insert(name.to_owned()) {
            self.pending.push(message.clone());
        }
        json!({ "$ref": format!("#/$defs/{name}") })
    }
}

/// The schema of a scalar (not message, not enum) type.
fn scalar_schema(kind: &Kind) -> Value {
    match kind {
        Kind::String => json!({ "type": "string" }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Bytes => json!({ "type": "string", "contentEncoding": "base64" }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            json!({ "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX })
        }
        Kind::Uint32 | Kind::Fixed32 => {
            json!({ "type": "integer", "minimum": 0, "maximum": u32::MAX })
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({ "type": ["string", "integer"], "pattern": "^-?[0-9]+$" })
        }
        Kind::Uint64 | Kind::Fixed64 => {
            json!({ "type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0 })
        }
        Kind::Float | Kind::Double => {
            json!({ "type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$" })
        }
        Kind::Message(_) | Kind::Enum(_) => unreachable!("not a scalar type: {kind:?}"),
    }
}

/// The `propertyNames` schema of map keys of type `kind`; string keys need none.
fn key_names(kind: &Kind) -> Option<Value> {
    match kind {
        Kind::Bool => Some(json!({ "enum": ["true", "false"] })),
        Kind::Int32
        | Kind::Sint32
        | Kind::Sfixed32
        | Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64 => Some(json!({ "pattern": "^-?[0-9]+$" })),
        Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => {
            Some(json!({ "pattern": "^[0-9]+$" }))
        }
        _ => None,
    }
}

/// The schema of a well-known type with a special JSON form, by full name; `None` for other
/// messages.
fn well_known(full_name: &str) -> Option<Value> {
    let name = full_name.strip_prefix("google.protobuf.")?;
    let schema = match name {
        "Timestamp" => json!({ "type": "string", "format": "date-time" }),
        "Duration" => json!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$" }),
        "FieldMask" => json!({ "type": "string" }),
        "Empty" => json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        "Struct" => json!({ "type": "object" }),
        "Value" => json!({}),
        "ListValue" => json!({ "type": "array" }),
        "Any" => json!({
            "type": "object",
            "properties": { "@type": { "type": "string" } },
            "required": ["@type"],
        }),
        "StringValue" => scalar_schema(&Kind::String),
        "BoolValue" => scalar_schema(&Kind::Bool),
        "BytesValue" => scalar_schema(&Kind::Bytes),
        "Int32Value" => scalar_schema(&Kind::Int32),
        "UInt32Value" => scalar_schema(&Kind::Uint32),
        "Int64Value" => scalar_schema(&Kind::Int64),
        "UInt64Value" => scalar_schema(&Kind::Uint64),
        "FloatValue" => scalar_schema(&Kind::Float),
        "DoubleValue" => scalar_schema(&Kind::Double),
        _ => return None,
    };
    Some(schema)
}

/// For a member of a (real, not proto3-`optional`) oneof: which properties it excludes.
fn oneof_note(field: &FieldDescriptor) -> Option<String> {
    let oneof = field.containing_oneof().filter(|o| !o.is_synthetic())?;
    let members: Vec<String> = oneof
        .fields()
        .map(|member| format!("`{}`", member.json_name()))
        .collect();
    Some(format!(
        "One of {} (oneof `{}`): set at most one.",
        members.join(", "),
        oneof.name()
    ))
}

/// Whether the field has `[deprecated = true]`.
fn is_deprecated(field: &FieldDescriptor) -> bool {
    field
        .field_descriptor_proto()
        .options
        .as_ref()
        .and_then(|options| options.deprecated)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use prost_reflect::{DescriptorPool, MessageDescriptor};
    use serde_json::{Value, json};

    use super::json_schema;
    use crate::testing;

    /// The pool of a proto file `test.proto` holding `proto`.
    fn pool(proto: &str) -> DescriptorPool {
        let descriptors = testing::descriptors(&[("test.proto", proto)], &["test.proto"]);
        DescriptorPool::decode(descriptors.bytes.as_slice()).expect("a descriptor pool")
    }

    fn message(pool: &DescriptorPool, name: &str) -> MessageDescriptor {
        pool.get_message_by_name(name)
            .unwrap_or_else(|| panic!("no message {name}"))
    }

    /// The schema of message `name` (in package `test`) of `proto`.
    fn schema_of(proto: &str, name: &str) -> Value {
        json_schema(&message(&pool(proto), &format!("test.{name}")))
    }

    /// Every `required` keyword in `schema`, with the names it requires.
    fn required_lists(schema: &Value, found: &mut Vec<Value>) {
        match schema {
            Value::Object(map) => {
                for (key, value) in map {
                    if key == "required" {
                        found.push(value.clone());
                    }
                    required_lists(value, found);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| required_lists(item, found)),
            _ => {}
        }
    }

    #[test]
    fn scalars_follow_the_proto3_json_mapping() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;
            message Scalars {
              string name = 1;
              bool flag = 2;
              int32 small = 3;
              uint32 unsigned_small = 4;
              int64 big = 5;
              uint64 unsigned_big = 6;
              sint64 zigzag = 7;
              fixed64 fixed = 8;
              float ratio = 9;
              double precise = 10;
              bytes blob = 11;
              optional string maybe = 12;
              string custom = 13 [json_name = "renamed"];
              int32 old = 14 [deprecated = true];
            }
            "#,
            "Scalars",
        );
        let int64 = json!({ "type": ["string", "integer"], "pattern": "^-?[0-9]+$" });
        let uint64 = json!({ "type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0 });
        let float = json!({ "type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$" });
        let int32 = json!({ "type": "integer", "minimum": -2147483648_i64, "maximum": 2147483647 });
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "title": "Scalars",
                "properties": {
                    "name": { "type": "string" },
                    "flag": { "type": "boolean" },
                    "small": int32,
                    "unsignedSmall": { "type": "integer", "minimum": 0, "maximum": 4294967295_u64 },
                    "big": int64,
                    "unsignedBig": uint64,
                    "zigzag": int64,
                    "fixed": uint64,
                    "ratio": float,
                    "precise": float,
                    "blob": { "type": "string", "contentEncoding": "base64" },
                    "maybe": { "type": "string" },
                    "renamed": { "type": "string" },
                    "old": { "type": "integer", "minimum": -2147483648_i64, "maximum": 2147483647, "deprecated": true },
                },
            })
        );
    }

    #[test]
    fn enums_are_their_value_names() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;
            enum Color {
              COLOR_UNSPECIFIED = 0;
              RED = 1;
              GREEN = 2;
            }
            message Paint {
              Color color = 1;
              repeated Color mix = 2;
            }
            "#,
            "Paint",
        );
        let color = json!({ "type": "string", "enum": ["COLOR_UNSPECIFIED", "RED", "GREEN"] });
        assert_eq!(schema["properties"]["color"], color);
        assert_eq!(
            schema["properties"]["mix"],
            json!({ "type": "array", "items": color })
        );
        assert_eq!(schema.get("$defs"), None);
    }

    #[test]
    fn repeated_fields_are_arrays_and_maps_objects() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;
            message Item { string sku = 1; }
            message Cart {
              repeated string tags = 1;
              repeated Item items = 2;
              map<string, int64> counts = 3;
              map<int32, Item> by_slot = 4;
              map<bool, string> flags = 5;
              map<uint64, bytes> blobs = 6;
            }
            "#,
            "Cart",
        );
        let item = json!({ "$ref": "#/$defs/test.Item" });
        assert_eq!(
            schema["properties"],
            json!({
                "tags": { "type": "array", "items": { "type": "string" } },
                "items": { "type": "array", "items": item },
                "counts": {
                    "type": "object",
                    "additionalProperties": { "type": ["string", "integer"], "pattern": "^-?[0-9]+$" },
                },
                "bySlot": {
                    "type": "object",
                    "propertyNames": { "pattern": "^-?[0-9]+$" },
                    "additionalProperties": item,
                },
                "flags": {
                    "type": "object",
                    "propertyNames": { "enum": ["true", "false"] },
                    "additionalProperties": { "type": "string" },
                },
                "blobs": {
                    "type": "object",
                    "propertyNames": { "pattern": "^[0-9]+$" },
                    "additionalProperties": { "type": "string", "contentEncoding": "base64" },
                },
            })
        );
        assert_eq!(
            schema["$defs"],
            json!({
                "test.Item": {
                    "type": "object",
                    "title": "Item",
                    "properties": { "sku": { "type": "string" } },
                },
            })
        );
    }

    #[test]
    fn nested_and_recursive_messages_are_defined_once() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;
            message Forest {
              repeated Tree trees = 1;
              Tree tallest = 2;
              Forest neighbour = 3;
            }
            message Tree {
              message Leaf { string color = 1; Tree tree = 2; }
              string name = 1;
              repeated Tree children = 2;
              Leaf leaf = 3;
              Forest forest = 4;
            }
            "#,
            "Forest",
        );
        let tree = json!({ "$ref": "#/$defs/test.Tree" });
        assert_eq!(schema["properties"]["trees"]["items"], tree);
        assert_eq!(schema["properties"]["tallest"], tree);
        assert_eq!(schema["properties"]["neighbour"], json!({ "$ref": "#" }));
        assert_eq!(
            schema["$defs"],
            json!({
                "test.Tree": {
                    "type": "object",
                    "title": "Tree",
                    "properties": {
                        "name": { "type": "string" },
                        "children": { "type": "array", "items": tree },
                        "leaf": { "$ref": "#/$defs/test.Tree.Leaf" },
                        "forest": { "$ref": "#" },
                    },
                },
                "test.Tree.Leaf": {
                    "type": "object",
                    "title": "Leaf",
                    "properties": {
                        "color": { "type": "string" },
                        "tree": tree,
                    },
                },
            })
        );
    }

    #[test]
    fn well_known_types_use_their_json_forms() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;
            import "google/protobuf/any.proto";
            import "google/protobuf/duration.proto";
            import "google/protobuf/empty.proto";
            import "google/protobuf/field_mask.proto";
            import "google/protobuf/struct.proto";
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/wrappers.proto";
            message Event {
              google.protobuf.Timestamp at = 1;
              google.protobuf.Duration took = 2;
              google.protobuf.StringValue label = 3;
              google.protobuf.Int64Value count = 4;
              google.protobuf.UInt32Value small = 5;
              google.protobuf.BoolValue done = 6;
              google.protobuf.BytesValue data = 7;
              google.protobuf.DoubleValue score = 8;
              google.protobuf.Struct attributes = 9;
              google.protobuf.Value anything = 10;
              google.protobuf.ListValue list = 11;
              google.protobuf.NullValue nothing = 12;
              google.protobuf.Empty empty = 13;
              google.protobuf.FieldMask mask = 14;
              google.protobuf.Any payload = 15;
              repeated google.protobuf.Timestamp history = 16;
            }
            "#,
            "Event",
        );
        assert_eq!(
            schema["properties"],
            json!({
                "at": { "type": "string", "format": "date-time" },
                "took": { "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$" },
                "label": { "type": "string" },
                "count": { "type": ["string", "integer"], "pattern": "^-?[0-9]+$" },
                "small": { "type": "integer", "minimum": 0, "maximum": 4294967295_u64 },
                "done": { "type": "boolean" },
                "data": { "type": "string", "contentEncoding": "base64" },
                "score": { "type": ["number", "string"], "pattern": "^(NaN|-?Infinity)$" },
                "attributes": { "type": "object" },
                "anything": {},
                "list": { "type": "array" },
                "nothing": { "type": "null" },
                "empty": { "type": "object", "properties": {}, "additionalProperties": false },
                "mask": { "type": "string" },
                "payload": {
                    "type": "object",
                    "properties": { "@type": { "type": "string" } },
                    "required": ["@type"],
                },
                "history": {
                    "type": "array",
                    "items": { "type": "string", "format": "date-time" },
                },
            })
        );
        assert_eq!(schema.get("$defs"), None, "well-known types are inline");
        let mut required = Vec::new();
        required_lists(&schema, &mut required);
        assert_eq!(
            required,
            vec![json!(["@type"])],
            "only Any requires a property"
        );
    }

    #[test]
    fn well_known_types_described_directly_have_the_same_forms() {
        let pool = pool(
            r#"
            syntax = "proto3";
            package test;
            import "google/protobuf/empty.proto";
            import "google/protobuf/struct.proto";
            import "google/protobuf/timestamp.proto";
            import "google/protobuf/wrappers.proto";
            message Uses {
              google.protobuf.Empty a = 1;
              google.protobuf.Struct b = 2;
              google.protobuf.Timestamp c = 3;
              google.protobuf.StringValue d = 4;
              google.protobuf.UInt64Value e = 5;
            }
            "#,
        );
        let schema = |name: &str| json_schema(&message(&pool, name));
        assert_eq!(
            schema("google.protobuf.StringValue"),
            json!({ "type": "string" })
        );
        assert_eq!(
            schema("google.protobuf.UInt64Value"),
            json!({ "type": ["string", "integer"], "pattern": "^[0-9]+$", "minimum": 0 })
        );
        assert_eq!(
            schema("google.protobuf.Empty"),
            json!({ "type": "object", "properties": {}, "additionalProperties": false })
        );
        assert_eq!(
            schema("google.protobuf.Struct"),
            json!({ "type": "object" })
        );
        assert_eq!(
            schema("google.protobuf.Timestamp"),
            json!({ "type": "string", "format": "date-time" })
        );
    }

    #[test]
    fn comments_become_descriptions() {
        let schema = schema_of(
            r#"
            syntax = "proto3";
            package test;

            // A request to greet someone.
            //
            // Greetings are free.
            message Greeting {
              // Who to greet.
              string name = 1;
              Language language = 2; // a trailing comment is not documentation
              // How to reach them.
              oneof channel {
                // Their email address.
                string email = 3;
                string phone_number = 4;
              }
            }

            // A language, by its name.
            message Language {
              // The English name,
              //   e.g. "German".
              string name = 1;
            }
            "#,
            "Greeting",
        );
        assert_eq!(
            schema["description"],
            json!("A request to greet someone.\n\nGreetings are free.")
        );
        assert_eq!(
            schema["properties"]["name"]["description"],
            json!("Who to greet.")
        );
        assert_eq!(
            schema["properties"]["language"],
            json!({ "$ref": "#/$defs/test.Language" })
        );
        let note = "One of `email`, `phoneNumber` (oneof `channel`): set at most one.";
        assert_eq!(
            schema["properties"]["email"]["description"],
            json!(format!("Their email address.\n\n{note}"))
        );
        assert_eq!(
            schema["properties"]["phoneNumber"],
            json!({ "type": "string", "description": note })
        );
        let language = &schema["$defs"]["test.Language"];
        assert_eq!(language["description"], json!("A language, by its name."));
        assert_eq!(
            language["properties"]["name"]["description"],
            json!("The English name,\n  e.g. \"German\".")
        );
    }

    #[test]
    fn the_string_form_is_compact_json_of_the_schema() {
        let pool = pool(
            r#"
            syntax = "proto3";
            package test;
            message Ping { int64 id = 1; Ping next = 2; }
            "#,
        );
        let ping = message(&pool, "test.Ping");
        let text = json_schema(&ping).to_string();
        assert!(!text.contains('\n') && !text.contains(": "), "{text}");
        let parsed: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(parsed, json_schema(&ping));
        assert_eq!(parsed["properties"]["next"], json!({ "$ref": "#" }));
    }
}
