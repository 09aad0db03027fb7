//! The rules a contract change is checked against: buf's `WIRE_JSON` category, under buf's
//! names, and Restate's own, which buf cannot know.

use std::fmt;
use std::str::FromStr;

/// A rule of the contract check. Each is named as `buf breaking` names it, or `RESTATE_…` for
/// the rules about Restate's services buf cannot know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Rule {
    /// A service is removed or renamed.
    RestateServiceNoDelete,
    /// A service's type (service, virtual object, workflow) changes.
    RestateServiceSameType,
    /// A service's payload codec (ProtoJSON, binary Protobuf) changes.
    RestateServiceSameCodec,
    /// The name Restate knows a service or handler by changes (`(restate.service_name)`,
    /// `(restate.handler_name)`, short service names).
    RestateSameName,
    /// A handler is removed or renamed.
    RestateHandlerNoDelete,
    /// A handler's type (exclusive, shared, workflow run) changes.
    RestateHandlerSameType,
    /// The input field holding a handler's key for gRPC callers changes.
    RestateHandlerSameKeyField,
    /// A handler's payloads start or stop passing through untouched (`(restate.raw)`).
    RestateHandlerSameRaw,
    /// A handler's input type changes.
    RpcSameRequestType,
    /// A handler's output type changes.
    RpcSameResponseType,
    /// An rpc's `idempotency_level` option changes.
    RpcSameIdempotencyLevel,
    /// A field is removed without reserving its number.
    FieldNoDeleteUnlessNumberReserved,
    /// A field is removed without reserving its name.
    FieldNoDeleteUnlessNameReserved,
    /// A field number gets another name.
    FieldSameName,
    /// A field number gets another JSON name.
    FieldSameJsonName,
    /// A field number gets a type incompatible in binary Protobuf or ProtoJSON.
    FieldWireJsonCompatibleType,
    /// A field number changes between singular, repeated and map (or required).
    FieldWireJsonCompatibleCardinality,
    /// A field moves into, out of or between oneofs.
    FieldSameOneof,
    /// A field's default value (proto2) changes.
    FieldSameDefault,
    /// A message gains or loses required fields (proto2).
    MessageSameRequiredFields,
    /// Reserved numbers or names of a message are removed.
    ReservedMessageNoDelete,
    /// An enum value is removed without reserving its number.
    EnumValueNoDeleteUnlessNumberReserved,
    /// An enum value is removed without reserving its name.
    EnumValueNoDeleteUnlessNameReserved,
    /// An enum number gets another name.
    EnumValueSameName,
    /// Reserved numbers or names of an enum are removed.
    ReservedEnumNoDelete,
    /// A file's package changes.
    FileSamePackage,
}

/// What a rule's finding does to a running system.
const PAYLOADS: &str = "stored state, journaled call parameters and results (journal replay), \
queued sends and callers in other languages (ProtoJSON, the default codec, carries names)";
const TARGETS: &str = "in-flight and queued invocations, journaled calls (journal replay) and \
callers in other languages";

