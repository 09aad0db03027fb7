//! The bound services as the simulator needs them: which are keyed, which handlers are shared
//! or a workflow's run handler, and each handler's retry policy; read from the endpoint's
//! definitions and the settings they resolved to, as discovery announces them.

use std::collections::HashMap;

use restate_runtime::Endpoint;
use restate_runtime::codegen::{HandlerType, OnMaxAttempts, RetryPolicy};
use restate_runtime::test_support::bound_services;

/// One bound service.
#[derive(Debug, Clone)]
pub(super) struct ServiceInfo {
    pub(super) keyed: bool,
    /// Handler name → whether it is shared (runs alongside the exclusive one).
    pub(super) handlers: HashMap<String, bool>,
    /// The run handler, for workflows.
    pub(super) workflow_run: Option<String>,
    /// Handler name → its retry policy, the service's completed by the handler's.
    pub(super) retry: HashMap<String, RetryPolicy>,
}

/// The services bound to `endpoint`, by name.
pub(super) fn services(endpoint: &Endpoint) -> HashMap<String, ServiceInfo> {
    bound_services(endpoint)
        .map(|(definition, service_settings, handler_settings)| {
            let handlers = definition
                .handlers
                .iter()
                .map(|h| (h.name.to_owned(), h.ty == Some(HandlerType::Shared)))
                .collect();
            let workflow_run = definition.workflow_run().map(|h| h.name.to_owned());
            let retry = definition
                .handlers
                .iter()
                .zip(handler_settings)
                .map(|(handler, settings)| {
                    let policy = settings.retry_policy.or(service_settings.retry_policy);
                    (handler.name.to_owned(), policy)
                })
                .collect();
            let info = ServiceInfo {
                keyed: definition.ty.is_keyed(),
                handlers,
                workflow_run,
                retry,
            };
            (definition.name.to_owned(), info)
        })
        .collect()
}

/// Whether the policy pauses an invocation once its attempts are used up.
pub(super) fn pauses(policy: &RetryPolicy) -> bool {
    policy.on_max_attempts == Some(OnMaxAttempts::Pause)
}

/// The wait before retry number `retry` (0 for the first), in milliseconds, as Restate computes
/// it from the policy (its defaults where the policy sets nothing).
pub(super) fn retry_delay(policy: &RetryPolicy, retry: u32) -> u64 {
    let millis = |d: std::time::Duration| d.as_millis() as f64;
    let initial = policy.initial_interval.map_or(100.0, millis);
    let factor = policy.factor.unwrap_or(2.0);
    // Without a maximum, the waits stop growing at 10 s, or at the first wait if longer.
    let max = policy.max_interval.map_or(initial.max(10_000.0), millis);
    let delay = initial * factor.powi(i32::try_from(retry).unwrap_or(i32::MAX));
    delay.min(max).max(0.0) as u64
}
