//! The services of Restate's SDK conformance scenarios (`proto/conformance.proto`), implemented
//! with the generated traits and clients.
//!
//! Counters the scenarios read to see how often something ran are process-wide statics, as the
//! contracts ask: they are not durable and are shared by every key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use pbjson_types::{BoolValue, BytesValue, Int32Value, Int64Value, ListValue, StringValue, Struct};
use restate_runtime::{
    Codec, Context, DurableFuture, Endpoint, EndpointBuilder, HandlerError, IdentityKeyError,
    ObjectContext, ObjectSharedContext, Request, RunRetryPolicy, Target, TerminalError,
    WorkflowContext, WorkflowSharedContext,
};

/// The code generated from `proto/conformance.proto`.
pub mod proto {
    restate_runtime::include_proto!("conformance");
}

use proto::*;

fn terminal(message: impl Into<String>) -> HandlerError {
    TerminalError::from_message(message).into()
}

// ------------------------------------------------------------------------------------------
// Counter

/// `conformance.Counter`.
pub struct CounterImpl;

const COUNTER: &str = "counter";

impl CounterImpl {
    async fn update(
        ctx: &ObjectContext,
        delta: i64,
    ) -> Result<CounterUpdateResponse, HandlerError> {
        let old_value = ctx.get::<i64>(COUNTER).await?.unwrap_or(0);
        let new_value = old_value + delta;
        ctx.set(COUNTER, &new_value);
        Ok(CounterUpdateResponse {
            old_value,
            new_value,
        })
    }
}

impl Counter for CounterImpl {
    async fn add(
        &self,
        ctx: ObjectContext,
        request: Int64Value,
    ) -> Result<CounterUpdateResponse, HandlerError> {
        Self::update(&ctx, request.value).await
    }

    async fn add_then_fail(
        &self,
        ctx: ObjectContext,
        request: Int64Value,
    ) -> Result<(), HandlerError> {
        Self::update(&ctx, request.value).await?;
        Err(terminal(ctx.key()))
    }

    async fn get(&self, ctx: ObjectSharedContext) -> Result<Int64Value, HandlerError> {
        Ok(ctx.get::<i64>(COUNTER).await?.unwrap_or(0).into())
    }

