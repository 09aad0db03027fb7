//! Restate settings of a service or handler: what `(restate.service_config)` and
//! `(restate.handler_config)` declare, and what options given at bind time replace.

use std::borrow::Cow;
use std::time::Duration;

/// Custom metadata entries, shown by Restate's admin API: borrowed in the constants generated
/// code declares, owned once bind-time options add to them.
pub type Metadata = Cow<'static, [(Cow<'static, str>, Cow<'static, str>)]>;

/// What Restate does once a retry policy's attempts are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnMaxAttempts {
    /// Pause the invocation; an operator resumes or cancels it.
    Pause,
    /// Kill the invocation.
    Kill,
}

/// How Restate retries failed attempts of an invocation; `None` keeps the server's default.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetryPolicy {
    /// The wait before the first retry.
    pub initial_interval: Option<Duration>,
    /// The longest wait between retries.
    pub max_interval: Option<Duration>,
    /// What each wait is multiplied by: a finite number of at least 1.
    pub factor: Option<f64>,
    /// How many attempts to make, the first one included: at least one.
    pub max_attempts: Option<u32>,
    /// What happens once the attempts are used up.
    pub on_max_attempts: Option<OnMaxAttempts>,
}

impl RetryPolicy {
    /// Nothing set.
    pub const NONE: Self = Self {
        initial_interval: None,
        max_interval: None,
        factor: None,
        max_attempts: None,
        on_max_attempts: None,
    };

    /// Whether nothing is set.
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// This policy, completed by `fallback` where it sets nothing (a handler's policy over its
    /// service's).
    #[must_use]
    pub fn or(self, fallback: RetryPolicy) -> Self {
        Self {
            initial_interval: self.initial_interval.or(fallback.initial_interval),
            max_interval: self.max_interval.or(fallback.max_interval),
            factor: self.factor.or(fallback.factor),
            max_attempts: self.max_attempts.or(fallback.max_attempts),
            on_max_attempts: self.on_max_attempts.or(fallback.on_max_attempts),
        }
    }
}

/// Restate settings of a service or handler; `None` keeps the server's default.
///
/// Generated code declares them as constants (from `(restate.service_config)` and
/// `(restate.handler_config)`); options given at bind time replace them field by field
/// ([`Settings::overlay`]); the endpoint announces the result at discovery.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Settings {
    /// How long an invocation may wait without progress before it is suspended.
    pub inactivity_timeout: Option<Duration>,
    /// How long a suspending invocation gets before it is aborted.
    pub abort_timeout: Option<Duration>,
    /// How long results of completed invocations are kept for idempotency keys.
    pub idempotency_retention: Option<Duration>,
    /// How long journals of completed invocations are kept.
    pub journal_retention: Option<Duration>,
    /// How long a completed workflow's result, state and promises are kept (workflows and their
    /// run handlers).
    pub workflow_completion_retention: Option<Duration>,
    /// Whether the ingress refuses to invoke it (other services still can).
    pub ingress_private: Option<bool>,
    /// Whether state is fetched on demand instead of sent with each invocation (objects and
    /// workflows).
    pub enable_lazy_state: Option<bool>,
    /// How failed attempts are retried.
    pub retry_policy: RetryPolicy,
    /// Custom metadata, one entry per key.
    pub metadata: Metadata,
}

impl Settings {
    /// Nothing set.
    pub const NONE: Self = Self {
        inactivity_timeout: None,
        abort_timeout: None,
        idempotency_retention: None,
        journal_retention: None,
        workflow_completion_retention: None,
        ingress_private: None,
        enable_lazy_state: None,
        retry_policy: RetryPolicy::NONE,
        metadata: Cow::Borrowed(&[]),
    };

    /// Whether nothing is set.
    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// Replaces what `other` sets, field by field; metadata entries of `other` replace those of
    /// the same key and add the others.
    pub fn overlay(&mut self, other: &Settings) {
        fn replace<T: Copy>(slot: &mut Option<T>, value: Option<T>) {
            if value.is_some() {
                *slot = value;
            }
        }
        replace(&mut self.inactivity_timeout, other.inactivity_timeout);
        replace(&mut self.abort_timeout, other.abort_timeout);
        replace(&mut self.idempotency_retention, other.idempotency_retention);
        replace(&mut self.journal_retention, other.journal_retention);
        replace(
            &mut self.workflow_completion_retention,
            other.workflow_completion_retention,
        );
        replace(&mut self.ingress_private, other.ingress_private);
        replace(&mut self.enable_lazy_state, other.enable_lazy_state);
        self.retry_policy = other.retry_policy.or(self.retry_policy);
        for (key, value) in other.metadata.iter() {
            self.set_metadata(key.clone(), value.clone());
        }
    }

