//! Comparing two contracts: each change that breaks something, as a finding of a rule.

use std::collections::BTreeSet;
use std::fmt;

use super::rules::Rule;
use super::snapshot::{Contract, EnumEntry, FieldEntry, HandlerEntry, MessageEntry, ServiceEntry};

/// One breaking change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule it breaks.
    pub rule: Rule,
    /// The proto file, as protoc names it (the one of the earlier contract for what is gone).
    pub file: String,
    /// What changed: a service (`helloworld.Greeter`), a handler (`helloworld.Greeter/SayHello`),
    /// a message or enum, a field (`helloworld.HelloRequest.name`) or an enum value
    /// (`shop.Color.RED`). [`Builder::accept_change`](crate::Builder::accept_change) names it
    /// to accept the change on purpose.
    pub subject: String,
    /// The change, in words.
    pub change: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} [{}]; breaks {}",
            self.file,
            self.subject,
            self.change,
            self.rule,
            self.rule.breaks()
        )
    }
}

/// The changes from `old` to `new` that break what was built on `old`, in a stable order.
pub fn breaking_changes(old: &Contract, new: &Contract) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut add = |rule: Rule, file: &str, subject: String, change: String| {
        findings.push(Finding {
            rule,
            file: file.to_owned(),
            subject,
            change,
        });
    };

    for (name, old_file) in &old.files {
        if let Some(new_file) = new.files.get(name) {
            if new_file.package != old_file.package {
                add(
                    Rule::FileSamePackage,
                    name,
                    name.clone(),
                    format!(
                        "package changed from `{}` to `{}`",
                        old_file.package, new_file.package
                    ),
                );
            }
        }
    }

    for (name, old_service) in &old.services {
        let file = old_service.file.as_str();
        let Some(new_service) = new.services.get(name) else {
            add(
                Rule::RestateServiceNoDelete,
                file,
                name.clone(),
                "service removed or renamed".to_owned(),
            );
            continue;
        };
        if new_service.ty != old_service.ty {
            add(
                Rule::RestateServiceSameType,
                file,
                name.clone(),
                format!(
                    "service type changed from {} to {}",
                    old_service.ty, new_service.ty
                ),
            );
        }
        let restate_name = |entry: &ServiceEntry| named(&entry.restate_name, name).to_owned();
        if restate_name(new_service) != restate_name(old_service) {
            add(
                Rule::RestateSameName,
                file,
                name.clone(),
                format!(
                    "Restate name changed from {} to {}",
                    restate_name(old_service),
                    restate_name(new_service)
                ),
            );
        }
        if new_service.codec != old_service.codec {
            add(
                Rule::RestateServiceSameCodec,
                file,
                name.clone(),
                format!(
                    "codec changed from {} to {}",
                    old_service.codec, new_service.codec
                ),
            );
        }
        for (handler, old_handler) in &old_service.handlers {
            let subject = format!("{name}/{handler}");
            let Some(new_handler) = new_service.handlers.get(handler) else {
                add(
                    Rule::RestateHandlerNoDelete,
                    file,
                    subject,
                    "handler removed or renamed".to_owned(),
                );
                continue;
            };
            // A service that changed type has changed its handlers' types with it.
            if new_handler.ty != old_handler.ty && new_service.ty == old_service.ty {
                add(
                    Rule::RestateHandlerSameType,
                    file,
                    subject.clone(),
                    format!(
                        "handler type changed from {} to {}",
                        old_handler.ty.as_deref().unwrap_or("none"),
                        new_handler.ty.as_deref().unwrap_or("none")
                    ),
                );
            }
            if new_handler.key_field != old_handler.key_field {
                add(
                    Rule::RestateHandlerSameKeyField,
                    file,
                    subject.clone(),
                    format!(
                        "key field changed from {} to {}",
                        old_handler.key_field.as_deref().unwrap_or("none"),
                        new_handler.key_field.as_deref().unwrap_or("none")
                    ),
                );
            }
            if new_handler.input != old_handler.input {
                add(
                    Rule::RpcSameRequestType,
                    file,
                    subject.clone(),
                    format!(
                        "input type changed from {} to {}",
                        old_handler.input, new_handler.input
                    ),
                );
            }
            if new_handler.output != old_handler.output {
                add(
                    Rule::RpcSameResponseType,
                    file,
                    subject.clone(),
                    format!(
                        "output type changed from {} to {}",
                        old_handler.output, new_handler.output
                    ),
                );
            }
            let handler_name =
                |entry: &HandlerEntry| named(&entry.restate_name, handler).to_owned();
            if handler_name(new_handler) != handler_name(old_handler) {
                add(
                    Rule::RestateSameName,
                    file,
                    subject.clone(),
                    format!(
                        "Restate name changed from {} to {}",
                        handler_name(old_handler),
                        handler_name(new_handler)
                    ),
                );
            }
            if new_handler.raw != old_handler.raw {
                add(
                    Rule::RestateHandlerSameRaw,
                    file,
                    subject.clone(),
                    if new_handler.raw {
                        "payloads now pass through raw".to_owned()
                    } else {
                        "payloads no longer pass through raw".to_owned()
                    },
                );
            }
            if new_handler.idempotency_level != old_handler.idempotency_level {
                add(
                    Rule::RpcSameIdempotencyLevel,
                    file,
                    subject,
                    format!(
                        "idempotency_level changed from {} to {}",
                        level_or_default(&old_handler.idempotency_level),
                        level_or_default(&new_handler.idempotency_level)
                    ),
                );
            }
        }
    }

    for (name, old_message) in &old.messages {
        if let Some(new_message) = new.messages.get(name) {
            compare_messages(name, old_message, new_message, &mut add);
        }
    }
    for (name, old_enum) in &old.enums {
        if let Some(new_enum) = new.enums.get(name) {
            compare_enums(name, old_enum, new_enum, &mut add);
        }
    }
    findings
}