    async fn reset(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        ctx.clear(COUNTER);
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Proxy

/// `conformance.Proxy`.
pub struct ProxyImpl;

/// The request a [`ProxyRequest`] describes.
fn proxied(
    ctx: &Context,
    request: ProxyRequest,
) -> Result<Request<Context, Bytes, Bytes>, HandlerError> {
    let mut target = Target::new(request.service_name, request.handler_name, Codec::Json);
    if let Some(key) = request.virtual_object_key {
        target = target.with_key(key);
    }
    let mut outgoing = Request::raw(ctx, target, request.message.into());
    if let Some(key) = request.idempotency_key {
        outgoing = outgoing.idempotency_key(key);
    }
    if let Some(scope) = request.scope {
        outgoing = outgoing.scope(scope);
    }
    if let Some(limit_key) = request.limit_key {
        outgoing = outgoing.limit_key(limit_key);
    }
    Ok(outgoing)
}

/// Sends the request a [`ProxyRequest`] describes, delayed when it says so.
fn proxied_send(
    ctx: &Context,
    request: ProxyRequest,
) -> Result<restate_runtime::SendHandle, HandlerError> {
    let delay = request.delay_millis;
    let outgoing = proxied(ctx, request)?;
    let handle = match delay {
        Some(millis) if millis > 0 => {
            outgoing.send_after(Duration::from_millis(u64::from(millis.unsigned_abs())))?
        }
        _ => outgoing.send()?,
    };
    Ok(handle)
}

impl Proxy for ProxyImpl {
    async fn call(&self, ctx: Context, request: ProxyRequest) -> Result<BytesValue, HandlerError> {
        let response = proxied(&ctx, request)?.await?;
        Ok(response.into())
    }

    async fn one_way_call(
        &self,
        ctx: Context,
        request: ProxyRequest,
    ) -> Result<StringValue, HandlerError> {
        let mut handle = proxied_send(&ctx, request)?;
        Ok(handle.invocation_id().await?.into())
    }

    async fn many_calls(
        &self,
        ctx: Context,
        request: ManyCallsRequest,
    ) -> Result<(), HandlerError> {
        let mut awaited = Vec::new();
        for call in request.calls {
            let target = call.proxy_request.unwrap_or_default();
            if call.one_way_call {
                proxied_send(&ctx, target)?;
            } else {
                let response = proxied(&ctx, target)?.call();
                if call.await_at_the_end {
                    awaited.push(response);
                }
            }
        }
        for response in awaited {
            response.await?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// TestUtilsService

/// `conformance.TestUtilsService`.
pub struct TestUtils;

impl TestUtilsService for TestUtils {
    async fn echo(&self, _ctx: Context, request: StringValue) -> Result<StringValue, HandlerError> {
        Ok(request)
    }

    async fn uppercase_echo(
        &self,
        _ctx: Context,
        request: StringValue,
    ) -> Result<StringValue, HandlerError> {
        Ok(request.value.to_uppercase().into())
    }

    async fn raw_echo(&self, _ctx: Context, request: Bytes) -> Result<Bytes, HandlerError> {
        Ok(request)
    }

    async fn echo_headers(&self, ctx: Context) -> Result<Struct, HandlerError> {
        Ok(ctx
            .headers()
            .iter()
            .map(|(name, value)| (name.clone(), pbjson_types::Value::from(value.clone())))
            .collect())
    }

    async fn count_executed_side_effects(
        &self,
        ctx: Context,
        request: Int32Value,
    ) -> Result<Int32Value, HandlerError> {
        let executed = Arc::new(AtomicI32::new(0));
        for _ in 0..request.value {
            let executed = Arc::clone(&executed);
            ctx.run("count", move || async move {
                executed.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await?;
        }
        Ok(executed.load(Ordering::SeqCst).into())
    }

    async fn cancel_invocation(
        &self,
        ctx: Context,
        request: StringValue,
    ) -> Result<(), HandlerError> {
        ctx.invocation(request.value).cancel();
        Ok(())
    }

    async fn resolve_signal(
        &self,
        ctx: Context,
        request: ResolveSignalRequest,
    ) -> Result<(), HandlerError> {
        ctx.resolve_signal(&request.invocation_id, &request.signal_name, &request.value);
        Ok(())
    }

    async fn reject_signal(
        &self,
        ctx: Context,
        request: RejectSignalRequest,
    ) -> Result<(), HandlerError> {
        ctx.reject_signal(
            &request.invocation_id,
            &request.signal_name,
            TerminalError::from_message(request.reason),
        );
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Failing

/// Attempts of `failingCallWithEventualSuccess`, process-wide.
static EVENTUAL_SUCCESS_CALLS: AtomicI32 = AtomicI32::new(0);
/// Attempts of the side effect of `sideEffectSucceedsAfterGivenAttempts`, process-wide.
static EVENTUAL_SUCCESS_SIDE_EFFECTS: AtomicI32 = AtomicI32::new(0);
/// Attempts of the side effect of `sideEffectFailsAfterGivenAttempts`, process-wide; never
/// reset.
static EVENTUAL_FAILURE_SIDE_EFFECTS: AtomicI32 = AtomicI32::new(0);

/// `conformance.Failing`.
pub struct FailingImpl;

/// The terminal error a [`FailureToPropagate`] describes.
fn failure(request: FailureToPropagate) -> TerminalError {
    let mut metadata: Vec<_> = request.metadata.into_iter().collect();
    metadata.sort();
    metadata.into_iter().fold(
        TerminalError::from_message(request.error_message),
        |error, (key, value)| error.with_metadata(key, value),
    )
}

impl Failing for FailingImpl {
    async fn terminally_failing_call(
        &self,
        _ctx: ObjectContext,
        request: FailureToPropagate,
    ) -> Result<(), HandlerError> {
        Err(failure(request).into())
    }

    async fn call_terminally_failing_call(
        &self,
        ctx: ObjectContext,
        request: FailureToPropagate,
    ) -> Result<StringValue, HandlerError> {
        let key = ctx.random_uuid().to_string();
        FailingClient::new(&ctx, key)
            .terminally_failing_call(request)
            .await?;
        Err(terminal("unreachable: the call was expected to fail"))
    }

    async fn failing_call_with_eventual_success(
        &self,
        _ctx: ObjectContext,
    ) -> Result<Int32Value, HandlerError> {
        let attempt = EVENTUAL_SUCCESS_CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if attempt >= 4 {
            EVENTUAL_SUCCESS_CALLS.store(0, Ordering::SeqCst);
            Ok(attempt.into())
        } else {
            Err(HandlerError::retryable(format!(
                "Failed at attempt {attempt}"
            )))
        }
    }

    async fn terminally_failing_side_effect(
        &self,
        ctx: ObjectContext,
        request: FailureToPropagate,
    ) -> Result<(), HandlerError> {
        let error = failure(request);
        ctx.run("failing side effect", move || async move {
            Err::<(), _>(error.into())
        })
        .await?;
        Err(terminal(
            "unreachable: the side effect was expected to fail",
        ))
    }

    async fn side_effect_succeeds_after_given_attempts(
        &self,
        ctx: ObjectContext,
        request: Int32Value,
    ) -> Result<Int32Value, HandlerError> {
        let minimum_attempts = request.value;
        let policy = RunRetryPolicy::fixed(Duration::from_millis(10));
        let attempts = ctx
            .run_with_retry("failing_side_effect", policy, move || async move {
                let attempt = EVENTUAL_SUCCESS_SIDE_EFFECTS.fetch_add(1, Ordering::SeqCst) + 1;
                if attempt >= minimum_attempts {
                    EVENTUAL_SUCCESS_SIDE_EFFECTS.store(0, Ordering::SeqCst);
                    Ok(attempt)
                } else {
                    Err(HandlerError::retryable(format!(
                        "Failed at attempt {attempt}"
                    )))
                }
            })
            .await?;
        Ok(attempts.into())
    }

    async fn side_effect_fails_after_given_attempts(
        &self,
        ctx: ObjectContext,
        request: Int32Value,
    ) -> Result<Int32Value, HandlerError> {
        let max_attempts = u32::try_from(request.value.max(1)).unwrap_or(1);
        let policy = RunRetryPolicy::fixed(Duration::from_millis(10)).max_attempts(max_attempts);
        let outcome = ctx
            .run_with_retry("failing_side_effect", policy, || async {
                let attempt = EVENTUAL_FAILURE_SIDE_EFFECTS.fetch_add(1, Ordering::SeqCst) + 1;
                Err::<(), _>(HandlerError::retryable(format!(
                    "Failed at attempt {attempt}"
                )))
            })
            .await;
        match outcome {
            Ok(()) => Err(terminal("Expecting the side effect to fail!")),
            Err(_) => Ok(EVENTUAL_FAILURE_SIDE_EFFECTS.load(Ordering::SeqCst).into()),
        }
    }
}

// ------------------------------------------------------------------------------------------
// AwakeableHolder

/// `conformance.AwakeableHolder`.
pub struct AwakeableHolderImpl;

impl AwakeableHolder for AwakeableHolderImpl {
    async fn hold(&self, ctx: ObjectContext, request: StringValue) -> Result<(), HandlerError> {
        ctx.set("id", &request.value);
        Ok(())
    }

    async fn has_awakeable(&self, ctx: ObjectContext) -> Result<BoolValue, HandlerError> {
        Ok(ctx.get::<String>("id").await?.is_some().into())
    }

    async fn unlock(&self, ctx: ObjectContext, request: StringValue) -> Result<(), HandlerError> {
        let Some(id) = ctx.get::<String>("id").await? else {
            return Err(terminal("No awakeable registered"));
        };
        ctx.resolve_awakeable(&id, &request.value);
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// BlockAndWaitWorkflow

/// `conformance.BlockAndWaitWorkflow`.
pub struct BlockAndWait;

const MY_PROMISE: &str = "my-promise";
const MY_STATE: &str = "my-state";

impl BlockAndWaitWorkflow for BlockAndWait {
    async fn run(
        &self,
        ctx: WorkflowContext,
        request: StringValue,
    ) -> Result<StringValue, HandlerError> {
        ctx.set(MY_STATE, &request.value);
        let value: String = ctx.promise(MY_PROMISE).await?;
        if ctx.peek_promise::<String>(MY_PROMISE).await?.is_none() {
            return Err(terminal("Durable promise should be completed"));
        }
        Ok(value.into())
    }

    async fn unblock(
        &self,
        ctx: WorkflowSharedContext,
        request: StringValue,
    ) -> Result<(), HandlerError> {
        ctx.resolve_promise(MY_PROMISE, &request.value).await?;
        Ok(())
    }

    async fn get_state(&self, ctx: WorkflowSharedContext) -> Result<StringValue, HandlerError> {
        Ok(ctx
            .get::<String>(MY_STATE)
            .await?
            .unwrap_or_default()
            .into())
    }
}

// ------------------------------------------------------------------------------------------
// CancelTestRunner and CancelTestBlockingService

/// `conformance.CancelTestRunner`.
pub struct CancelTestRunnerImpl;

impl CancelTestRunner for CancelTestRunnerImpl {
    async fn start_test(
        &self,
        ctx: ObjectContext,
        request: StringValue,
    ) -> Result<(), HandlerError> {
        let outcome = CancelTestBlockingServiceClient::new(&ctx, ctx.key().to_owned())
            .block(request)
            .await;
        match outcome {
            Ok(()) => Err(terminal(
                "the blocking call returned instead of being cancelled",
            )),
            Err(error) if error.code() == 409 => {
                ctx.set("canceled", &true);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn verify_test(&self, ctx: ObjectContext) -> Result<BoolValue, HandlerError> {
        Ok(ctx.get::<bool>("canceled").await?.unwrap_or(false).into())
    }
}

/// `conformance.CancelTestBlockingService`.
pub struct CancelTestBlocking;

impl CancelTestBlockingService for CancelTestBlocking {
    async fn block(&self, ctx: ObjectContext, request: StringValue) -> Result<(), HandlerError> {
        let key = ctx.key().to_owned();
        let (id, awakeable) = ctx.awakeable::<String>();
        AwakeableHolderClient::new(&ctx, key.clone())
            .hold(id.into())
            .await?;
        awakeable.await?;
        match request.value.as_str() {
            "CALL" => {
                CancelTestBlockingServiceClient::new(&ctx, key)
                    .block(request)
                    .await?;
            }
            "SLEEP" => ctx.sleep(Duration::from_secs(1024 * 24 * 60 * 60)).await?,
            "AWAKEABLE" => {
                let (_, never) = ctx.awakeable::<String>();
                never.await?;
            }
            other => {
                return Err(TerminalError::new(400, format!("unknown operation {other:?}")).into());
            }
        }
        Ok(())
    }

    async fn is_unlocked(&self, _ctx: ObjectContext) -> Result<(), HandlerError> {
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// KillTestRunner and KillTestSingleton

/// `conformance.KillTestRunner`.
pub struct KillTestRunnerImpl;

impl KillTestRunner for KillTestRunnerImpl {
    async fn start_call_tree(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        KillTestSingletonClient::new(&ctx, ctx.key().to_owned())
            .recursive_call()
            .await?;
        Ok(())
    }
}

/// `conformance.KillTestSingleton`.
pub struct KillTestSingletonImpl;

impl KillTestSingleton for KillTestSingletonImpl {
    async fn recursive_call(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        let key = ctx.key().to_owned();
        let (id, awakeable) = ctx.awakeable::<String>();
        AwakeableHolderClient::new(&ctx, key.clone())
            .hold(id.into())
            .send()?;
        awakeable.await?;
        KillTestSingletonClient::new(&ctx, key)
            .recursive_call()
            .await?;
        Ok(())
    }

    async fn is_unlocked(&self, _ctx: ObjectContext) -> Result<(), HandlerError> {
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// ListObject and MapObject

/// `conformance.ListObject`.
pub struct ListObjectImpl;

const LIST: &str = "list";

impl ListObject for ListObjectImpl {
    async fn append(&self, ctx: ObjectContext, request: StringValue) -> Result<(), HandlerError> {
        let mut list = ctx.get::<ListValue>(LIST).await?.unwrap_or_default();
        list.values.push(request.value.into());
        ctx.set(LIST, &list);
        Ok(())
    }

    async fn get(&self, ctx: ObjectContext) -> Result<ListValue, HandlerError> {
        Ok(ctx.get::<ListValue>(LIST).await?.unwrap_or_default())
    }

    async fn clear(&self, ctx: ObjectContext) -> Result<ListValue, HandlerError> {
        let list = ctx.get::<ListValue>(LIST).await?.unwrap_or_default();
        ctx.clear(LIST);
        Ok(list)
    }
}

/// `conformance.MapObject`.
pub struct MapObjectImpl;

impl MapObject for MapObjectImpl {
    async fn set(&self, ctx: ObjectContext, request: MapEntry) -> Result<(), HandlerError> {
        ctx.set(&request.key, &request.value);
        Ok(())
    }

    async fn get(
        &self,
        ctx: ObjectContext,
        request: StringValue,
    ) -> Result<StringValue, HandlerError> {
        Ok(ctx
            .get::<String>(&request.value)
            .await?
            .unwrap_or_default()
            .into())
    }

    async fn clear_all(&self, ctx: ObjectContext) -> Result<MapEntries, HandlerError> {
        let mut entries = Vec::new();
        for key in ctx.state_keys().await? {
            let value = ctx.get::<String>(&key).await?.unwrap_or_default();
            entries.push(MapEntry { key, value });
        }
        ctx.clear_all();
        Ok(MapEntries { entries })
    }
}

// ------------------------------------------------------------------------------------------
// NonDeterministic

/// `conformance.NonDeterministic`: takes the "left" branch on odd attempts per key and the
/// "right" one on even attempts, counted in this process.
#[derive(Default)]
pub struct NonDeterministicImpl {
    invocations: Mutex<HashMap<String, u32>>,
}

impl NonDeterministicImpl {
    fn do_left_action(&self, key: &str) -> bool {
        let mut invocations = self
            .invocations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = invocations.entry(key.to_owned()).or_default();
        *count += 1;
        *count % 2 == 1
    }

    /// What every handler does after its branch: a sleep (a suspension point when the
    /// inactivity timeout is 0), then one more to the counter of the same key.
    async fn finish(ctx: &ObjectContext) -> Result<(), HandlerError> {
        ctx.sleep(Duration::from_millis(100)).await?;
        CounterClient::new(ctx, ctx.key().to_owned())
            .add(1.into())
            .send()?;
        Ok(())
    }
}

/// The counter the non-deterministic branches call.
const OTHER_COUNTER: &str = "abc";

impl NonDeterministic for NonDeterministicImpl {
    async fn either_sleep_or_call(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        if self.do_left_action(ctx.key()) {
            ctx.sleep(Duration::from_millis(100)).await?;
        } else {
            CounterClient::new(&ctx, OTHER_COUNTER).get().await?;
        }
        Self::finish(&ctx).await
    }

    async fn call_different_method(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        if self.do_left_action(ctx.key()) {
            CounterClient::new(&ctx, OTHER_COUNTER).get().await?;
        } else {
            CounterClient::new(&ctx, OTHER_COUNTER).reset().await?;
        }
        Self::finish(&ctx).await
    }

    async fn background_invoke_with_different_targets(
        &self,
        ctx: ObjectContext,
    ) -> Result<(), HandlerError> {
        if self.do_left_action(ctx.key()) {
            CounterClient::new(&ctx, OTHER_COUNTER).get().send()?;
        } else {
            CounterClient::new(&ctx, OTHER_COUNTER).reset().send()?;
        }
        Self::finish(&ctx).await
    }

    async fn set_different_key(&self, ctx: ObjectContext) -> Result<(), HandlerError> {
        let name = if self.do_left_action(ctx.key()) {
            "a"
        } else {
            "b"
        };
        ctx.set(name, &"my-state".to_owned());
        Self::finish(&ctx).await
    }
}

// ------------------------------------------------------------------------------------------
// VirtualObjectCommandInterpreter

/// `conformance.VirtualObjectCommandInterpreter`.
pub struct CommandInterpreter;

const RESULTS: &str = "results";

fn awakeable_state(key: &str) -> String {
    format!("awk-{key}")
}

/// Starts an awaitable command; the future yields its string value.
fn awaitable(
    ctx: &ObjectContext,
    command: AwaitableCommand,
) -> Result<DurableFuture<String>, HandlerError> {
    use awaitable_command::Command as C;
    let Some(command) = command.command else {
        return Err(TerminalError::new(400, "an awaitable command without a case").into());
    };
    Ok(match command {
        C::CreateAwakeable(CreateAwakeable { awakeable_key }) => {
            let (id, awakeable) = ctx.awakeable::<String>();
            ctx.set(&awakeable_state(&awakeable_key), &id);
            awakeable
        }
        C::Sleep(SleepCommand { timeout_millis }) => ctx
            .sleep(Duration::from_millis(timeout_millis.max(0).unsigned_abs()))
            .map(|()| "sleep".to_owned()),
        C::RunReturns(RunReturns { value }) => ctx.run("run returns", move || async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(value)
        }),
        C::RunThrowTerminalException(RunThrowTerminalException { reason }) => {
            ctx.run("run throws", move || async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                Err(TerminalError::from_message(reason).into())
            })
        }
        C::CreateSignal(CreateSignal { signal_name }) => ctx.signal::<String>(&signal_name),
    })
}

fn awaitables(
    ctx: &ObjectContext,
    many: AwaitMany,
) -> Result<Vec<DurableFuture<String>>, HandlerError> {
    many.commands
        .into_iter()
        .map(|command| awaitable(ctx, command))
        .collect()
}

async fn stored_awakeable(
    ctx: &restate_runtime::ObjectSharedContext,
    key: &str,
) -> Result<String, HandlerError> {
    ctx.get::<String>(&awakeable_state(key))
        .await?
        .ok_or_else(|| terminal("Awakeable is not registered yet"))
}

impl CommandInterpreter {
    async fn interpret(ctx: &ObjectContext, command: Command) -> Result<String, HandlerError> {
        use command::Command as C;
        let Some(command) = command.command else {
            return Err(TerminalError::new(400, "a command without a case").into());
        };
        match command {
            C::AwaitAny(many) | C::AwaitFirstCompleted(many) => {
                Ok(restate_runtime::race(awaitables(ctx, many)?).await?)
            }
            C::AwaitAnySuccessful(many) | C::AwaitFirstSucceededOrAllFailed(many) => {
                Ok(restate_runtime::any(awaitables(ctx, many)?).await?.1)
            }
            C::AwaitAllSucceededOrFirstFailed(many) => {
                Ok(restate_runtime::join_all(awaitables(ctx, many)?)
                    .await?
                    .join("|"))
            }
            C::AwaitAllCompleted(many) => {
                let results = restate_runtime::all_settled(awaitables(ctx, many)?).await?;
                Ok(results
                    .into_iter()
                    .map(|result| match result {
                        Ok(value) => format!("ok:{value}"),
                        Err(error) => format!("err:{}", error.message()),
                    })
                    .collect::<Vec<_>>()
                    .join("|"))
            }
            C::AwaitOne(AwaitOne { command }) => {
                let command = command.unwrap_or_default();
                Ok(awaitable(ctx, command)?.await?)
            }
            C::AwaitAwakeableOrTimeout(AwaitAwakeableOrTimeout {
                awakeable_key,
                timeout_millis,
            }) => {
                let (id, awakeable) = ctx.awakeable::<String>();
                ctx.set(&awakeable_state(&awakeable_key), &id);
                let timeout = ctx
                    .sleep(Duration::from_millis(timeout_millis.max(0).unsigned_abs()))
                    .map(|()| None);
                match restate_runtime::race(vec![awakeable.map(Some), timeout]).await? {
                    Some(value) => Ok(value),
                    None => Err(terminal("await-timeout")),
                }
            }
            C::ResolveAwakeable(ResolveAwakeable {
                awakeable_key,
                value,
            }) => {
                let id = ctx
                    .get::<String>(&awakeable_state(&awakeable_key))
                    .await?
                    .ok_or_else(|| terminal("Awakeable is not registered yet"))?;
                ctx.resolve_awakeable(&id, &value);
                Ok(String::new())
            }
            C::RejectAwakeable(RejectAwakeable {
                awakeable_key,
                reason,
            }) => {
                let id = ctx
                    .get::<String>(&awakeable_state(&awakeable_key))
                    .await?
                    .ok_or_else(|| terminal("Awakeable is not registered yet"))?;
                ctx.reject_awakeable(&id, TerminalError::from_message(reason));
                Ok(String::new())
            }
            C::GetEnvVariable(GetEnvVariable { env_name }) => Ok(ctx
                .run("get env variable", move || async move {
                    Ok(std::env::var(env_name).unwrap_or_default())
                })
                .await?),
        }
    }
}

impl VirtualObjectCommandInterpreter for CommandInterpreter {
    async fn interpret_commands(
        &self,
        ctx: ObjectContext,
        request: InterpretRequest,
    ) -> Result<StringValue, HandlerError> {
        let mut last = String::new();
        for command in request.commands {
            last = Self::interpret(&ctx, command).await?;
            let mut results = ctx.get::<ListValue>(RESULTS).await?.unwrap_or_default();
            results.values.push(last.clone().into());
            ctx.set(RESULTS, &results);
        }
        Ok(last.into())
    }

    async fn resolve_awakeable(
        &self,
        ctx: ObjectSharedContext,
        request: ResolveAwakeable,
    ) -> Result<(), HandlerError> {
        let id = stored_awakeable(&ctx, &request.awakeable_key).await?;
        ctx.resolve_awakeable(&id, &request.value);
        Ok(())
    }

    async fn reject_awakeable(
        &self,
        ctx: ObjectSharedContext,
        request: RejectAwakeable,
    ) -> Result<(), HandlerError> {
        let id = stored_awakeable(&ctx, &request.awakeable_key).await?;
        ctx.reject_awakeable(&id, TerminalError::from_message(request.reason));
        Ok(())
    }

    async fn has_awakeable(
        &self,
        ctx: ObjectSharedContext,
        request: StringValue,
    ) -> Result<BoolValue, HandlerError> {
        let id = ctx.get::<String>(&awakeable_state(&request.value)).await?;
        Ok(id.is_some_and(|id| !id.trim().is_empty()).into())
    }

    async fn get_results(&self, ctx: ObjectSharedContext) -> Result<ListValue, HandlerError> {
        Ok(ctx.get::<ListValue>(RESULTS).await?.unwrap_or_default())
    }
}

// ------------------------------------------------------------------------------------------
// Endpoints

/// Binds every conformance service to `builder`.
pub fn bind_conformance_services(builder: EndpointBuilder) -> EndpointBuilder {
    builder
        .bind(CounterServer::new(CounterImpl))
        .bind(ProxyServer::new(ProxyImpl))
        .bind(TestUtilsServiceServer::new(TestUtils))
        .bind(FailingServer::new(FailingImpl))
        .bind(AwakeableHolderServer::new(AwakeableHolderImpl))
        .bind(BlockAndWaitWorkflowServer::new(BlockAndWait))
        .bind(CancelTestRunnerServer::new(CancelTestRunnerImpl))
        .bind(CancelTestBlockingServiceServer::new(CancelTestBlocking))
        .bind(KillTestRunnerServer::new(KillTestRunnerImpl))
        .bind(KillTestSingletonServer::new(KillTestSingletonImpl))
        .bind(ListObjectServer::new(ListObjectImpl))
        .bind(MapObjectServer::new(MapObjectImpl))
        .bind(NonDeterministicServer::new(NonDeterministicImpl::default()))
        .bind(VirtualObjectCommandInterpreterServer::new(
            CommandInterpreter,
        ))
}

/// An endpoint with every conformance service.
pub fn conformance_endpoint() -> Endpoint {
    bind_conformance_services(Endpoint::builder()).build()
}

/// An endpoint with every conformance service that accepts only requests signed with the
/// private half of `identity_key` (a `publickeyv1_…` key).
pub fn conformance_endpoint_with_identity_key(
    identity_key: &str,
) -> Result<Endpoint, IdentityKeyError> {
    Ok(bind_conformance_services(Endpoint::builder())
        .identity_key(identity_key)?
        .build())
}
