//! Restate settings of services and handlers: `(restate.service_config)` and
//! `(restate.handler_config)`, read from the descriptors and checked against the kind of service
//! and handler they are on.

use std::borrow::Cow;
use std::time::Duration;

use prost_reflect::{DescriptorPool, DynamicMessage, ExtensionDescriptor, MapKey, Value};

use restate_model::{OnMaxAttempts, Place, RetryPolicy, Settings};

use super::{HandlerType, ServiceType};

/// The extension holding a service's settings.
const SERVICE_CONFIG: &str = "restate.service_config";
/// The extension holding a handler's settings.
const HANDLER_CONFIG: &str = "restate.handler_config";

/// The settings extensions the descriptor pool declares (absent when never imported).
pub(super) struct ConfigExtensions {
    service: Option<ExtensionDescriptor>,
    handler: Option<ExtensionDescriptor>,
}

impl ConfigExtensions {
    pub(super) fn new(pool: &DescriptorPool) -> Self {
        Self {
            service: pool.get_extension_by_name(SERVICE_CONFIG),
            handler: pool.get_extension_by_name(HANDLER_CONFIG),
        }
    }

    /// The settings annotated on a service, checked against its type.
    pub(super) fn service(
        &self,
        options: &DynamicMessage,
        ty: ServiceType,
    ) -> Result<Settings, Vec<String>> {
        read(options, self.service.as_ref()).checked(Place::Service(ty))
    }

    /// The settings annotated on an rpc, checked against its service and handler type.
    pub(super) fn handler(
        &self,
        options: &DynamicMessage,
        service: ServiceType,
        handler: Option<HandlerType>,
    ) -> Result<Settings, Vec<String>> {
        read(options, self.handler.as_ref()).checked(Place::Handler { service, handler })
    }
}

/// Settings as written: the values that could be read, and the problems of those that could
/// not.
#[derive(Default)]
struct Written {
    settings: Settings,
    problems: Vec<String>,
}

impl Written {
    /// The settings, or every problem found reading them and by the rules of `place`.
    fn checked(mut self, place: Place) -> Result<Settings, Vec<String>> {
        let rules = self.settings.check(place);
        self.problems.extend(rules.iter().map(ToString::to_string));
        if self.problems.is_empty() {
            Ok(self.settings)
        } else {
            Err(self.problems)
        }
    }
}

/// Reads the `Config` message of `extension` from `options`.
fn read(options: &DynamicMessage, extension: Option<&ExtensionDescriptor>) -> Written {
    let Some(extension) = extension.filter(|e| options.has_extension(e)) else {
        return Written::default();
    };
    let Value::Message(message) = options.get_extension(extension).into_owned() else {
        return Written::default();
    };
    let mut problems = Vec::new();
    let mut duration = |field: &str| match string(&message, field) {
        None => None,
        Some(text) => match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                problems.push(format!("{field}: {problem}"));
                // Written, so still checked for where it may go; never used, as the problem
                // fails the build.
                Some(Duration::ZERO)
            }
        },
    };
    let mut settings = Settings {
        inactivity_timeout: duration("inactivity_timeout"),
        abort_timeout: duration("abort_timeout"),
        idempotency_retention: duration("idempotency_retention"),
        journal_retention: duration("journal_retention"),
        workflow_completion_retention: duration("workflow_completion_retention"),
        ingress_private: boolean(&message, "ingress_private"),
        enable_lazy_state: boolean(&message, "enable_lazy_state"),
        retry_policy: RetryPolicy::NONE,
        metadata: metadata(&message).into(),
    };
    if message.has_field_by_name("retry_policy") {
        if let Some(Value::Message(policy)) = message
            .get_field_by_name("retry_policy")
            .map(|v| v.into_owned())
        {
            // What could be read, so that the rules still check it.
            let (policy, mut more) = retry_policy(&policy);
            settings.retry_policy = policy;
            problems.append(&mut more);
        }
    }
    Written { settings, problems }
}

/// The retry policy's fields that could be read, and the problems of those that could not.
fn retry_policy(message: &DynamicMessage) -> (RetryPolicy, Vec<String>) {
    let mut problems = Vec::new();
    let mut duration = |field: &str| match string(message, field) {
        None => None,
        Some(text) => match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                problems.push(format!("retry_policy.{field}: {problem}"));
                None
            }
        },
    };
    let initial_interval = duration("initial_interval");
    let max_interval = duration("max_interval");
    let factor = message
        .has_field_by_name("factor")
        .then(|| message.get_field_by_name("factor").and_then(|v| v.as_f64()))
        .flatten();
    let max_attempts = message
        .has_field_by_name("max_attempts")
        .then(|| {
            message
                .get_field_by_name("max_attempts")
                .and_then(|v| v.as_u32())
        })
        .flatten();
    let on_max_attempts = match message
        .get_field_by_name("on_max_attempts")
        .and_then(|v| v.as_enum_number())
    {
        None | Some(0) => None,
        Some(1) => Some(OnMaxAttempts::Pause),
        Some(2) => Some(OnMaxAttempts::Kill),
        Some(other) => {
            problems.push(format!(
                "retry_policy.on_max_attempts: unknown value {other}"
            ));
            None
        }
    };
    let policy = RetryPolicy {
        initial_interval,
        max_interval,
        factor,
        max_attempts,
        on_max_attempts,
    };
    (policy, problems)
}

/// A non-empty string field.
fn string(message: &DynamicMessage, field: &str) -> Option<String> {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
}

/// An `optional bool` field, if present.
fn boolean(message: &DynamicMessage, field: &str) -> Option<bool> {
    message
        .has_field_by_name(field)
        .then(|| message.get_field_by_name(field).and_then(|v| v.as_bool()))
        .flatten()
}

/// The `metadata` map, sorted by key.
fn metadata(message: &DynamicMessage) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    let Some(value) = message.get_field_by_name("metadata") else {
        return Vec::new();
    };
    let Some(map) = value.as_map() else {
        return Vec::new();
    };
    let mut entries: Vec<(Cow<'static, str>, Cow<'static, str>)> = map
        .iter()
        .filter_map(|(key, value)| match (key, value.as_str()) {
            (MapKey::String(key), Some(value)) => {
                Some((key.clone().into(), value.to_owned().into()))
            }
            _ => None,
        })
        .collect();
    entries.sort();
    entries
}

/// Parses a duration like "30s", "5m", "1h 30m" or "500ms"; negative durations are errors.
fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err(format!("negative duration \"{text}\""));
    }
    humantime::parse_duration(text).map_err(|e| format!("invalid duration \"{text}\": {e}"))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_are_human_readable_and_never_negative() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("-5s").unwrap_err().contains("negative"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("invalid duration")
        );
    }
}