fn level_or_default(level: &str) -> &str {
    if level.is_empty() {
        "IDEMPOTENCY_UNKNOWN"
    } else {
        level
    }
}

fn compare_messages(
    name: &str,
    old: &MessageEntry,
    new: &MessageEntry,
    add: &mut impl FnMut(Rule, &str, String, String),
) {
    let file = new.file.as_str();
    for (number, old_field) in &old.fields {
        let subject = format!("{name}.{}", old_field.name);
        let Some(new_field) = new.fields.get(number) else {
            let number_reserved = new
                .reserved_numbers
                .iter()
                .any(|(start, end)| (start..=end).contains(&number));
            if !number_reserved {
                add(
                    Rule::FieldNoDeleteUnlessNumberReserved,
                    file,
                    subject.clone(),
                    format!("field {number} removed without `reserved {number};`"),
                );
            }
            if !new.reserved_names.contains(&old_field.name) {
                add(
                    Rule::FieldNoDeleteUnlessNameReserved,
                    file,
                    subject,
                    format!(
                        "field {number} removed without `reserved \"{}\";`",
                        old_field.name
                    ),
                );
            }
            continue;
        };
        compare_fields(*number, &subject, old_field, new_field, file, add);
    }
    let required = |message: &MessageEntry| -> BTreeSet<u32> {
        message
            .fields
            .iter()
            .filter(|(_, field)| field.cardinality == "required")
            .map(|(number, _)| *number)
            .collect()
    };
    if required(old) != required(new) {
        add(
            Rule::MessageSameRequiredFields,
            file,
            name.to_owned(),
            format!(
                "required fields changed from {:?} to {:?}",
                required(old),
                required(new)
            ),
        );
    }
    let lost_numbers = old
        .reserved_numbers
        .iter()
        .any(|range| !covered(*range, &new.reserved_numbers));
    let lost_names = old
        .reserved_names
        .iter()
        .any(|reserved| !new.reserved_names.contains(reserved));
    if lost_numbers || lost_names {
        add(
            Rule::ReservedMessageNoDelete,
            file,
            name.to_owned(),
            "reserved numbers or names removed".to_owned(),
        );
    }
}

fn compare_fields(
    number: u32,
    subject: &str,
    old: &FieldEntry,
    new: &FieldEntry,
    file: &str,
    add: &mut impl FnMut(Rule, &str, String, String),
) {
    if new.name != old.name {
        add(
            Rule::FieldSameName,
            file,
            subject.to_owned(),
            format!(
                "field {number} renamed from `{}` to `{}`",
                old.name, new.name
            ),
        );
    }
    if new.json_name != old.json_name {
        add(
            Rule::FieldSameJsonName,
            file,
            subject.to_owned(),
            format!(
                "field {number}'s JSON name changed from `{}` to `{}`",
                old.json_name, new.json_name
            ),
        );
    }
    // Messages and enums must stay the same type: buf flags a renamed one too. A map's key
    // follows the same groups as its value.
    let key_changed = match (&old.key, &new.key) {
        (Some(old_key), Some(new_key)) => type_group(old_key) != type_group(new_key),
        _ => false,
    };
    if type_group(&old.ty) != type_group(&new.ty) || old.type_name != new.type_name || key_changed {
        add(
            Rule::FieldWireJsonCompatibleType,
            file,
            subject.to_owned(),
            format!(
                "field {number}'s type changed from {} to {}",
                describe_type(old),
                describe_type(new)
            ),
        );
    }
    if cardinality_group(&old.cardinality) != cardinality_group(&new.cardinality) {
        add(
            Rule::FieldWireJsonCompatibleCardinality,
            file,
            subject.to_owned(),
            format!(
                "field {number} changed from {} to {}",
                old.cardinality, new.cardinality
            ),
        );
    }
    if new.oneof != old.oneof {
        add(
            Rule::FieldSameOneof,
            file,
            subject.to_owned(),
            format!(
                "field {number} moved from {} to {}",
                describe_oneof(old.oneof.as_deref()),
                describe_oneof(new.oneof.as_deref())
            ),
        );
    }
    if new.default != old.default {
        add(
            Rule::FieldSameDefault,
            file,
            subject.to_owned(),
            format!(
                "field {number}'s default changed from {} to {}",
                old.default.as_deref().unwrap_or("none"),
                new.default.as_deref().unwrap_or("none")
            ),
        );
    }
}

