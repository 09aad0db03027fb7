//! Schedules (feature `schedules`): "call this handler every hour", kept by Restate.
//!
//! Bind [`ScheduleServer`] and [`ScheduleIndexServer`] to your endpoint next to your services;
//! each schedule is then a virtual object of the service `Schedule`, keyed by its name, that
//! sends the target handler a request whenever its cron expression comes due. Start, stop,
//! list and look at schedules through [`ScheduleIngressClient`] (or [`ScheduleClient`] from a
//! handler):
//!
//! ```no_run
//! # async fn example(ingress: restate_runtime::ingress::Ingress) -> Result<(), Box<dyn std::error::Error>> {
//! use restate_runtime::schedule::{ScheduleIngressClient, StartSchedule};
//!
//! let nightly = ScheduleIngressClient::new(&ingress, "nightly-report");
//! let info = nightly
//!     .start(StartSchedule::new("0 3 * * *", "reports.Reports", "Generate"))
//!     .await?;
//! println!("next at {:?}", info.next_fire_at_millis);
//! # Ok(()) }
//! ```
//!
//! What it promises:
//!
//! - **One pending timer per schedule.** Each start or stop draws the schedule a new generation
//!   (a random number, journaled) and cancels the pending timer; a timer of another generation
//!   that still fires does nothing. Each fire sets the next timer before it sends its request,
//!   so a refused or failed request never ends the schedule.
//!   Starting a schedule again with the same definition changes nothing, so a start retried by
//!   a client (or replayed after a crash) leaves one timer. Killing the endpoint or Restate
//!   loses nothing: the timer is a journaled delayed send.
//! - **Cron expressions** in the common five fields (`minute hour day month weekday`), or six
//!   with seconds first, in UTC, parsed by the `croner` crate; one that does not parse is a
//!   terminal error (400) at start.
//! - **Missed fires coalesce.** When the timer fires late (Restate or the endpoint was down
//!   past one or more due times), the target gets one request for all of them, and the next
//!   due time is the first one after now: a schedule never bursts to catch up.
//! - **The target** gets its request as a one-way send (its own invocation, its own retries),
//!   with the schedule's payload (JSON, `{}` by default) and the headers `x-restate-schedule`
//!   (the schedule's name) and `x-restate-schedule-due` (the due time, milliseconds since the
//!   Unix epoch), so it can tell which run it is.
//! - **An expression that never comes due again** ends the schedule: inactive, out of the list.
//! - **Interceptors** of the endpoint see the schedule's own invocations too (`Schedule/Fire`
//!   carries no caller's headers): an attempt hook that refuses calls without a token must let
//!   the services `Schedule` and `ScheduleIndex` through.

mod cron;
mod messages;
mod service;

pub use messages::{ScheduleInfo, ScheduleList, StartSchedule};
pub use service::{
    SCHEDULE_DEFINITION, SCHEDULE_INDEX_DEFINITION, ScheduleClient, ScheduleIndexServer,
    ScheduleIngressClient, ScheduleServer,
};