impl Rule {
    /// Every rule.
    pub const ALL: &'static [Rule] = &[
        Rule::RestateServiceNoDelete,
        Rule::RestateServiceSameType,
        Rule::RestateServiceSameCodec,
        Rule::RestateSameName,
        Rule::RestateHandlerNoDelete,
        Rule::RestateHandlerSameType,
        Rule::RestateHandlerSameKeyField,
        Rule::RestateHandlerSameRaw,
        Rule::RpcSameRequestType,
        Rule::RpcSameResponseType,
        Rule::RpcSameIdempotencyLevel,
        Rule::FieldNoDeleteUnlessNumberReserved,
        Rule::FieldNoDeleteUnlessNameReserved,
        Rule::FieldSameName,
        Rule::FieldSameJsonName,
        Rule::FieldWireJsonCompatibleType,
        Rule::FieldWireJsonCompatibleCardinality,
        Rule::FieldSameOneof,
        Rule::FieldSameDefault,
        Rule::MessageSameRequiredFields,
        Rule::ReservedMessageNoDelete,
        Rule::EnumValueNoDeleteUnlessNumberReserved,
        Rule::EnumValueNoDeleteUnlessNameReserved,
        Rule::EnumValueSameName,
        Rule::ReservedEnumNoDelete,
        Rule::FileSamePackage,
    ];

    /// The rule's id, e.g. `FIELD_SAME_JSON_NAME`.
    pub fn id(self) -> &'static str {
        match self {
            Rule::RestateServiceNoDelete => "RESTATE_SERVICE_NO_DELETE",
            Rule::RestateServiceSameType => "RESTATE_SERVICE_SAME_TYPE",
            Rule::RestateServiceSameCodec => "RESTATE_SERVICE_SAME_CODEC",
            Rule::RestateSameName => "RESTATE_SAME_NAME",
            Rule::RestateHandlerNoDelete => "RESTATE_HANDLER_NO_DELETE",
            Rule::RestateHandlerSameType => "RESTATE_HANDLER_SAME_TYPE",
            Rule::RestateHandlerSameKeyField => "RESTATE_HANDLER_SAME_KEY_FIELD",
            Rule::RestateHandlerSameRaw => "RESTATE_HANDLER_SAME_RAW",
            Rule::RpcSameRequestType => "RPC_SAME_REQUEST_TYPE",
            Rule::RpcSameResponseType => "RPC_SAME_RESPONSE_TYPE",
            Rule::RpcSameIdempotencyLevel => "RPC_SAME_IDEMPOTENCY_LEVEL",
            Rule::FieldNoDeleteUnlessNumberReserved => "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            Rule::FieldNoDeleteUnlessNameReserved => "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
            Rule::FieldSameName => "FIELD_SAME_NAME",
            Rule::FieldSameJsonName => "FIELD_SAME_JSON_NAME",
            Rule::FieldWireJsonCompatibleType => "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
            Rule::FieldWireJsonCompatibleCardinality => "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
            Rule::FieldSameOneof => "FIELD_SAME_ONEOF",
            Rule::FieldSameDefault => "FIELD_SAME_DEFAULT",
            Rule::MessageSameRequiredFields => "MESSAGE_SAME_REQUIRED_FIELDS",
            Rule::ReservedMessageNoDelete => "RESERVED_MESSAGE_NO_DELETE",
            Rule::EnumValueNoDeleteUnlessNumberReserved => {
                "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED"
            }
            Rule::EnumValueNoDeleteUnlessNameReserved => {
                "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED"
            }
            Rule::EnumValueSameName => "ENUM_VALUE_SAME_NAME",
            Rule::ReservedEnumNoDelete => "RESERVED_ENUM_NO_DELETE",
            Rule::FileSamePackage => "FILE_SAME_PACKAGE",
        }
    }

    /// What a change this rule finds breaks.
    pub fn breaks(self) -> &'static str {
        match self {
            Rule::RestateServiceNoDelete => {
                "in-flight and queued invocations, journaled calls (journal replay), callers in \
                 other languages, and the stored state of an object or workflow"
            }
            Rule::RestateServiceSameType => {
                "stored state, how every caller addresses the service (keys), in-flight and \
                 queued invocations"
            }
            Rule::RestateServiceSameCodec | Rule::RestateHandlerSameRaw => {
                "every payload in flight: journaled call parameters and results, queued sends, \
                 stored state, callers in other languages"
            }
            Rule::RestateSameName => {
                "every caller of the old name: in-flight and queued invocations, journaled calls \
                 (journal replay), callers in other languages, and the stored state of an object \
                 or workflow (kept under the old name)"
            }
            Rule::RestateHandlerNoDelete
            | Rule::RpcSameRequestType
            | Rule::RpcSameResponseType
            | Rule::FileSamePackage => TARGETS,
            Rule::RestateHandlerSameType => {
                "in-flight and queued invocations (a shared handler may not write state and runs \
                 beside exclusive ones; a workflow's run runs once)"
            }
            Rule::RestateHandlerSameKeyField => {
                "gRPC callers: the same request reaches another object or workflow"
            }
            Rule::RpcSameIdempotencyLevel => "callers in other languages whose clients retry by it",
            Rule::ReservedMessageNoDelete | Rule::ReservedEnumNoDelete => {
                "the guard against reusing a retired number or name, and so later stored state, \
                 journaled payloads and callers"
            }
            _ => PAYLOADS,
        }
    }

    /// Whether buf's `WIRE_JSON` category has the rule.
    pub fn is_bufs(self) -> bool {
        !self.id().starts_with("RESTATE_")
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Rule {
    type Err = String;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .iter()
            .copied()
            .find(|rule| rule.id() == id)
            .ok_or_else(|| format!("no contract rule `{id}`"))
    }
}

/// What a finding of a rule does to the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    /// The build fails (the default for every rule).
    #[default]
    Error,
    /// The build prints a warning and goes on.
    Warning,
    /// The rule is not checked.
    Off,
}
