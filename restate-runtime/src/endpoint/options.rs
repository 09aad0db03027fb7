//! Settings given when a service is bound, replacing those its proto declares: the same binary
//! can run with other timeouts, retention or retries in each environment.

use std::collections::BTreeMap;
use std::time::Duration;

use restate_model::{Place, Settings};

use crate::codegen::{HandlerType, OnMaxAttempts, ServiceDefinition};

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
            self.settings.retry_policy.initial_interval = Some(interval);
            self
        }

        /// The longest wait between retries.
        pub fn retry_max_interval(mut self, interval: Duration) -> Self {
            self.settings.retry_policy.max_interval = Some(interval);
            self
        }

        /// The factor the wait grows by after each retry: a finite number of at least 1.
        pub fn retry_exponentiation_factor(mut self, factor: f64) -> Self {
            self.settings.retry_policy.factor = Some(factor);
            self
        }

        /// The most attempts, the first included: at least one.
        pub fn retry_max_attempts(mut self, attempts: u32) -> Self {
            self.settings.retry_policy.max_attempts = Some(attempts);
            self
        }

        /// What Restate does once the attempts are used up.
        pub fn retry_on_max_attempts(mut self, on_max_attempts: OnMaxAttempts) -> Self {
            self.settings.retry_policy.on_max_attempts = Some(on_max_attempts);
            self
        }

        /// Adds a metadata entry, shown by the admin API; it replaces one of the same key
        /// from the proto.
        pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.settings.set_metadata(key.into(), value.into());
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

    /// Checks the settings against the service they are for, with the rules the generator
    /// checks the proto's by; the problems, each naming the service or handler.
    pub(crate) fn problems(&self, service: &ServiceDefinition) -> Vec<String> {
        let name = service.name;
        let mut problems: Vec<String> = self
            .settings
            .check(Place::Service(service.ty))
            .iter()
            .map(|problem| format!("{name}: {problem}"))
            .collect();
        for (handler_name, options) in &self.handlers {
            let Some(handler) = service.handler(handler_name) else {
                problems.push(format!("{name} has no handler {handler_name}"));
                continue;
            };
            let place = Place::Handler {
                service: service.ty,
                handler: handler.ty,
            };
            problems.extend(
                options
                    .settings
                    .check(place)
                    .iter()
                    .map(|problem| format!("{name}/{handler_name}: {problem}")),
            );
        }
        problems
    }
}

/// The settings Restate learns for a bound service and each of its handlers: the proto's, with
/// the options given at bind time laid over them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ServiceSettings {
    /// The service's own.
    pub(crate) service: Settings,
    /// Each handler's, in the definition's order.
    pub(crate) handlers: Vec<Settings>,
}

impl ServiceSettings {
    /// What `definition` declares, with `options` over it. A service's option replaces the
    /// proto's value for the service and for each handler (the handler's declared value gives
    /// way, so the service's reaches it); a handler's option wins over everything. The
    /// manifest carries a workflow's completion retention on its run handler.
    pub(crate) fn resolve(
        definition: &ServiceDefinition,
        options: Option<&ServiceOptions>,
    ) -> Self {
        let mut service = definition.settings.clone();
        let handlers = definition
            .handlers
            .iter()
            .map(|handler| {
                let mut settings = handler.settings.clone();
                if let Some(options) = options {
                    settings.yield_to(&options.settings);
                    if handler.ty == Some(HandlerType::WorkflowRun) {
                        if let Some(retention) = options.settings.workflow_completion_retention {
                            settings.workflow_completion_retention = Some(retention);
                        }
                    }
                    if let Some(handler_options) = options.handlers.get(handler.name) {
                        settings.overlay(&handler_options.settings);
                    }
                }
                settings
            })
            .collect();
        if let Some(options) = options {
            service.overlay(&options.settings);
            service.workflow_completion_retention = None;
        }
        Self { service, handlers }
    }
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
    use crate::codegen::{HandlerDefinition, ServiceType};

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
            settings: Settings::NONE,
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
                "test.Flow: retry_policy.factor: 0.5 is not a number of at least 1",
                "test.Flow: workflow_completion_retention is only allowed on workflows",
                "test.Flow: enable_lazy_state is only allowed on virtual objects and workflows",
                "test.Flow/Get: workflow_completion_retention is only allowed on a workflow's run handler",
                "test.Flow has no handler Nope",
                "test.Flow/Run: retry_policy.factor: NaN is not a number of at least 1",
                "test.Flow/Run: idempotency_retention is not allowed on a workflow's run handler; use workflow_completion_retention",
            ]
        );
    }
}
