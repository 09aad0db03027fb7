//! The schedule service (`Schedule`, a virtual object per schedule), the index of started
//! schedules (`ScheduleIndex`), and their typed client.

use std::time::Duration;

use bytes::Bytes;

use super::cron::{self, Expression};
use super::messages::{Fire, ScheduleInfo, ScheduleList, ScheduleState, StartSchedule};
use crate::call::{Caller, IntoCaller, Request, Target};
use crate::codec::Codec;
use crate::codegen::{
    Client, HandlerDefinition, HandlerFuture, HandlerType, Invocation, Service, ServiceDefinition,
    ServiceType, Settings,
};
use crate::context::{Context, ObjectContext, ObjectSharedContext};
use crate::error::{HandlerError, TerminalError};
use crate::ingress::Ingress;

/// The state key a schedule keeps itself under.
const STATE: &str = "schedule";
/// The state key of the index's names.
const NAMES: &str = "names";
/// The one key of the index object.
const INDEX_KEY: &str = "all";

/// The discovery metadata of the schedule service: `Schedule`, keyed by schedule name.
pub static SCHEDULE_DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "Schedule",
    ty: ServiceType::VirtualObject,
    codec: Codec::Json,
    documentation: Some("Calls a handler whenever a cron expression comes due; one per name."),
    handlers: &[
        HandlerDefinition::new("Start")
            .with_type(HandlerType::Exclusive)
            .with_documentation(
                "Starts (or changes) the schedule; the same definition again changes nothing.",
            ),
        HandlerDefinition::new("Stop")
            .with_type(HandlerType::Exclusive)
            .without_input()
            .with_documentation("Stops the schedule and cancels its pending timer."),
        HandlerDefinition::new("Describe")
            .with_type(HandlerType::Shared)
            .without_input()
            .with_documentation("The schedule's definition, state and next due time."),
        HandlerDefinition::new("Fire")
            .with_type(HandlerType::Exclusive)
            .without_output()
            .with_documentation("The schedule's own timer: calls the target, sets the next timer.")
            .with_settings(Settings {
                ingress_private: Some(true),
                ..Settings::NONE
            }),
    ],
    settings: Settings::NONE,
};

/// The discovery metadata of the index of started schedules: `ScheduleIndex`, key `all`.
pub static SCHEDULE_INDEX_DEFINITION: ServiceDefinition = ServiceDefinition {
    name: "ScheduleIndex",
    ty: ServiceType::VirtualObject,
    codec: Codec::Json,
    documentation: Some("The names of the started schedules."),
    handlers: &[
        HandlerDefinition::new("Add")
            .with_type(HandlerType::Exclusive)
            .without_output()
            .with_settings(Settings {
                ingress_private: Some(true),
                ..Settings::NONE
            }),
        HandlerDefinition::new("Remove")
            .with_type(HandlerType::Exclusive)
            .without_output()
            .with_settings(Settings {
                ingress_private: Some(true),
                ..Settings::NONE
            }),
        HandlerDefinition::new("List")
            .with_type(HandlerType::Shared)
            .without_input(),
    ],
    settings: Settings::NONE,
};

/// Serves the schedules: bind it (with [`ScheduleIndexServer`]) to the endpoint.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduleServer;

impl Service for ScheduleServer {
    fn definition(&self) -> &'static ServiceDefinition {
        &SCHEDULE_DEFINITION
    }

    fn invoke(&self, invocation: Invocation) -> HandlerFuture {
        match invocation.handler() {
            "Start" => invocation.run(start),
            "Stop" => invocation.run(|ctx: ObjectContext, ()| stop(ctx)),
            "Describe" => invocation.run(|ctx: ObjectSharedContext, ()| describe(ctx)),
            "Fire" => invocation.run(fire),
            _ => invocation.unknown_handler(),
        }
    }
}

/// Serves the index of started schedules, which [`ScheduleClient::list`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScheduleIndexServer;

