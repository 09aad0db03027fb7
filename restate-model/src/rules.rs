//! Where each setting may go, and which values make sense: the one place both the generator
//! (for the proto's settings) and the runtime (for options given at bind time) check them.

use std::fmt;

use crate::{HandlerType, ServiceType, Settings};

/// Where settings are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// On a service of this kind.
    Service(ServiceType),
    /// On a handler of a service of this kind; `handler` is `None` in plain services.
    Handler {
        /// The kind of the handler's service.
        service: ServiceType,
        /// The handler's kind.
        handler: Option<HandlerType>,
    },
}

/// A setting that is out of place or out of range. Its message names the setting as the proto
/// option does (`retry_policy.factor`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// `workflow_completion_retention` on a service that is not a workflow.
    CompletionRetentionOutsideWorkflow,
    /// `workflow_completion_retention` on a handler other than a workflow's run handler.
    CompletionRetentionOutsideRunHandler,
    /// `idempotency_retention` on a workflow's run handler.
    IdempotencyRetentionOnRunHandler,
    /// `enable_lazy_state` on a plain service or one of its handlers.
    LazyStateWithoutState,
    /// A retry factor that is not a finite number of at least 1.
    RetryFactor(f64),
    /// A longest wait between retries shorter than the first one.
    RetryMaxIntervalBelowInitial,
    /// A retry policy with no attempt at all.
    NoAttempts,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::CompletionRetentionOutsideWorkflow => {
                f.write_str("workflow_completion_retention is only allowed on workflows")
            }
            Problem::CompletionRetentionOutsideRunHandler => f.write_str(
                "workflow_completion_retention is only allowed on a workflow's run handler",
            ),
            Problem::IdempotencyRetentionOnRunHandler => f.write_str(
                "idempotency_retention is not allowed on a workflow's run handler; use \
                 workflow_completion_retention",
            ),
            Problem::LazyStateWithoutState => {
                f.write_str("enable_lazy_state is only allowed on virtual objects and workflows")
            }
            Problem::RetryFactor(factor) => write!(
                f,
                "retry_policy.factor: {factor} is not a number of at least 1"
            ),
            Problem::RetryMaxIntervalBelowInitial => f.write_str(
                "retry_policy.max_interval is shorter than retry_policy.initial_interval",
            ),
            Problem::NoAttempts => {
                f.write_str("retry_policy.max_attempts: at least one attempt is needed")
            }
        }
    }
}

impl std::error::Error for Problem {}

impl Settings {
    /// The problems of these settings given at `place`: values first, then placement.
    pub fn check(&self, place: Place) -> Vec<Problem> {
        let mut problems = Vec::new();
        let policy = &self.retry_policy;
        if let Some(factor) = policy.factor.filter(|f| !(f.is_finite() && *f >= 1.0)) {
            problems.push(Problem::RetryFactor(factor));
        }
        if let (Some(initial), Some(max)) = (policy.initial_interval, policy.max_interval) {
            if max < initial {
                problems.push(Problem::RetryMaxIntervalBelowInitial);
            }
        }
        if policy.max_attempts == Some(0) {
            problems.push(Problem::NoAttempts);
        }
        let service = match place {
            Place::Service(service) => {
                if self.workflow_completion_retention.is_some() && service != ServiceType::Workflow
                {
                    problems.push(Problem::CompletionRetentionOutsideWorkflow);
                }
                service
            }
            Place::Handler { service, handler } => {
                let is_run = handler == Some(HandlerType::WorkflowRun);
                if self.workflow_completion_retention.is_some() && !is_run {
                    problems.push(Problem::CompletionRetentionOutsideRunHandler);
                }
                if self.idempotency_retention.is_some() && is_run {
                    problems.push(Problem::IdempotencyRetentionOnRunHandler);
                }
                service
            }
        };
        if self.enable_lazy_state.is_some() && service == ServiceType::Service {
            problems.push(Problem::LazyStateWithoutState);
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::RetryPolicy;

    #[test]
    fn settings_in_their_place_pass() {
        let settings = Settings {
            workflow_completion_retention: Some(Duration::from_secs(60)),
            enable_lazy_state: Some(true),
            retry_policy: RetryPolicy {
                factor: Some(1.0),
                max_attempts: Some(1),
                ..RetryPolicy::NONE
            },
            ..Settings::NONE
        };
        assert_eq!(settings.check(Place::Service(ServiceType::Workflow)), []);
        let run = Place::Handler {
            service: ServiceType::Workflow,
            handler: Some(HandlerType::WorkflowRun),
        };
        assert_eq!(settings.check(run), []);
    }

    #[test]
    fn values_and_places_out_of_bounds_are_named() {
        let settings = Settings {
            workflow_completion_retention: Some(Duration::from_secs(60)),
            idempotency_retention: Some(Duration::from_secs(60)),
            enable_lazy_state: Some(false),
            retry_policy: RetryPolicy {
                factor: Some(f64::NAN),
                initial_interval: Some(Duration::from_secs(2)),
                max_interval: Some(Duration::from_secs(1)),
                max_attempts: Some(0),
                ..RetryPolicy::NONE
            },
            ..Settings::NONE
        };
        let messages = |place| {
            settings
                .check(place)
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            messages(Place::Service(ServiceType::Service)),
            [
                "retry_policy.factor: NaN is not a number of at least 1",
                "retry_policy.max_interval is shorter than retry_policy.initial_interval",
                "retry_policy.max_attempts: at least one attempt is needed",
                "workflow_completion_retention is only allowed on workflows",
                "enable_lazy_state is only allowed on virtual objects and workflows",
            ]
        );
        let shared = Place::Handler {
            service: ServiceType::VirtualObject,
            handler: Some(HandlerType::Shared),
        };
        assert_eq!(
            settings.check(shared)[3..],
            [Problem::CompletionRetentionOutsideRunHandler]
        );
        let run = Place::Handler {
            service: ServiceType::Workflow,
            handler: Some(HandlerType::WorkflowRun),
        };
        assert_eq!(
            settings.check(run)[3..],
            [Problem::IdempotencyRetentionOnRunHandler]
        );
    }
}
