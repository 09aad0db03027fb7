//! Name clashes in the generated Rust: rpcs that map to one method name, and service items that
//! collide with each other or with the messages of their package.

use std::collections::{HashMap, HashSet};

use prost_reflect::DescriptorPool;

use super::handlers::Violation;
use super::{Diagnostic, Method, Service, ServiceType};
use crate::naming::{self, ServiceItems};

/// The methods every generated client has, with what they are; no rpc may take their names.
const CLIENT_METHODS: &[(&str, &str)] = &[("new", "the constructor")];

/// The methods generated workflow clients have besides.
const WORKFLOW_CLIENT_METHODS: &[(&str, &str)] = &[("handle", "the workflow handle accessor")];

/// Rpcs of one service whose Rust method names collide, with each other or with a method the
/// generated client has anyway.
pub(super) fn method_names(ty: ServiceType, methods: &[Method]) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    let reserved = CLIENT_METHODS.iter().chain(match ty {
        ServiceType::Workflow => WORKFLOW_CLIENT_METHODS,
        _ => &[],
    });
    let reserved: Vec<_> = reserved.collect();
    for method in methods {
        if let Some((name, what)) = reserved.iter().find(|(name, _)| *name == method.rust_name) {
            violations.push((
                Some(method.name.clone()),
                format!(
                    "the Rust method `{name}` would clash with {what} of the generated client; \
                     rename the rpc"
                ),
            ));
        }
        if let Some(first) = seen.insert(&method.rust_name, &method.name) {
            violations.push((
                Some(method.name.clone()),
                format!(
                    "rpcs {first} and {} both become the Rust method `{}`; rename one",
                    method.name, method.rust_name
                ),
            ));
        }
    }
    violations
}

/// Services whose generated items (`Greeter`, `GreeterServer`, `GreeterClient`,
/// `GreeterIngressClient`, `GREETER_DEFINITION`) collide with a message or enum of their package, or with the items
/// of another service of the package.
pub(super) fn item_names(pool: &DescriptorPool, services: &[Service]) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    let mut taken: HashMap<(&str, String), String> = HashMap::new();
    let mut loaded: HashSet<&str> = HashSet::new();
    for service in services {
        let package = service.package.as_str();
        if loaded.insert(package) {
            for (name, what) in package_types(pool, package) {
                taken.insert((package, name), what);
            }
        }
        let items = ServiceItems::new(&service.rust_name);
        let names = items
            .type_names()
            .into_iter()
            .chain([items.definition.as_str()]);
        for name in names {
            let owner = format!("an item generated for service {}", service.full_name);
            if let Some(other) = taken.insert((package, name.to_owned()), owner) {
                diagnostics.push(Diagnostic::new(
                    &service.proto_file,
                    &service.full_name,
                    None,
                    format!("the generated Rust item `{name}` would clash with {other}"),
                ));
            }
        }
    }
    diagnostics
}

/// Messages with two fields (or oneofs) that prost gives one Rust name, like `self` and `Self`
/// (both `self_`): their struct would not compile. Well-known types and the shipped annotation
/// protos are left out.
pub(super) fn field_names(pool: &DescriptorPool) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for file in pool.files() {
        if file.package_name() == "google.protobuf"
            || crate::annotations::is_annotation_file(file.name())
        {
            continue;
        }
        let mut pending: Vec<prost_reflect::MessageDescriptor> = file.messages().collect();
        while let Some(message) = pending.pop() {
            pending.extend(message.child_messages());
            if message.is_map_entry() {
                continue;
            }
            let mut seen: HashMap<String, String> = HashMap::new();
            let fields = message
                .fields()
                .filter(|field| field.containing_oneof().is_none_or(|o| o.is_synthetic()))
                .map(|field| field.name().to_owned());
            let oneofs = message
                .oneofs()
                .filter(|oneof| !oneof.is_synthetic())
                .map(|oneof| oneof.name().to_owned());
            for name in fields.chain(oneofs) {
                let rust = naming::prost_field_name(&name);
                if let Some(first) = seen.insert(rust.clone(), name.clone()) {
                    diagnostics.push(Diagnostic::of_message(
                        file.name(),
                        message.full_name(),
                        format!(
                            "fields `{first}` and `{name}` both become the Rust field `{rust}`; \
                             rename one"
                        ),
                    ));
                }
            }
        }
    }
    diagnostics
}

/// The Rust names prost gives the top-level messages and enums of `package`, with a description
/// of each.
fn package_types(pool: &DescriptorPool, package: &str) -> Vec<(String, String)> {
    let files = pool.files().filter(|file| file.package_name() == package);
    let mut types = Vec::new();
    for file in files {
        for message in file.messages() {
            types.push((
                naming::prost_type_name(message.name()),
                format!("message {}", message.full_name()),
            ));
        }
        for enumeration in file.enums() {
            types.push((
                naming::prost_type_name(enumeration.name()),
                format!("enum {}", enumeration.full_name()),
            ));
        }
    }
    types
}