impl Service for ScheduleIndexServer {
    fn definition(&self) -> &'static ServiceDefinition {
        &SCHEDULE_INDEX_DEFINITION
    }

    fn invoke(&self, invocation: Invocation) -> HandlerFuture {
        match invocation.handler() {
            "Add" => invocation.run(|ctx: ObjectContext, name: String| async move {
                let mut list = ctx.get::<ScheduleList>(NAMES).await?.unwrap_or_default();
                if let Err(at) = list.names.binary_search(&name) {
                    list.names.insert(at, name);
                    ctx.set(NAMES, &list);
                }
                Ok(())
            }),
            "Remove" => invocation.run(|ctx: ObjectContext, name: String| async move {
                let mut list = ctx.get::<ScheduleList>(NAMES).await?.unwrap_or_default();
                if let Ok(at) = list.names.binary_search(&name) {
                    list.names.remove(at);
                    ctx.set(NAMES, &list);
                }
                Ok(())
            }),
            "List" => invocation.run(|ctx: ObjectSharedContext, ()| async move {
                Ok(ctx.get::<ScheduleList>(NAMES).await?.unwrap_or_default())
            }),
            _ => invocation.unknown_handler(),
        }
    }
}

/// Starts, stops and describes the schedule of one name, and lists them all: from a handler's
/// context (journaled) or from an [`Ingress`] ([`ScheduleIngressClient`]).
#[derive(Debug, Clone)]
pub struct ScheduleClient<C = Context> {
    inner: Client<C>,
}

/// [`ScheduleClient`] from outside Restate, through its HTTP ingress.
pub type ScheduleIngressClient = ScheduleClient<Ingress>;

impl<C: Caller> ScheduleClient<C> {
    /// The schedule called `name`.
    pub fn new(caller: &impl IntoCaller<Caller = C>, name: impl Into<String>) -> Self {
        Self {
            inner: Client::keyed(caller, &SCHEDULE_DEFINITION, name.into()),
        }
    }

    /// Starts the schedule, or changes what it does; starting it again with the same
    /// definition changes nothing. A cron expression that does not parse is a terminal
    /// error (400).
    pub fn start(&self, definition: StartSchedule) -> Request<C, StartSchedule, ScheduleInfo> {
        self.inner.request("Start", definition)
    }

    /// Stops the schedule: its pending timer is cancelled, and the target is not called again.
    pub fn stop(&self) -> Request<C, (), ScheduleInfo> {
        self.inner.request("Stop", ())
    }

    /// The schedule's definition, whether it is active, its next due time and its fires.
    pub fn describe(&self) -> Request<C, (), ScheduleInfo> {
        self.inner.request("Describe", ())
    }

    /// The names of the started schedules.
    pub fn list(caller: &impl IntoCaller<Caller = C>) -> Request<C, (), ScheduleList> {
        Client::keyed(caller, &SCHEDULE_INDEX_DEFINITION, INDEX_KEY.to_owned()).request("List", ())
    }
}

/// The current time, journaled so that every attempt sees the same.
async fn now(ctx: &Context) -> Result<u64, TerminalError> {
    ctx.run("now", || async {
        let now = crate::engine::now_since_unix_epoch();
        Ok(u64::try_from(now.as_millis()).unwrap_or(u64::MAX))
    })
    .await
}

fn info(name: &str, state: &ScheduleState) -> ScheduleInfo {
    ScheduleInfo {
        name: name.to_owned(),
        definition: state.definition.clone(),
        active: state.active,
        next_fire_at_millis: state.next_fire_at_millis.filter(|_| state.active),
        fires: state.fires,
    }
}

/// Cancels the pending timer, if there is one.
fn cancel_pending(ctx: &Context, state: &mut ScheduleState) {
    if let Some(id) = state.pending_fire.take() {
        ctx.invocation(id).cancel();
    }
}

/// Sets the timer of the first due time after `due` and `now`. An expression that never comes
/// due again ends the schedule: inactive, out of the index.
async fn set_timer(
    ctx: &ObjectContext,
    state: &mut ScheduleState,
    expression: &Expression,
    due: u64,
    now: u64,
) -> Result<(), HandlerError> {
    let Some(next) = cron::next_due(expression, due, now) else {
        state.active = false;
        state.next_fire_at_millis = None;
        state.pending_fire = None;
        ctx.set(STATE, &*state);
        index(ctx, "Remove").await?;
        return Ok(());
    };
    let fire = Fire {
        generation: state.generation,
        due: next,
    };
    let delay = Duration::from_millis(next.saturating_sub(now));
    let mut sent = Client::keyed(ctx, &SCHEDULE_DEFINITION, ctx.key().to_owned())
        .request::<Fire, ()>("Fire", fire)
        .send_after(delay)?;
    state.pending_fire = Some(sent.invocation_id().await?);
    state.next_fire_at_millis = Some(next);
    ctx.set(STATE, &*state);
    Ok(())
}

