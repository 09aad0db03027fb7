//! Settings given when a service is bound, replacing those its proto declares: the same binary
//! can run with other timeouts, retention or retries in each environment.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::codegen::{HandlerType, OnMaxAttempts, ServiceDefinition, ServiceType};

/// Settings of one service or handler; `None` keeps what the proto says.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Settings {
    pub(crate) inactivity_timeout: Option<Duration>,
    pub(crate) abort_timeout: Option<Duration>,
    pub(crate) idempotency_retention: Option<Duration>,
    pub(crate) journal_retention: Option<Duration>,
    pub(crate) workflow_completion_retention: Option<Duration>,
    pub(crate) ingress_private: Option<bool>,
    pub(crate) enable_lazy_state: Option<bool>,
    pub(crate) retry_initial_interval: Option<Duration>,
    pub(crate) retry_max_interval: Option<Duration>,
    pub(crate) retry_exponentiation_factor: Option<f64>,
    pub(crate) retry_max_attempts: Option<u32>,
    pub(crate) retry_on_max_attempts: Option<OnMaxAttempts>,
    /// Added to the proto's metadata; a key given in both takes this value.
    pub(crate) metadata: BTreeMap<String, String>,
}

/// The setters both option types share, documented once.
macro_rules! setters {
    () => {
        /// How long an invocation may wait without progress before Restate suspends it.
        pub fn inactivity_timeout(mut self, timeout: Duration) -> Self {
            self.settings.inactivity_timeout = Some(timeout);
            self
        }

        /// How long a suspending invocation gets before Restate aborts it.
        pub fn abort_timeout(mut self, timeout: Duration) -> Self {
            self.settings.abort_timeout = Some(timeout);
            self
        }

        /// How long results of completed invocations are kept for idempotency keys (not on a
        /// workflow's run handler).
        pub fn idempotency_retention(mut self, retention: Duration) -> Self {
            self.settings.idempotency_retention = Some(retention);
            self
        }

        /// How long journals of completed invocations are kept.
        pub fn journal_retention(mut self, retention: Duration) -> Self {
            self.settings.journal_retention = Some(retention);
            self
        }

        /// How long a completed workflow's result, state and promises are kept (workflows
        /// only; on a service, it applies to its run handler).
        pub fn workflow_completion_retention(mut self, retention: Duration) -> Self {
            self.settings.workflow_completion_retention = Some(retention);
            self
        }

        /// Whether the ingress refuses to invoke it (other services still can).
        pub fn ingress_private(mut self, private: bool) -> Self {
            self.settings.ingress_private = Some(private);
            self
        }

        /// Whether state is fetched on demand instead of sent with each invocation (objects
        /// and workflows only).
        pub fn enable_lazy_state(mut self, lazy: bool) -> Self {
            self.settings.enable_lazy_state = Some(lazy);
            self
        }

        /// The wait before the first retry of a failed attempt.
        pub fn retry_initial_interval(mut self, interval: Duration) -> Self {
            self.settings.retry_initial_interval = Some(interval);
            self
        }

        /// The longest wait between retries.
        pub fn retry_max_interval(mut self, interval: Duration) -> Self {
            self.settings.retry_max_interval = Some(interval);
            self
        }

        /// The factor the wait grows by after each retry: a finite number of at least 1.
        pub fn retry_exponentiation_factor(mut self, factor: f64) -> Self {
            self.settings.retry_exponentiation_factor = Some(factor);
            self
        }

        /// The most attempts, the first included.
        pub fn retry_max_attempts(mut self, attempts: u32) -> Self {
            self.settings.retry_max_attempts = Some(attempts);
            self
        }

        /// What Restate does once the attempts are used up.
        pub fn retry_on_max_attempts(mut self, on_max_attempts: OnMaxAttempts) -> Self {
            self.settings.retry_on_max_attempts = Some(on_max_attempts);
            self
        }

        /// Adds a metadata entry, shown by the admin API; it replaces one of the same key
        /// from the proto.
        pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.settings.metadata.insert(key.into(), value.into());
            self
        }
    };
}

/// Settings of a service given at bind time ([`EndpointBuilder::bind_with_options`]), replacing
/// those of `(restate.service_config)` and `(restate.handler_config)`; what is not set here
/// keeps the proto's value. Restate learns them at discovery, when the endpoint is registered.
///
/// ```
/// use std::time::Duration;
/// use restate_runtime::{HandlerOptions, OnMaxAttempts, ServiceOptions};
///
/// let options = ServiceOptions::new()
///     .journal_retention(Duration::from_secs(24 * 3600))
///     .retry_max_attempts(10)
///     .retry_on_max_attempts(OnMaxAttempts::Pause)
///     .metadata("environment", "staging")
///     .handler("Get", HandlerOptions::new().ingress_private(true));
/// # let _ = options;
/// ```
///
/// [`EndpointBuilder::bind_with_options`]: crate::EndpointBuilder::bind_with_options
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceOptions {
    pub(crate) settings: Settings,
    pub(crate) handlers: BTreeMap<String, HandlerOptions>,
}

