//! The names Restate knows services and handlers by: `(restate.service_name)` and
//! `(restate.handler_name)`, the build's short names, and the checks that they are usable and
//! distinct.

use std::collections::HashMap;

use super::{Diagnostic, Error, Service};

/// Applies short names (the proto's service name without its package) to the services without
/// a `(restate.service_name)` when `short` is set, then checks every Restate name: usable in an
/// ingress path, not reserved by Restate, and one service (or one handler of a service) per
/// name. Every problem is reported.
pub(crate) fn resolve_names(services: &mut [Service], short: bool) -> Result<(), Error> {
    if short {
        for service in services.iter_mut().filter(|s| !s.restate_name_annotated) {
            let short_name = service
                .full_name
                .rsplit('.')
                .next()
                .unwrap_or(&service.full_name);
            service.restate_name = short_name.to_owned();
        }
    }
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, &Service> = HashMap::new();
    for service in services.iter() {
        let problem = |method: Option<&str>, message: String| {
            Diagnostic::new(&service.proto_file, &service.full_name, method, message)
        };
        if let Some(message) = unusable(&service.restate_name, "service") {
            problems.push(problem(None, message));
        }
        if let Some(first) = seen.insert(&service.restate_name, service) {
            problems.push(problem(
                None,
                format!(
                    "the Restate name \"{}\" is also the name of service {} ({}); give one of \
                     them another (restate.service_name)",
                    service.restate_name, first.full_name, first.proto_file
                ),
            ));
        }
        let mut handlers: HashMap<&str, &str> = HashMap::new();
        for method in &service.methods {
            if let Some(message) = unusable(&method.restate_name, "handler") {
                problems.push(problem(Some(&method.name), message));
            }
            if let Some(first) = handlers.insert(&method.restate_name, &method.name) {
                problems.push(problem(
                    Some(&method.name),
                    format!(
                        "the Restate handler name \"{}\" is also the name of rpc {first}; give \
                         one of them another (restate.handler_name)",
                        method.restate_name
                    ),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(problems))
    }
}

/// Why `name` cannot name a Restate service or handler (`what`), if it cannot.
fn unusable(name: &str, what: &str) -> Option<String> {
    if name.is_empty() {
        return Some(format!("the Restate {what} name is empty"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return Some(format!(
            "the Restate {what} name \"{name}\" must start with a letter, a digit or '_'"
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
    {
        return Some(format!(
            "the Restate {what} name \"{name}\" has the character {c:?}; use letters, digits, \
             '_', '.' and '-'"
        ));
    }
    let lower = name.to_ascii_lowercase();
    if what == "service" && (lower.starts_with("restate") || lower == "openapi") {
        return Some(format!(
            "the Restate service name \"{name}\" is reserved by Restate (names starting with \
             \"restate\", and \"openapi\")"
        ));
    }
    None
}