/// Adds the schedule to the index (`Add`) or takes it out (`Remove`). A call, not a send, so
/// that a list right after a start or stop shows it.
async fn index(ctx: &ObjectContext, handler: &'static str) -> Result<(), HandlerError> {
    Client::keyed(ctx, &SCHEDULE_INDEX_DEFINITION, INDEX_KEY.to_owned())
        .request::<String, ()>(handler, ctx.key().to_owned())
        .await?;
    Ok(())
}

async fn start(ctx: ObjectContext, request: StartSchedule) -> Result<ScheduleInfo, HandlerError> {
    let expression = Expression::parse(&request.cron)?;
    if request.target_service.is_empty() || request.target_handler.is_empty() {
        return Err(
            TerminalError::new(400, "a schedule needs a target service and handler").into(),
        );
    }
    let mut state = ctx.get::<ScheduleState>(STATE).await?.unwrap_or_default();
    // Started already with this definition, its timer set: nothing to do.
    if state.active && state.pending_fire.is_some() && state.definition.as_ref() == Some(&request) {
        return Ok(info(ctx.key(), &state));
    }
    cancel_pending(&ctx, &mut state);
    // A generation no earlier timer can carry, even one of a start that never finished.
    state.generation = ctx.rand(rand::RngCore::next_u64);
    state.definition = Some(request);
    state.active = true;
    state.next_fire_at_millis = None;
    ctx.set(STATE, &state);
    index(&ctx, "Add").await?;
    let now = now(&ctx).await?;
    set_timer(&ctx, &mut state, &expression, now, now).await?;
    Ok(info(ctx.key(), &state))
}

async fn stop(ctx: ObjectContext) -> Result<ScheduleInfo, HandlerError> {
    let mut state = ctx.get::<ScheduleState>(STATE).await?.unwrap_or_default();
    if state.active {
        cancel_pending(&ctx, &mut state);
        state.active = false;
        state.generation = ctx.rand(rand::RngCore::next_u64);
        state.next_fire_at_millis = None;
        ctx.set(STATE, &state);
        index(&ctx, "Remove").await?;
    }
    Ok(info(ctx.key(), &state))
}

async fn describe(ctx: ObjectSharedContext) -> Result<ScheduleInfo, HandlerError> {
    let state = ctx.get::<ScheduleState>(STATE).await?.unwrap_or_default();
    Ok(info(ctx.key(), &state))
}

async fn fire(ctx: ObjectContext, fire: Fire) -> Result<(), HandlerError> {
    let Some(mut state) = ctx.get::<ScheduleState>(STATE).await? else {
        return Ok(());
    };
    // A timer of another generation (the schedule was restarted or stopped since).
    if !state.active || fire.generation != state.generation {
        return Ok(());
    }
    let Some(definition) = state.definition.clone() else {
        return Ok(());
    };
    let expression = Expression::parse(&definition.cron)?;
    let now = now(&ctx).await?;
    // The next timer first: whatever happens to the request below, the schedule goes on.
    state.fires += 1;
    set_timer(&ctx, &mut state, &expression, fire.due, now).await?;
    let mut target = Target::new(
        definition.target_service.clone(),
        definition.target_handler.clone(),
        Codec::Json,
    );
    if let Some(key) = &definition.target_key {
        target = target.with_key(key.clone());
    }
    let payload = definition
        .payload
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    let sent = Request::raw(&ctx, target, Bytes::from(payload.to_string()))
        .header("x-restate-schedule", ctx.key())
        .header("x-restate-schedule-due", fire.due.to_string())
        .send();
    if let Err(error) = sent {
        tracing::warn!(schedule = ctx.key(), %error, "the schedule's request was refused");
    }
    Ok(())
}