/// Kinds whose values read the same in binary Protobuf and ProtoJSON share a group (int32 and
/// uint32, int64 and uint64, fixed32 and sfixed32, fixed64 and sfixed64), as in buf's
/// `FIELD_WIRE_JSON_COMPATIBLE_TYPE`; every other kind is a group of its own.
fn type_group(ty: &str) -> &str {
    match ty {
        "int32" | "uint32" => "varint32",
        "int64" | "uint64" => "varint64",
        "fixed32" | "sfixed32" => "fixed32",
        "fixed64" | "sfixed64" => "fixed64",
        other => other,
    }
}

/// Singular fields with and without presence share a group; required, repeated and map are
/// groups of their own (repeated and map differ in ProtoJSON).
fn cardinality_group(cardinality: &str) -> &str {
    match cardinality {
        "implicit" | "explicit" => "singular",
        other => other,
    }
}

fn describe_type(field: &FieldEntry) -> String {
    let value = match &field.type_name {
        Some(name) => format!("{} {name}", field.ty),
        None => field.ty.clone(),
    };
    match &field.key {
        Some(key) => format!("map<{key}, {value}>"),
        None => value,
    }
}

fn describe_oneof(oneof: Option<&str>) -> String {
    oneof.map_or_else(|| "no oneof".to_owned(), |name| format!("oneof `{name}`"))
}

fn compare_enums(
    name: &str,
    old: &EnumEntry,
    new: &EnumEntry,
    add: &mut impl FnMut(Rule, &str, String, String),
) {
    let file = new.file.as_str();
    for (number, old_names) in &old.values {
        let Some(first) = old_names.first() else {
            continue;
        };
        let subject = format!("{name}.{first}");
        match new.values.get(number) {
            None => {
                let number_reserved = new
                    .reserved_numbers
                    .iter()
                    .any(|(start, end)| (start..=end).contains(&number));
                if !number_reserved {
                    add(
                        Rule::EnumValueNoDeleteUnlessNumberReserved,
                        file,
                        subject.clone(),
                        format!("enum value {number} removed without `reserved {number};`"),
                    );
                }
                let names_reserved = old_names
                    .iter()
                    .all(|old_name| new.reserved_names.contains(old_name));
                if !names_reserved {
                    add(
                        Rule::EnumValueNoDeleteUnlessNameReserved,
                        file,
                        subject,
                        format!("enum value {number} removed without `reserved \"{first}\";`"),
                    );
                }
            }
            // Aliases may be added; every old name must stay.
            Some(new_names) if !old_names.iter().all(|n| new_names.contains(n)) => add(
                Rule::EnumValueSameName,
                file,
                subject,
                format!(
                    "enum value {number} renamed from {} to {}",
                    old_names.join(", "),
                    new_names.join(", ")
                ),
            ),
            Some(_) => {}
        }
    }
    let lost_numbers = old
        .reserved_numbers
        .iter()
        .any(|range| !covered(*range, &new.reserved_numbers));
    let lost_names = old
        .reserved_names
        .iter()
        .any(|reserved| !new.reserved_names.contains(reserved));
    if lost_numbers || lost_names {
        add(
            Rule::ReservedEnumNoDelete,
            file,
            name.to_owned(),
            "reserved numbers or names removed".to_owned(),
        );
    }
}

/// Whether the inclusive range `wanted` lies within the union of the inclusive `ranges`.
fn covered<T: Copy + Ord + Into<i64>>(wanted: (T, T), ranges: &[(T, T)]) -> bool {
    let mut sorted: Vec<(i64, i64)> = ranges
        .iter()
        .map(|(s, e)| ((*s).into(), (*e).into()))
        .collect();
    sorted.sort_unstable();
    let (mut next, end): (i64, i64) = (wanted.0.into(), wanted.1.into());
    for (start, stop) in sorted {
        if start > next {
            break;
        }
        if stop >= next {
            next = stop + 1;
        }
        if next > end {
            return true;
        }
    }
    next > end
}

/// The name Restate knows a service or handler by: its own, or the proto's.
fn named<'a>(restate_name: &'a Option<String>, proto_name: &'a str) -> &'a str {
    restate_name.as_deref().unwrap_or(proto_name)
}

#[cfg(test)]
mod tests {
    use super::covered;

    #[test]
    fn a_range_is_covered_by_the_union_of_ranges() {
        assert!(covered((5u32, 9), &[(5, 6), (7, 9)]));
        assert!(covered((5u32, 9), &[(7, 12), (1, 6)]));
        assert!(!covered((5u32, 9), &[(5, 6), (8, 9)]));
        assert!(!covered((5u32, 9), &[]));
        assert!(covered((-3i32, -3), &[(-5, 0)]));
        // A range reaching the largest field number takes no time to check.
        assert!(covered((1u32, 536_870_911), &[(1, 536_870_911)]));
    }
}