impl ServiceOptions {
    /// Nothing replaced.
    pub fn new() -> Self {
        Self::default()
    }

    setters!();

    /// Settings of the handler `name` (the rpc name as written in the proto). Given twice for
    /// one handler, the second replaces the first.
    pub fn handler(mut self, name: impl Into<String>, options: HandlerOptions) -> Self {
        self.handlers.insert(name.into(), options);
        self
    }

    /// Checks the settings against the service they are for, as the generator checks those of
    /// the proto; the problems, each naming the service or handler.
    pub(crate) fn problems(&self, service: &ServiceDefinition) -> Vec<String> {
        let mut problems = Vec::new();
        let name = service.name;
        let settings = &self.settings;
        if settings.workflow_completion_retention.is_some() && service.ty != ServiceType::Workflow {
            problems.push(format!(
                "{name}: workflow_completion_retention is only allowed on workflows"
            ));
        }
        if settings.enable_lazy_state.is_some() && service.ty == ServiceType::Service {
            problems.push(format!(
                "{name}: enable_lazy_state is only allowed on virtual objects and workflows"
            ));
        }
        problems.extend(factor_problem(settings, name));
        for (handler_name, options) in &self.handlers {
            let Some(handler) = service.handler(handler_name) else {
                problems.push(format!("{name} has no handler {handler_name}"));
                continue;
            };
            let at = format!("{name}/{handler_name}");
            let settings = &options.settings;
            let is_run = handler.ty == Some(HandlerType::WorkflowRun);
            if settings.workflow_completion_retention.is_some() && !is_run {
                problems.push(format!(
                    "{at}: workflow_completion_retention is only allowed on a workflow's run \
                     handler"
                ));
            }
            if settings.idempotency_retention.is_some() && is_run {
                problems.push(format!(
                    "{at}: idempotency_retention is not allowed on a workflow's run handler; \
                     use workflow_completion_retention"
                ));
            }
            if settings.enable_lazy_state.is_some() && service.ty == ServiceType::Service {
                problems.push(format!(
                    "{at}: enable_lazy_state is only allowed on virtual objects and workflows"
                ));
            }
            problems.extend(factor_problem(settings, &at));
        }
        problems
    }
}

fn factor_problem(settings: &Settings, at: &str) -> Option<String> {
    let factor = settings.retry_exponentiation_factor?;
    (!(factor.is_finite() && factor >= 1.0)).then(|| {
        format!("{at}: retry_exponentiation_factor {factor} is not a number of at least 1")
    })
}

/// Settings of one handler given at bind time, inside [`ServiceOptions::handler`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HandlerOptions {
    pub(crate) settings: Settings,
}

impl HandlerOptions {
    /// Nothing replaced.
    pub fn new() -> Self {
        Self::default()
    }

    setters!();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Codec;
    use crate::codegen::{Config, HandlerDefinition};

    static HANDLERS: [HandlerDefinition; 2] = [
        HandlerDefinition::new("Run").with_type(HandlerType::WorkflowRun),
        HandlerDefinition::new("Get").with_type(HandlerType::Shared),
    ];

    fn definition(ty: ServiceType) -> ServiceDefinition {
        ServiceDefinition {
            name: "test.Flow",
            ty,
            codec: Codec::Json,
            documentation: None,
            handlers: &HANDLERS,
            config: Config::NONE,
        }
    }

    #[test]
    fn settings_in_their_place_pass() {
        let options = ServiceOptions::new()
            .workflow_completion_retention(Duration::from_secs(60))
            .enable_lazy_state(true)
            .retry_exponentiation_factor(1.0)
            .handler(
                "Run",
                HandlerOptions::new().workflow_completion_retention(Duration::from_secs(1)),
            )
            .handler(
                "Get",
                HandlerOptions::new().idempotency_retention(Duration::from_secs(1)),
            );
        assert_eq!(
            options.problems(&definition(ServiceType::Workflow)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn misplaced_settings_are_named() {
        let options = ServiceOptions::new()
            .workflow_completion_retention(Duration::from_secs(60))
            .enable_lazy_state(true)
            .retry_exponentiation_factor(0.5)
            .handler(
                "Get",
                HandlerOptions::new().workflow_completion_retention(Duration::from_secs(1)),
            )
            .handler(
                "Run",
                HandlerOptions::new()
                    .idempotency_retention(Duration::from_secs(1))
                    .retry_exponentiation_factor(f64::NAN),
            )
            .handler("Nope", HandlerOptions::new());
        assert_eq!(
            options.problems(&definition(ServiceType::Service)),
            [
                "test.Flow: workflow_completion_retention is only allowed on workflows",
                "test.Flow: enable_lazy_state is only allowed on virtual objects and workflows",
                "test.Flow: retry_exponentiation_factor 0.5 is not a number of at least 1",
                "test.Flow/Get: workflow_completion_retention is only allowed on a workflow's run handler",
                "test.Flow has no handler Nope",
                "test.Flow/Run: idempotency_retention is not allowed on a workflow's run handler; use workflow_completion_retention",
                "test.Flow/Run: retry_exponentiation_factor NaN is not a number of at least 1",
            ]
        );
    }
}