    /// Clears what `other` sets, metadata and the workflow completion retention aside: a
    /// handler's declared value gives way to one a service's bind-time options set, so that
    /// the service's reaches the handler.
    pub fn yield_to(&mut self, other: &Settings) {
        fn clear<T>(slot: &mut Option<T>, set: bool) {
            if set {
                *slot = None;
            }
        }
        clear(
            &mut self.inactivity_timeout,
            other.inactivity_timeout.is_some(),
        );
        clear(&mut self.abort_timeout, other.abort_timeout.is_some());
        clear(
            &mut self.idempotency_retention,
            other.idempotency_retention.is_some(),
        );
        clear(
            &mut self.journal_retention,
            other.journal_retention.is_some(),
        );
        clear(&mut self.ingress_private, other.ingress_private.is_some());
        clear(
            &mut self.enable_lazy_state,
            other.enable_lazy_state.is_some(),
        );
        let policy = &mut self.retry_policy;
        let set = &other.retry_policy;
        clear(&mut policy.initial_interval, set.initial_interval.is_some());
        clear(&mut policy.max_interval, set.max_interval.is_some());
        clear(&mut policy.factor, set.factor.is_some());
        clear(&mut policy.max_attempts, set.max_attempts.is_some());
        clear(&mut policy.on_max_attempts, set.on_max_attempts.is_some());
    }

    /// Sets the metadata entry `key`, replacing any of the same key.
    pub fn set_metadata(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) {
        let key = key.into();
        let entries = self.metadata.to_mut();
        entries.retain(|(k, _)| *k != key);
        entries.push((key, value.into()));
    }

    /// The metadata entry `key`, if set.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: Settings = Settings {
        inactivity_timeout: Some(Duration::from_secs(30)),
        retry_policy: RetryPolicy {
            max_attempts: Some(3),
            ..RetryPolicy::NONE
        },
        metadata: Cow::Borrowed(&[(Cow::Borrowed("team"), Cow::Borrowed("greetings"))]),
        ..Settings::NONE
    };

    #[test]
    fn overlay_replaces_what_is_set_and_keeps_the_rest() {
        let mut settings = DECLARED;
        let mut options = Settings {
            abort_timeout: Some(Duration::from_secs(5)),
            retry_policy: RetryPolicy {
                factor: Some(2.0),
                ..RetryPolicy::NONE
            },
            ..Settings::NONE
        };
        options.set_metadata("team", "platform");
        options.set_metadata("region", "eu");
        settings.overlay(&options);
        assert_eq!(settings.inactivity_timeout, Some(Duration::from_secs(30)));
        assert_eq!(settings.abort_timeout, Some(Duration::from_secs(5)));
        assert_eq!(settings.retry_policy.max_attempts, Some(3));
        assert_eq!(settings.retry_policy.factor, Some(2.0));
        assert_eq!(settings.metadata("team"), Some("platform"));
        assert_eq!(settings.metadata("region"), Some("eu"));
        assert_eq!(settings.metadata.len(), 2);
        // The constant itself is untouched.
        assert_eq!(DECLARED.metadata("team"), Some("greetings"));
    }

    #[test]
    fn yield_to_clears_only_what_the_other_sets() {
        let mut handler = DECLARED;
        handler.yield_to(&Settings {
            retry_policy: RetryPolicy {
                max_attempts: Some(10),
                ..RetryPolicy::NONE
            },
            ..Settings::NONE
        });
        assert_eq!(handler.retry_policy.max_attempts, None);
        assert_eq!(handler.inactivity_timeout, Some(Duration::from_secs(30)));
        assert_eq!(handler.metadata("team"), Some("greetings"));
        assert!(Settings::NONE.is_none() && !handler.is_none());
    }
}
