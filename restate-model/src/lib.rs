//! The description of a Restate service that `restate-codegen` and `restate-runtime` share.
//!
//! The generator reads a service's kind, codec and settings from the proto and checks them
//! here; the code it emits builds the same values as constants; the runtime holds them, lets
//! options given at bind time replace them ([`Settings::overlay`]), checks those with the same
//! rules ([`Settings::check`]), and announces the result to Restate at discovery.
//!
//! ```
//! use std::time::Duration;
//! use restate_model::{HandlerType, Place, ServiceType, Settings};
//!
//! let settings = Settings {
//!     idempotency_retention: Some(Duration::from_secs(60)),
//!     ..Settings::NONE
//! };
//! let run_handler = Place::Handler {
//!     service: ServiceType::Workflow,
//!     handler: Some(HandlerType::WorkflowRun),
//! };
//! let problems = settings.check(run_handler);
//! assert_eq!(
//!     problems[0].to_string(),
//!     "idempotency_retention is not allowed on a workflow's run handler; use \
//!      workflow_completion_retention"
//! );
//! ```

mod kinds;
mod rules;
mod settings;

pub use kinds::{Codec, HandlerType, ServiceType};
pub use rules::{Place, Problem};
pub use settings::{Metadata, OnMaxAttempts, RetryPolicy, Settings};
