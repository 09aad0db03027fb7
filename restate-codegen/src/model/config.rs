//! Restate settings of services and handlers: `(restate.service_config)` and
//! `(restate.handler_config)`, read from the descriptors and checked against the kind of service
//! and handler they are on.

use std::time::Duration;

use prost_reflect::{DescriptorPool, DynamicMessage, ExtensionDescriptor, MapKey, Value};

use super::{HandlerType, ServiceType};

/// The extension holding a service's settings.
const SERVICE_CONFIG: &str = "restate.service_config";
/// The extension holding a handler's settings.
const HANDLER_CONFIG: &str = "restate.handler_config";

/// Settings of a service or handler; `None` keeps the server's default.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// How long an invocation may wait without progress before it is suspended.
    pub inactivity_timeout: Option<Duration>,
    /// How long a suspending invocation gets before it is aborted.
    pub abort_timeout: Option<Duration>,
    /// How long results of completed invocations are kept for idempotency keys.
    pub idempotency_retention: Option<Duration>,
    /// How long journals of completed invocations are kept.
    pub journal_retention: Option<Duration>,
    /// How long a completed workflow's result, state and promises are kept.
    pub workflow_completion_retention: Option<Duration>,
    /// Whether the ingress refuses to invoke it.
    pub ingress_private: Option<bool>,
    /// Whether state is fetched on demand.
    pub enable_lazy_state: Option<bool>,
    /// How failed attempts are retried.
    pub retry_policy: Option<RetryPolicy>,
    /// Custom metadata, sorted by key.
    pub metadata: Vec<(String, String)>,
}

/// How failed attempts are retried.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The wait before the first retry.
    pub initial_interval: Option<Duration>,
    /// The longest wait between retries.
    pub max_interval: Option<Duration>,
    /// What each wait is multiplied by.
    pub factor: Option<f64>,
    /// How many attempts to make.
    pub max_attempts: Option<u32>,
    /// What happens once the attempts are used up.
    pub on_max_attempts: Option<OnMaxAttempts>,
}

/// What Restate does once the attempts are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMaxAttempts {
    /// Pause the invocation.
    Pause,
    /// Kill the invocation.
    Kill,
}

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
    ) -> Result<Config, Vec<String>> {
        let written = read(options, self.service.as_ref());
        let mut problems = Vec::new();
        if written.has("workflow_completion_retention") && ty != ServiceType::Workflow {
            problems.push("workflow_completion_retention is only allowed on workflows".to_owned());
        }
        if written.has("enable_lazy_state") && ty == ServiceType::Service {
            problems.push(
                "enable_lazy_state is only allowed on virtual objects and workflows".to_owned(),
            );
        }
        written.checked(problems)
    }

    /// The settings annotated on an rpc, checked against its service and handler type.
    pub(super) fn handler(
        &self,
        options: &DynamicMessage,
        service: ServiceType,
        handler: Option<HandlerType>,
    ) -> Result<Config, Vec<String>> {
        let written = read(options, self.handler.as_ref());
        let is_run = handler == Some(HandlerType::WorkflowRun);
        let mut problems = Vec::new();
        if written.has("workflow_completion_retention") && !is_run {
            problems.push(
                "workflow_completion_retention is only allowed on a workflow's run handler"
                    .to_owned(),
            );
        }
        if written.has("idempotency_retention") && is_run {
            problems.push(
                "idempotency_retention is not allowed on a workflow's run handler; use \
                 workflow_completion_retention"
                    .to_owned(),
            );
        }
        if written.has("enable_lazy_state") && service == ServiceType::Service {
            problems.push(
                "enable_lazy_state is only allowed on virtual objects and workflows".to_owned(),
            );
        }
        written.checked(problems)
    }
}

/// Reads the `Config` message of `extension` from `options`.
/// Settings as written: the values that could be read, the problems of those that could not,
/// and which fields were written at all (for the checks of where a setting may go).
#[derive(Default)]
struct Written {
    config: Config,
    problems: Vec<String>,
    fields: Vec<String>,
}

impl Written {
    fn has(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }

    /// The settings, or every problem found in them and by `placement`.
    fn checked(mut self, placement: Vec<String>) -> Result<Config, Vec<String>> {
        self.problems.extend(placement);
        if self.problems.is_empty() {
            Ok(self.config)
        } else {
            Err(self.problems)
        }
    }
}

fn read(options: &DynamicMessage, extension: Option<&ExtensionDescriptor>) -> Written {
    let Some(extension) = extension.filter(|e| options.has_extension(e)) else {
        return Written::default();
    };
    let Value::Message(message) = options.get_extension(extension).into_owned() else {
        return Written::default();
    };
    let fields = message
        .fields()
        .map(|(field, _)| field.name().to_owned())
        .collect();
    let mut problems = Vec::new();
    let mut duration = |field: &str| match string(&message, field) {
        None => None,
        Some(text) => match parse_duration(&text) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                problems.push(format!("{field}: {problem}"));
                None
            }
        },
    };
    let mut config = Config {
        inactivity_timeout: duration("inactivity_timeout"),
        abort_timeout: duration("abort_timeout"),
        idempotency_retention: duration("idempotency_retention"),
        journal_retention: duration("journal_retention"),
        workflow_completion_retention: duration("workflow_completion_retention"),
        ingress_private: boolean(&message, "ingress_private"),
        enable_lazy_state: boolean(&message, "enable_lazy_state"),
        retry_policy: None,
        metadata: metadata(&message),
    };
    if message.has_field_by_name("retry_policy") {
        if let Some(Value::Message(policy)) = message
            .get_field_by_name("retry_policy")
            .map(|v| v.into_owned())
        {
            match retry_policy(&policy) {
                Ok(policy) => config.retry_policy = Some(policy),
                Err(mut more) => problems.append(&mut more),
            }
        }
    }
    Written {
        config,
        problems,
        fields,
    }
}

fn retry_policy(message: &DynamicMessage) -> Result<RetryPolicy, Vec<String>> {
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
    if let Some(factor) = factor.filter(|f| !(f.is_finite() && *f >= 1.0)) {
        problems.push(format!(
            "retry_policy.factor: {factor} is not a number of at least 1"
        ));
    }
    if let (Some(initial), Some(max)) = (initial_interval, max_interval) {
        if max < initial {
            problems.push(
                "retry_policy.max_interval is shorter than retry_policy.initial_interval"
                    .to_owned(),
            );
        }
    }
    let max_attempts = message
        .has_field_by_name("max_attempts")
        .then(|| {
            message
                .get_field_by_name("max_attempts")
                .and_then(|v| v.as_u32())
        })
        .flatten();
    if max_attempts == Some(0) {
        problems.push("retry_policy.max_attempts: at least one attempt is needed".to_owned());
    }
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
    if problems.is_empty() {
        Ok(RetryPolicy {
            initial_interval,
            max_interval,
            factor,
            max_attempts,
            on_max_attempts,
        })
    } else {
        Err(problems)
    }
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
fn metadata(message: &DynamicMessage) -> Vec<(String, String)> {
    let Some(value) = message.get_field_by_name("metadata") else {
        return Vec::new();
    };
    let Some(map) = value.as_map() else {
        return Vec::new();
    };
    let mut entries: Vec<(String, String)> = map
        .iter()
        .filter_map(|(key, value)| match (key, value.as_str()) {
            (MapKey::String(key), Some(value)) => Some((key.clone(), value.to_owned())),
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
