//! The conformance scenarios, each an async function against a server that has
//! [`conformance_endpoint`](crate::conformance::conformance_endpoint) registered. The test
//! binaries under `tests/` run them against servers configured in different ways.
//!
//! Every scenario uses fresh keys, so scenarios sharing a server do not interfere. Waiting is
//! done by polling with a deadline ([`eventually`]), never by asserting how long something took,
//! except where a scenario is about a delay being respected.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use pbjson_types::BytesValue;
use serde::Serialize;
use serde_json::{Value, json};

use crate::conformance::proto::{
    AwaitAwakeableOrTimeout, AwaitMany, AwaitOne, AwaitableCommand, Command, CounterUpdateResponse,
    CreateAwakeable, CreateSignal, FailureToPropagate, InterpretRequest, ManyCallRequest,
    ManyCallsRequest, MapEntries, MapEntry, ProxyRequest, RejectAwakeable, RejectSignalRequest,
    ResolveAwakeable, ResolveSignalRequest, RunReturns, RunThrowTerminalException, SleepCommand,
    awaitable_command, command,
};
use crate::raw_ingress::{CallError, RawIngress, eventually, random_key};

/// How long any single wait of a scenario may take before it fails.
pub const WAIT: Duration = Duration::from_secs(30);

const COUNTER: &str = "conformance.Counter";
const PROXY: &str = "conformance.Proxy";
const TEST_UTILS: &str = "conformance.TestUtilsService";
const FAILING: &str = "conformance.Failing";
const AWAKEABLE_HOLDER: &str = "conformance.AwakeableHolder";
const INTERPRETER: &str = "conformance.VirtualObjectCommandInterpreter";

/// The bytes of `value` as JSON: the payload a [`ProxyRequest`] carries.
fn json_payload(value: impl Serialize) -> Vec<u8> {
    serde_json::to_vec(&value).expect("JSON")
}

fn expect_ok<T>(result: Result<T, CallError>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

fn expect_failure<T: std::fmt::Debug>(result: Result<T, CallError>, what: &str) -> CallError {
    match result {
        Ok(value) => panic!("{what} succeeded with {value:?}; expected it to fail"),
        Err(error) => error,
    }
}

/// The counter `key`'s value.
async fn counter_value(ingress: &RawIngress, key: &str) -> Result<i64, CallError> {
    ingress
        .call_void::<pbjson_types::Int64Value>(&format!("{COUNTER}/{key}/get"))
        .await
        .map(|v| v.value)
}

/// Polls until counter `key` holds `expected`.
async fn counter_reaches(ingress: &RawIngress, key: &str, expected: i64) {
    eventually(&format!("counter {key} == {expected}"), WAIT, || async {
        match counter_value(ingress, key).await {
            Ok(value) if value == expected => Ok(()),
            Ok(value) => Err(format!("the counter is {value}")),
            Err(error) => Err(error.to_string()),
        }
    })
    .await
}

/// A request to `Counter/<key>/add` with `value`, for `Proxy`.
fn proxied_add(key: &str, value: i64) -> ProxyRequest {
    ProxyRequest {
        service_name: COUNTER.to_owned(),
        virtual_object_key: Some(key.to_owned()),
        handler_name: "add".to_owned(),
        message: json_payload(value),
        ..Default::default()
    }
}

/// Polls `AwakeableHolder/<key>/hasAwakeable` until it holds one, then resolves it.
async fn unlock_awakeable_holder(ingress: &RawIngress, key: &str) {
    eventually(
        &format!("AwakeableHolder {key} holds an awakeable"),
        WAIT,
        || async {
            match ingress
                .call_void::<bool>(&format!("{AWAKEABLE_HOLDER}/{key}/hasAwakeable"))
                .await
            {
                Ok(true) => Ok(()),
                Ok(false) => Err("no awakeable yet".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        },
    )
    .await;
    expect_ok(
        ingress
            .call::<()>(&format!("{AWAKEABLE_HOLDER}/{key}/unlock"), &"cancel")
            .await,
        "AwakeableHolder.unlock",
    );
}

/// Polls an exclusive no-op handler until it runs, i.e. until its key is no longer locked.
async fn key_gets_unlocked(ingress: &RawIngress, target: &str) {
    let short = RawIngress::with_timeout(
        ingress.ingress_url(),
        ingress.admin_url(),
        Duration::from_secs(5),
    );
    eventually(&format!("{target} answers"), WAIT, || async {
        let key = random_key();
        match short
            .post(target, Vec::new(), &[("idempotency-key", key.as_str())])
            .await
        {
            Ok(response) => response.decode::<()>().map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await
}

// ------------------------------------------------------------------------------------------

/// `CallOrdering`: calls and sends made by one handler reach a virtual object in the order they
/// were made.
pub mod call_ordering {
    use super::*;

    /// `ordering(ordering)`: `one_way[i]` tells whether request `i` is a send.
    pub async fn ordering(ingress: &RawIngress, one_way: [bool; 3]) {
        let list = random_key();
        let calls = one_way
            .iter()
            .enumerate()
            .map(|(i, &one_way)| ManyCallRequest {
                proxy_request: Some(ProxyRequest {
                    service_name: "conformance.ListObject".to_owned(),
                    virtual_object_key: Some(list.clone()),
                    handler_name: "append".to_owned(),
                    message: json_payload(i.to_string()),
                    ..Default::default()
                }),
                one_way_call: one_way,
                await_at_the_end: !one_way,
            })
            .collect();
        expect_ok(
            ingress
                .call::<()>(&format!("{PROXY}/manyCalls"), &ManyCallsRequest { calls })
                .await,
            "Proxy.manyCalls",
        );
        let cleared: Vec<String> = expect_ok(
            ingress
                .call_void(&format!("conformance.ListObject/{list}/clear"))
                .await,
            "ListObject.clear",
        );
        assert_eq!(cleared, ["0", "1", "2"]);
    }
}

// ------------------------------------------------------------------------------------------

/// `Cancellation`: cancelling the root of a call tree cancels the blocked call, and every key
/// it held is released.
pub mod cancellation {
    use super::*;

    /// How a test cancels the runner.
    #[derive(Clone, Copy, Debug)]
    pub enum From {
        /// `PATCH /invocations/{id}/cancel` on the admin API.
        AdminApi,
        /// `TestUtilsService.cancelInvocation`, through the context API.
        Context,
    }

    /// `cancelFromAdminAPI(op)` and `cancelFromContext(op)`; `op` is `CALL`, `SLEEP` or
    /// `AWAKEABLE`.
    pub async fn cancel(ingress: &RawIngress, from: From, op: &str) {
        let key = random_key();
        let invocation_id = match from {
            From::AdminApi => {
                ingress
                    .send(
                        &format!("conformance.CancelTestRunner/{key}/startTest"),
                        &op,
                    )
                    .await
                    .invocation_id
            }
            From::Context => {
                let request = ProxyRequest {
                    service_name: "conformance.CancelTestRunner".to_owned(),
                    virtual_object_key: Some(key.clone()),
                    handler_name: "startTest".to_owned(),
                    message: json_payload(op),
                    ..Default::default()
                };
                expect_ok(
                    ingress
                        .call::<String>(&format!("{PROXY}/oneWayCall"), &request)
                        .await,
                    "Proxy.oneWayCall",
                )
            }
        };
        assert!(invocation_id.starts_with("inv"), "{invocation_id}");

        unlock_awakeable_holder(ingress, &key).await;

        let verify = RawIngress::with_timeout(
            ingress.ingress_url(),
            ingress.admin_url(),
            Duration::from_secs(1),
        );
        let canceled = eventually("the runner is cancelled", WAIT, || async {
            match from {
                From::AdminApi => {
                    let status = ingress
                        .admin_patch(&format!("invocations/{invocation_id}/cancel"))
                        .await;
                    if !matches!(status, 200 | 202 | 404 | 409) {
                        return Err(format!("cancelling answered {status}"));
                    }
                }
                From::Context => {
                    ingress
                        .call::<()>(&format!("{TEST_UTILS}/cancelInvocation"), &invocation_id)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            let idempotency_key = random_key();
            verify
                .post(
                    &format!("conformance.CancelTestRunner/{key}/verifyTest"),
                    Vec::new(),
                    &[("idempotency-key", idempotency_key.as_str())],
                )
                .await
                .map_err(|e| e.to_string())?
                .decode::<bool>()
                .map_err(|e| e.to_string())
        })
        .await;
        assert!(canceled, "startTest did not see its call cancelled");

        key_gets_unlocked(
            ingress,
            &format!("conformance.CancelTestBlockingService/{key}/isUnlocked"),
        )
        .await;
    }
}

// ------------------------------------------------------------------------------------------

/// `Combinators`: awaiting several durable futures at once.
pub mod combinators {
    use super::*;
    use awaitable_command::Command as A;
    use command::Command as C;

    pub(crate) fn awakeable(key: &str) -> AwaitableCommand {
        AwaitableCommand {
            command: Some(A::CreateAwakeable(CreateAwakeable {
                awakeable_key: key.to_owned(),
            })),
        }
    }

    fn sleep(millis: i64) -> AwaitableCommand {
        AwaitableCommand {
            command: Some(A::Sleep(SleepCommand {
                timeout_millis: millis,
            })),
        }
    }

    fn signal(name: &str) -> AwaitableCommand {
        AwaitableCommand {
            command: Some(A::CreateSignal(CreateSignal {
                signal_name: name.to_owned(),
            })),
        }
    }

    fn run_returns(value: &str) -> AwaitableCommand {
        AwaitableCommand {
            command: Some(A::RunReturns(RunReturns {
                value: value.to_owned(),
            })),
        }
    }

    fn run_fails(reason: &str) -> AwaitableCommand {
        AwaitableCommand {
            command: Some(A::RunThrowTerminalException(RunThrowTerminalException {
                reason: reason.to_owned(),
            })),
        }
    }

    fn many(commands: Vec<AwaitableCommand>) -> AwaitMany {
        AwaitMany { commands }
    }

    /// A program of one command.
    pub fn program(command: C) -> InterpretRequest {
        InterpretRequest {
            commands: vec![Command {
                command: Some(command),
            }],
        }
    }

    /// `createSignal` awaited alone.
    pub fn await_signal(name: &str) -> InterpretRequest {
        program(C::AwaitOne(AwaitOne {
            command: Some(signal(name)),
        }))
    }

    /// A sleep awaited alone.
    pub fn await_sleep(millis: i64) -> InterpretRequest {
        program(C::AwaitOne(AwaitOne {
            command: Some(sleep(millis)),
        }))
    }

    /// 20 sleeps awaited together.
    pub fn await_many_sleeps(millis: impl IntoIterator<Item = i64>) -> InterpretRequest {
        program(C::AwaitAllCompleted(many(
            millis.into_iter().map(sleep).collect(),
        )))
    }

    async fn interpret(
        ingress: &RawIngress,
        key: &str,
        request: &InterpretRequest,
    ) -> Result<String, CallError> {
        ingress
            .call(&format!("{INTERPRETER}/{key}/interpretCommands"), request)
            .await
    }

    async fn send(ingress: &RawIngress, key: &str, request: &InterpretRequest) -> String {
        ingress
            .send(&format!("{INTERPRETER}/{key}/interpretCommands"), request)
            .await
            .invocation_id
    }

    async fn resolve_signal(ingress: &RawIngress, invocation_id: &str, name: &str, value: &str) {
        let request = ResolveSignalRequest {
            invocation_id: invocation_id.to_owned(),
            signal_name: name.to_owned(),
            value: value.to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{TEST_UTILS}/resolveSignal"), &request)
                .await,
            "TestUtilsService.resolveSignal",
        );
    }

    async fn reject_signal(ingress: &RawIngress, invocation_id: &str, name: &str, reason: &str) {
        let request = RejectSignalRequest {
            invocation_id: invocation_id.to_owned(),
            signal_name: name.to_owned(),
            reason: reason.to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{TEST_UTILS}/rejectSignal"), &request)
                .await,
            "TestUtilsService.rejectSignal",
        );
    }

    /// Resolves the awakeable `awakeable` of interpreter `key` with `value`.
    pub(crate) async fn resolve_awakeable(
        ingress: &RawIngress,
        key: &str,
        awakeable: &str,
        value: &str,
    ) {
        let resolve = ResolveAwakeable {
            awakeable_key: awakeable.to_owned(),
            value: value.to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{INTERPRETER}/{key}/resolveAwakeable"), &resolve)
                .await,
            "resolveAwakeable",
        );
    }

    pub(crate) async fn has_awakeable(ingress: &RawIngress, key: &str, awakeable: &str) -> bool {
        expect_ok(
            ingress
                .call(&format!("{INTERPRETER}/{key}/hasAwakeable"), &awakeable)
                .await,
            "hasAwakeable",
        )
    }

    /// `awakeableOrTimeoutUsingAwaitAny`.
    pub async fn awakeable_or_timeout_using_await_any(ingress: &RawIngress) {
        let request = program(C::AwaitAny(many(vec![awakeable("awk1"), sleep(100)])));
        let result = interpret(ingress, &random_key(), &request).await;
        assert_eq!(expect_ok(result, "interpretCommands"), "sleep");
    }

    /// `awakeableOrTimeoutUsingAwakeableTimeoutCommand`.
    pub async fn awakeable_or_timeout_using_awakeable_timeout_command(ingress: &RawIngress) {
        let request = program(C::AwaitAwakeableOrTimeout(AwaitAwakeableOrTimeout {
            awakeable_key: "should-timeout-awk".to_owned(),
            timeout_millis: 100,
        }));
        let result = interpret(ingress, &random_key(), &request).await;
        let error = expect_failure(result, "interpretCommands");
        assert!(error.message.contains("await-timeout"), "{error}");
    }

    /// `firstSuccessfulCompletedAwakeable`.
    pub async fn first_successful_completed_awakeable(ingress: &RawIngress) {
        let key = random_key();
        let request = program(C::AwaitAnySuccessful(many(vec![
            awakeable("awk0"),
            run_fails("run0"),
            awakeable("awk1"),
            run_fails("run1"),
            awakeable("awk2"),
            run_fails("run2"),
        ])));
        let invocation_id = send(ingress, &key, &request).await;

        eventually("awk2 is registered", WAIT, || async {
            if has_awakeable(ingress, &key, "awk2").await {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        })
        .await;
        assert!(has_awakeable(ingress, &key, "awk0").await);
        assert!(has_awakeable(ingress, &key, "awk1").await);

        let reject = RejectAwakeable {
            awakeable_key: "awk2".to_owned(),
            reason: "fail".to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{INTERPRETER}/{key}/rejectAwakeable"), &reject)
                .await,
            "rejectAwakeable",
        );
        resolve_awakeable(ingress, &key, "awk1", "awk1-result").await;
        let result: String = expect_ok(ingress.attach(&invocation_id).await, "attach");
        assert_eq!(result, "awk1-result");
    }

    /// Sends, on a fresh key, a program that awaits signals `sig0`, `sig1` and `sig2` with
    /// `combinator`; returns the invocation id.
    async fn send_awaiting_three_signals(
        ingress: &RawIngress,
        combinator: fn(AwaitMany) -> C,
    ) -> String {
        let signals = many(vec![signal("sig0"), signal("sig1"), signal("sig2")]);
        send(ingress, &random_key(), &program(combinator(signals))).await
    }

    /// `signalFirstSuccessfulOrAllFailed`.
    pub async fn signal_first_successful_or_all_failed(ingress: &RawIngress) {
        let id = send_awaiting_three_signals(ingress, C::AwaitAnySuccessful).await;
        reject_signal(ingress, &id, "sig0", "fail0").await;
        reject_signal(ingress, &id, "sig2", "fail2").await;
        resolve_signal(ingress, &id, "sig1", "success1").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "success1");
    }

    /// `signalAllSuccessfulOrFirstFailed`.
    pub async fn signal_all_successful_or_first_failed(ingress: &RawIngress) {
        let id = send_awaiting_three_signals(ingress, C::AwaitAllSucceededOrFirstFailed).await;
        resolve_signal(ingress, &id, "sig0", "val0").await;
        resolve_signal(ingress, &id, "sig1", "val1").await;
        resolve_signal(ingress, &id, "sig2", "val2").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "val0|val1|val2");
    }

    /// `signalAllCompleted`.
    pub async fn signal_all_completed(ingress: &RawIngress) {
        let id = send_awaiting_three_signals(ingress, C::AwaitAllCompleted).await;
        resolve_signal(ingress, &id, "sig0", "val0").await;
        reject_signal(ingress, &id, "sig1", "err1").await;
        resolve_signal(ingress, &id, "sig2", "val2").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "ok:val0|err:err1|ok:val2");
    }

    /// `signalFirstCompleted`.
    pub async fn signal_first_completed(ingress: &RawIngress) {
        let id = send_awaiting_three_signals(ingress, C::AwaitAny).await;
        resolve_signal(ingress, &id, "sig1", "first").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "first");
    }

    /// `mixedRunWinsRaceAgainstSignal`.
    pub async fn mixed_run_wins_race_against_signal(ingress: &RawIngress) {
        let request = program(C::AwaitFirstCompleted(many(vec![
            signal("sig"),
            run_returns("runval"),
        ])));
        let result = interpret(ingress, &random_key(), &request).await;
        assert_eq!(expect_ok(result, "interpretCommands"), "runval");
    }

    /// `mixedSignalWinsAfterRunFails`.
    pub async fn mixed_signal_wins_after_run_fails(ingress: &RawIngress) {
        let key = random_key();
        let request = program(C::AwaitFirstSucceededOrAllFailed(many(vec![
            run_fails("fail"),
            signal("sig"),
        ])));
        let id = send(ingress, &key, &request).await;
        resolve_signal(ingress, &id, "sig", "sigval").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "sigval");
    }

    /// `mixedAllSucceededRunAndSignal`.
    pub async fn mixed_all_succeeded_run_and_signal(ingress: &RawIngress) {
        let key = random_key();
        let request = program(C::AwaitAllSucceededOrFirstFailed(many(vec![
            run_returns("runval"),
            signal("sig"),
        ])));
        let id = send(ingress, &key, &request).await;
        resolve_signal(ingress, &id, "sig", "sigval").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "runval|sigval");
    }

    /// `mixedAllCompletedRunSignalAndFailedRun`.
    pub async fn mixed_all_completed_run_signal_and_failed_run(ingress: &RawIngress) {
        let key = random_key();
        let request = program(C::AwaitAllCompleted(many(vec![
            run_returns("runval"),
            signal("sig"),
            run_fails("fail"),
        ])));
        let id = send(ingress, &key, &request).await;
        resolve_signal(ingress, &id, "sig", "sigval").await;
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "ok:runval|ok:sigval|err:fail");
    }
}

// ------------------------------------------------------------------------------------------

/// `RawIngress`: what the ingress forwards to a handler.
pub mod ingress_scenarios {
    use super::*;

    /// `headersPassThrough`.
    pub async fn headers_pass_through(ingress: &RawIngress) {
        let headers: HashMap<String, Value> = expect_ok(
            ingress
                .call_with_headers(
                    &format!("{TEST_UTILS}/echoHeaders"),
                    &json!({}),
                    &[("x-my-custom-header", "x-my-custom-value")],
                )
                .await,
            "echoHeaders",
        );
        assert_eq!(
            headers.get("x-my-custom-header"),
            Some(&json!("x-my-custom-value")),
            "{headers:?}"
        );
    }

    /// `rawHandler`: 100 random bytes reach a raw handler and come back untouched.
    pub async fn raw_handler(ingress: &RawIngress) {
        use restate_runtime::rand::{RngCore, SeedableRng};
        let mut bytes = vec![0; 100];
        restate_runtime::rand::rngs::StdRng::seed_from_u64(u64::from_le_bytes(*b"rawbytes"))
            .fill_bytes(&mut bytes);
        let response = crate::raw_ingress::http_client()
            .post(format!("{}/{TEST_UTILS}/rawEcho", ingress.ingress_url()))
            .header("content-type", "application/octet-stream")
            .header("idempotency-key", random_key())
            .body(bytes.clone())
            .send()
            .await
            .expect("the ingress answers");
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/octet-stream"[..])
        );
        assert_eq!(response.bytes().await.unwrap(), bytes);
    }
}

// ------------------------------------------------------------------------------------------

/// `KillInvocation`: killing the root of a call tree kills the whole tree, inboxed calls
/// included, and releases the keys.
pub mod kill_invocation {
    use super::*;

    /// `kill`.
    pub async fn kill(ingress: &RawIngress) {
        let key = random_key();
        let id = ingress
            .send(
                &format!("conformance.KillTestRunner/{key}/startCallTree"),
                &json!({}),
            )
            .await
            .invocation_id;
        unlock_awakeable_holder(ingress, &key).await;
        eventually("the kill is accepted", WAIT, || async {
            match ingress.admin_patch(&format!("invocations/{id}/kill")).await {
                200 => Ok(()),
                status => Err(format!("killing answered {status}")),
            }
        })
        .await;
        key_gets_unlocked(
            ingress,
            &format!("conformance.KillTestSingleton/{key}/isUnlocked"),
        )
        .await;
    }
}

// ------------------------------------------------------------------------------------------

/// `KillRuntime` and `StopRuntime`: state written before a server restart is there after it.
pub mod runtime_restart {
    use super::*;

    /// Step 1: `Counter/<key>/add(1)` answers `{0, 1}`.
    pub async fn before_restart(ingress: &RawIngress, key: &str) {
        let response: CounterUpdateResponse = expect_ok(
            ingress.call(&format!("{COUNTER}/{key}/add"), &1).await,
            "Counter.add",
        );
        assert_eq!(
            response,
            CounterUpdateResponse {
                old_value: 0,
                new_value: 1
            }
        );
    }

    /// Step 3: `Counter/<key>/add(2)`, retried with one idempotency key for up to 60 s with a
    /// 5 s timeout per attempt, answers `{1, 3}`.
    pub async fn after_restart(ingress_url: &str, admin_url: &str, key: &str) {
        let idempotency_key = random_key();
        let response = eventually(
            "Counter.add after the restart",
            Duration::from_secs(60),
            || async {
                let client =
                    RawIngress::with_timeout(ingress_url, admin_url, Duration::from_secs(5));
                client
                    .post(
                        &format!("{COUNTER}/{key}/add"),
                        json_payload(2),
                        &[("idempotency-key", idempotency_key.as_str())],
                    )
                    .await
                    .map_err(|e| e.to_string())?
                    .decode::<CounterUpdateResponse>()
                    .map_err(|e| e.to_string())
            },
        )
        .await;
        assert_eq!(
            response,
            CounterUpdateResponse {
                old_value: 1,
                new_value: 3
            }
        );
    }
}

// ------------------------------------------------------------------------------------------

/// `NonDeterminismErrors`: a handler whose replay does not match its journal fails, and never
/// gets past the mismatch.
pub mod non_determinism {
    use super::*;

    /// `method(handler)`: calls `NonDeterministic/<key>/<handler>`, which must fail, and checks
    /// that its final send to `Counter/<key>` never happened. Returns the error the caller got
    /// and the object key.
    pub async fn method(ingress: &RawIngress, handler: &str) -> (CallError, String) {
        // A key per run, so the scenario can run against a server more than once.
        let key = format!("{handler}-{}", random_key());
        expect_ok(
            ingress
                .call::<CounterUpdateResponse>(&format!("{COUNTER}/{key}/add"), &1)
                .await,
            "Counter.add",
        );
        let idempotency_key = random_key();
        let response = ingress
            .post(
                &format!("conformance.NonDeterministic/{key}/{handler}"),
                Vec::new(),
                &[("idempotency-key", idempotency_key.as_str())],
            )
            .await
            .unwrap_or_else(|e| panic!("POST {handler} failed: {e}"));
        let error = expect_failure(response.decode::<()>(), handler);
        // Give a wrongly executed send time to land, then check it never did.
        tokio::time::sleep(Duration::from_millis(500)).await;
        counter_reaches(ingress, &key, 1).await;
        (error, key)
    }
}

// ------------------------------------------------------------------------------------------

/// `RunFlush`: with every `run` acknowledged only after a suspension, no side effect runs in
/// the attempt that completes the invocation.
pub mod run_flush {
    use super::*;

    /// `flush`: `countExecutedSideEffects(3)` returns 0.
    pub async fn flush(ingress: &RawIngress) {
        let count: i32 = expect_ok(
            ingress
                .call(&format!("{TEST_UTILS}/countExecutedSideEffects"), &3)
                .await,
            "countExecutedSideEffects",
        );
        assert_eq!(count, 0);
    }
}

// ------------------------------------------------------------------------------------------

/// `RunRetry`: retry policies of `run` side effects.
pub mod run_retry {
    use super::*;

    async fn failing(ingress: &RawIngress, handler: &str, argument: i32) -> i32 {
        expect_ok(
            ingress
                .call(&format!("{FAILING}/{}/{handler}", random_key()), &argument)
                .await,
            handler,
        )
    }

    /// `withSuccess`.
    pub async fn with_success(ingress: &RawIngress) {
        let attempts = failing(ingress, "sideEffectSucceedsAfterGivenAttempts", 3).await;
        assert!(attempts >= 3, "{attempts}");
    }

    /// `executedOnlyOnce`.
    pub async fn executed_only_once(ingress: &RawIngress) {
        let attempts = failing(ingress, "sideEffectFailsAfterGivenAttempts", 1).await;
        assert!(attempts >= 1, "{attempts}");
    }

    /// `withExhaustedAttempts`.
    pub async fn with_exhausted_attempts(ingress: &RawIngress) {
        let attempts = failing(ingress, "sideEffectFailsAfterGivenAttempts", 3).await;
        assert!(attempts >= 3, "{attempts}");
    }
}

// ------------------------------------------------------------------------------------------

/// `ServiceToServiceCommunication`: calls and sends between handlers.
pub mod service_to_service {
    use super::*;

    /// `regularCall`.
    pub async fn regular_call(ingress: &RawIngress) {
        let request = ProxyRequest {
            service_name: TEST_UTILS.to_owned(),
            handler_name: "uppercaseEcho".to_owned(),
            message: json_payload("ping"),
            ..Default::default()
        };
        let response: BytesValue = expect_ok(
            ingress.call(&format!("{PROXY}/call"), &request).await,
            "Proxy.call",
        );
        assert_eq!(&response.value[..], br#""PING""#);
    }

    /// `oneWayCall`.
    pub async fn one_way_call(ingress: &RawIngress) {
        let key = random_key();
        let id: String = expect_ok(
            ingress
                .call(&format!("{PROXY}/oneWayCall"), &proxied_add(&key, 1))
                .await,
            "Proxy.oneWayCall",
        );
        assert!(id.starts_with("inv"), "{id}");
        counter_reaches(ingress, &key, 1).await;
    }

    /// `oneWayCallWithIdempotencyKey`.
    pub async fn one_way_call_with_idempotency_key(ingress: &RawIngress) {
        let key = random_key();
        let idempotency_key = random_key();
        let request = ProxyRequest {
            idempotency_key: Some(idempotency_key.clone()),
            ..proxied_add(&key, 1)
        };
        // No idempotency key on the ingress request: the proxy may run more than once, its
        // sends are deduplicated by theirs.
        for _ in 0..2 {
            let response = ingress
                .post(&format!("{PROXY}/oneWayCall"), json_payload(&request), &[])
                .await
                .expect("the ingress answers");
            expect_ok(response.decode::<String>(), "Proxy.oneWayCall");
        }
        counter_reaches(ingress, &key, 1).await;
        let output: CounterUpdateResponse = expect_ok(
            ingress
                .get(&format!(
                    "restate/invocation/{COUNTER}/{key}/add/{idempotency_key}/output"
                ))
                .await,
            "the output by idempotency key",
        );
        assert_eq!(
            output,
            CounterUpdateResponse {
                old_value: 0,
                new_value: 1
            }
        );
    }

    /// `callWithIdempotencyKey`.
    pub async fn call_with_idempotency_key(ingress: &RawIngress) {
        let key = random_key();
        let idempotency_key = random_key();
        let request = ProxyRequest {
            idempotency_key: Some(idempotency_key.clone()),
            ..proxied_add(&key, 1)
        };
        let expected = CounterUpdateResponse {
            old_value: 0,
            new_value: 1,
        };
        for _ in 0..2 {
            let response = ingress
                .post(&format!("{PROXY}/call"), json_payload(&request), &[])
                .await
                .expect("the ingress answers");
            let bytes = expect_ok(response.decode::<BytesValue>(), "Proxy.call");
            let decoded: CounterUpdateResponse =
                serde_json::from_slice(&bytes.value).expect("a CounterUpdateResponse");
            assert_eq!(decoded, expected);
        }
        counter_reaches(ingress, &key, 1).await;
        let output: CounterUpdateResponse = expect_ok(
            ingress
                .get(&format!(
                    "restate/invocation/{COUNTER}/{key}/add/{idempotency_key}/output"
                ))
                .await,
            "the output by idempotency key",
        );
        assert_eq!(output, expected);
    }

    /// `oneWayCallWithDelay`: ten delayed sends land after the delay, and sending them did not
    /// wait for it.
    pub async fn one_way_call_with_delay(ingress: &RawIngress) {
        const DELAY: Duration = Duration::from_secs(5);
        let key = random_key();
        let started = Instant::now();
        let request = ProxyRequest {
            delay_millis: Some(i32::try_from(DELAY.as_millis()).expect("a small delay")),
            ..proxied_add(&key, 1)
        };
        for _ in 0..10 {
            let id: String = expect_ok(
                ingress.call(&format!("{PROXY}/oneWayCall"), &request).await,
                "Proxy.oneWayCall",
            );
            assert!(id.starts_with("inv"), "{id}");
        }
        // Had each send waited out its delay, the ten would have taken ten delays.
        let sent = started.elapsed();
        assert!(sent < DELAY * 10, "the sends took {sent:?}");
        counter_reaches(ingress, &key, 10).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= DELAY, "the sends ran after {elapsed:?}");
    }
}

// ------------------------------------------------------------------------------------------

/// `Signals`: named signals between invocations.
pub mod signals {
    use super::*;

    async fn start(ingress: &RawIngress) -> String {
        let request = combinators::await_signal("mysignal");
        ingress
            .send(
                &format!("{INTERPRETER}/{}/interpretCommands", random_key()),
                &request,
            )
            .await
            .invocation_id
    }

    /// `resolve`.
    pub async fn resolve(ingress: &RawIngress) {
        let id = start(ingress).await;
        let request = ResolveSignalRequest {
            invocation_id: id.clone(),
            signal_name: "mysignal".to_owned(),
            value: "hello".to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{TEST_UTILS}/resolveSignal"), &request)
                .await,
            "resolveSignal",
        );
        let result: String = expect_ok(ingress.attach(&id).await, "attach");
        assert_eq!(result, "hello");
    }

    /// `reject`.
    pub async fn reject(ingress: &RawIngress) {
        let id = start(ingress).await;
        let request = RejectSignalRequest {
            invocation_id: id.clone(),
            signal_name: "mysignal".to_owned(),
            reason: "boom".to_owned(),
        };
        expect_ok(
            ingress
                .call::<()>(&format!("{TEST_UTILS}/rejectSignal"), &request)
                .await,
            "rejectSignal",
        );
        let error = expect_failure(ingress.attach::<String>(&id).await, "attach");
        assert!(error.message.contains("boom"), "{error}");
    }
}

// ------------------------------------------------------------------------------------------

/// `Sleep`: durable timers.
pub mod sleep {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// `sleep`: a 10 ms sleep takes at least 10 ms.
    pub async fn sleep(ingress: &RawIngress) {
        let started = Instant::now();
        let result: String = expect_ok(
            ingress
                .call(
                    &format!("{INTERPRETER}/{}/interpretCommands", random_key()),
                    &combinators::await_sleep(10),
                )
                .await,
            "interpretCommands",
        );
        assert_eq!(result, "sleep");
        assert!(started.elapsed() >= Duration::from_millis(10));
    }

    /// `manySleeps`: 50 invocations with 20 timers each all complete.
    pub async fn many_sleeps(ingress: &RawIngress) {
        let mut rng = rand::rngs::StdRng::from_os_rng();
        let calls = (0..50).map(|_| {
            let request = combinators::await_many_sleeps(
                (0..20)
                    .map(|_| rng.random_range(10..50))
                    .collect::<Vec<_>>(),
            );
            async move {
                ingress
                    .call::<String>(
                        &format!("{INTERPRETER}/{}/interpretCommands", random_key()),
                        &request,
                    )
                    .await
            }
        });
        let results = futures::future::join_all(calls.collect::<Vec<_>>()).await;
        for result in results {
            let result = expect_ok(result, "interpretCommands");
            assert_eq!(result.split('|').count(), 20, "{result}");
        }
    }
}

// ------------------------------------------------------------------------------------------

/// `State`: virtual object state.
pub mod state {
    use super::*;

    /// `add`.
    pub async fn add(ingress: &RawIngress) {
        let key = random_key();
        let first: CounterUpdateResponse = expect_ok(
            ingress.call(&format!("{COUNTER}/{key}/add"), &1).await,
            "add",
        );
        assert_eq!(
            first,
            CounterUpdateResponse {
                old_value: 0,
                new_value: 1
            }
        );
        let second: CounterUpdateResponse = expect_ok(
            ingress.call(&format!("{COUNTER}/{key}/add"), &2).await,
            "add",
        );
        assert_eq!(
            second,
            CounterUpdateResponse {
                old_value: 1,
                new_value: 3
            }
        );
    }

    /// `proxyOneWayAdd`.
    pub async fn proxy_one_way_add(ingress: &RawIngress) {
        let key = random_key();
        for _ in 0..3 {
            expect_ok(
                ingress
                    .call::<String>(&format!("{PROXY}/oneWayCall"), &proxied_add(&key, 1))
                    .await,
                "Proxy.oneWayCall",
            );
        }
        counter_reaches(ingress, &key, 3).await;
    }

    /// `listStateAndClearAll`.
    pub async fn list_state_and_clear_all(ingress: &RawIngress) {
        let map = random_key();
        let other = format!("{map}1");
        let set = |key: &str, entry: &str, value: &str| {
            let path = format!("conformance.MapObject/{key}/set");
            let entry = MapEntry {
                key: entry.to_owned(),
                value: value.to_owned(),
            };
            async move { expect_ok(ingress.call::<()>(&path, &entry).await, "MapObject.set") }
        };
        set(&map, "my-key-0", "my-value-0").await;
        set(&map, "my-key-1", "my-value-1").await;
        set(&other, "my-key-2", "my-value-2").await;

        let cleared: MapEntries = expect_ok(
            ingress
                .call_void(&format!("conformance.MapObject/{map}/clearAll"))
                .await,
            "MapObject.clearAll",
        );
        let keys: BTreeSet<&str> = cleared.entries.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, BTreeSet::from(["my-key-0", "my-key-1"]));

        let get = |key: &str, entry: &str| {
            let path = format!("conformance.MapObject/{key}/get");
            let entry = entry.to_owned();
            async move { expect_ok(ingress.call::<String>(&path, &entry).await, "MapObject.get") }
        };
        assert_eq!(get(&map, "my-key-0").await, "");
        assert_eq!(get(&map, "my-key-1").await, "");
        assert_eq!(get(&other, "my-key-2").await, "my-value-2");
    }
}

// ------------------------------------------------------------------------------------------

/// `UserErrors`: terminal errors reach callers with their message (and metadata), retryable
/// ones are retried.
pub mod user_errors {
    use super::*;

    fn failure(message: &str) -> FailureToPropagate {
        FailureToPropagate {
            error_message: message.to_owned(),
            metadata: Default::default(),
        }
    }

    async fn fails_with(ingress: &RawIngress, handler: &str, message: &str) {
        let result = ingress
            .call::<Value>(
                &format!("{FAILING}/{}/{handler}", random_key()),
                &failure(message),
            )
            .await;
        let error = expect_failure(result, handler);
        assert!(error.message.contains(message), "{error}");
    }

    /// The metadata variants: a raw request, a JSON error body with message and metadata.
    async fn fails_with_metadata(ingress: &RawIngress, handler: &str, message: &str) {
        let body = json!({
            "errorMessage": message,
            "metadata": { "key1": "value1", "key2": "value2" }
        });
        let idempotency_key = random_key();
        let response = ingress
            .post(
                &format!("{FAILING}/{}/{handler}", random_key()),
                json_payload(&body),
                &[("idempotency-key", idempotency_key.as_str())],
            )
            .await
            .expect("the ingress answers");
        let error = response.json();
        assert!(response.status >= 400, "{}: {error}", response.status);
        assert!(
            error["message"]
                .as_str()
                .is_some_and(|m| m.contains(message)),
            "{error}"
        );
        assert_eq!(error["metadata"]["key1"], "value1", "{error}");
        assert_eq!(error["metadata"]["key2"], "value2", "{error}");
    }

    /// `invokeTerminallyFailingCall`.
    pub async fn invoke_terminally_failing_call(ingress: &RawIngress) {
        fails_with(ingress, "terminallyFailingCall", "my error").await;
    }

    /// `failSeveralTimes`.
    pub async fn fail_several_times(ingress: &RawIngress) {
        for _ in 0..3 {
            invoke_terminally_failing_call(ingress).await;
        }
    }

    /// `internalCallFailurePropagation`.
    pub async fn internal_call_failure_propagation(ingress: &RawIngress) {
        fails_with(ingress, "callTerminallyFailingCall", "propagated error").await;
    }

    /// `sideEffectWithTerminalError`.
    pub async fn side_effect_with_terminal_error(ingress: &RawIngress) {
        fails_with(ingress, "terminallyFailingSideEffect", "failed side effect").await;
    }

    /// `invokeTerminallyFailingCallWithMetadata`.
    pub async fn invoke_terminally_failing_call_with_metadata(ingress: &RawIngress) {
        fails_with_metadata(ingress, "terminallyFailingCall", "my error with metadata").await;
    }

    /// `failSeveralTimesWithMetadata`.
    pub async fn fail_several_times_with_metadata(ingress: &RawIngress) {
        for _ in 0..3 {
            invoke_terminally_failing_call_with_metadata(ingress).await;
        }
    }

    /// `internalCallFailurePropagationWithMetadata`.
    pub async fn internal_call_failure_propagation_with_metadata(ingress: &RawIngress) {
        fails_with_metadata(
            ingress,
            "callTerminallyFailingCall",
            "propagated error with metadata",
        )
        .await;
    }

    /// `sideEffectWithTerminalErrorWithMetadata`.
    pub async fn side_effect_with_terminal_error_with_metadata(ingress: &RawIngress) {
        fails_with_metadata(
            ingress,
            "terminallyFailingSideEffect",
            "failed side effect with metadata",
        )
        .await;
    }

    /// `setStateThenFailShouldPersistState`.
    pub async fn set_state_then_fail_should_persist_state(ingress: &RawIngress) {
        let key = format!("my-failure-counter-{}", random_key());
        let result = ingress
            .call::<Value>(&format!("{COUNTER}/{key}/addThenFail"), &1)
            .await;
        let error = expect_failure(result, "addThenFail");
        assert!(error.message.contains(&key), "{error}");
        assert_eq!(expect_ok(counter_value(ingress, &key).await, "get"), 1);
    }

    /// `invocationWithEventualSuccess`: relies on Restate retrying the invocation.
    pub async fn invocation_with_eventual_success(ingress: &RawIngress) {
        let result: i32 = expect_ok(
            ingress
                .call_void(&format!(
                    "{FAILING}/{}/failingCallWithEventualSuccess",
                    random_key()
                ))
                .await,
            "failingCallWithEventualSuccess",
        );
        assert_eq!(result, 4);
    }
}

// ------------------------------------------------------------------------------------------

/// `WorkflowAPI`: a workflow runs once per id, and its output can be attached to.
pub mod workflow_api {
    use super::*;

    /// `setAndResolve`.
    pub async fn set_and_resolve(ingress: &RawIngress) {
        let id = random_key();
        let workflow = format!("conformance.BlockAndWaitWorkflow/{id}");
        let first = ingress
            .send_with_headers(&format!("{workflow}/run"), &"Francesco", &[])
            .await;
        assert_eq!(first.status, "Accepted");

        eventually("the workflow state is set", WAIT, || async {
            match ingress
                .call_void::<String>(&format!("{workflow}/getState"))
                .await
            {
                Ok(state) if !state.trim().is_empty() => Ok(()),
                Ok(_) => Err("blank".to_owned()),
                Err(error) => Err(error.to_string()),
            }
        })
        .await;

        expect_ok(
            ingress
                .call::<()>(&format!("{workflow}/unblock"), &"Till")
                .await,
            "unblock",
        );
        let path = format!("restate/workflow/conformance.BlockAndWaitWorkflow/{id}");
        let attached: String = expect_ok(ingress.get(&format!("{path}/attach")).await, "attach");
        assert_eq!(attached, "Till");
        let output: String = expect_ok(ingress.get(&format!("{path}/output")).await, "output");
        assert_eq!(output, "Till");

        let again = ingress
            .send_with_headers(&format!("{workflow}/run"), &"Francesco", &[])
            .await;
        assert_eq!(again.status, "PreviouslyAccepted");
        assert_eq!(again.invocation_id, first.invocation_id);
        let output: String = expect_ok(ingress.get(&format!("{path}/output")).await, "output");
        assert_eq!(output, "Till");
    }
}

/// One `#[tokio::test]` per scenario that holds under any server configuration (the core of
/// the suite), each calling its scenario with `$ingress()`, a function returning the
/// [`RawIngress`] of the server under test.
#[macro_export]
macro_rules! core_scenario_tests {
    ($ingress:ident) => {
        $crate::scenario_tests! { $ingress;
        cancel_from_admin_api_call: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::AdminApi, "CALL";
        cancel_from_admin_api_sleep: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::AdminApi, "SLEEP";
        cancel_from_admin_api_awakeable: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::AdminApi, "AWAKEABLE";
        cancel_from_context_call: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::Context, "CALL";
        cancel_from_context_sleep: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::Context, "SLEEP";
        cancel_from_context_awakeable: $crate::scenarios::cancellation::cancel, $crate::scenarios::cancellation::From::Context, "AWAKEABLE";

        combinators_awakeable_or_timeout_using_await_any:
            $crate::scenarios::combinators::awakeable_or_timeout_using_await_any;
        combinators_awakeable_or_timeout_using_awakeable_timeout_command:
            $crate::scenarios::combinators::awakeable_or_timeout_using_awakeable_timeout_command;
        combinators_first_successful_completed_awakeable:
            $crate::scenarios::combinators::first_successful_completed_awakeable;
        combinators_signal_first_successful_or_all_failed:
            $crate::scenarios::combinators::signal_first_successful_or_all_failed;
        combinators_signal_all_successful_or_first_failed:
            $crate::scenarios::combinators::signal_all_successful_or_first_failed;
        combinators_signal_all_completed: $crate::scenarios::combinators::signal_all_completed;
        combinators_signal_first_completed: $crate::scenarios::combinators::signal_first_completed;
        combinators_mixed_run_wins_race_against_signal:
            $crate::scenarios::combinators::mixed_run_wins_race_against_signal;
        combinators_mixed_signal_wins_after_run_fails:
            $crate::scenarios::combinators::mixed_signal_wins_after_run_fails;
        combinators_mixed_all_succeeded_run_and_signal:
            $crate::scenarios::combinators::mixed_all_succeeded_run_and_signal;
        combinators_mixed_all_completed_run_signal_and_failed_run:
            $crate::scenarios::combinators::mixed_all_completed_run_signal_and_failed_run;

        run_retry_with_success: $crate::scenarios::run_retry::with_success;
        run_retry_executed_only_once: $crate::scenarios::run_retry::executed_only_once;
        run_retry_with_exhausted_attempts: $crate::scenarios::run_retry::with_exhausted_attempts;

        service_to_service_regular_call: $crate::scenarios::service_to_service::regular_call;
        service_to_service_one_way_call: $crate::scenarios::service_to_service::one_way_call;
        service_to_service_one_way_call_with_idempotency_key:
            $crate::scenarios::service_to_service::one_way_call_with_idempotency_key;
        service_to_service_call_with_idempotency_key: $crate::scenarios::service_to_service::call_with_idempotency_key;
        service_to_service_one_way_call_with_delay: $crate::scenarios::service_to_service::one_way_call_with_delay;

        signals_resolve: $crate::scenarios::signals::resolve;
        signals_reject: $crate::scenarios::signals::reject;

        sleep: $crate::scenarios::sleep::sleep;
        sleep_many_sleeps: $crate::scenarios::sleep::many_sleeps;

        state_add: $crate::scenarios::state::add;
        state_proxy_one_way_add: $crate::scenarios::state::proxy_one_way_add;
        state_list_state_and_clear_all: $crate::scenarios::state::list_state_and_clear_all;

        user_errors_invoke_terminally_failing_call: $crate::scenarios::user_errors::invoke_terminally_failing_call;
        user_errors_fail_several_times: $crate::scenarios::user_errors::fail_several_times;
        user_errors_internal_call_failure_propagation: $crate::scenarios::user_errors::internal_call_failure_propagation;
        user_errors_side_effect_with_terminal_error: $crate::scenarios::user_errors::side_effect_with_terminal_error;
        user_errors_invoke_terminally_failing_call_with_metadata:
            $crate::scenarios::user_errors::invoke_terminally_failing_call_with_metadata;
        user_errors_fail_several_times_with_metadata: $crate::scenarios::user_errors::fail_several_times_with_metadata;
        user_errors_internal_call_failure_propagation_with_metadata:
            $crate::scenarios::user_errors::internal_call_failure_propagation_with_metadata;
        user_errors_side_effect_with_terminal_error_with_metadata:
            $crate::scenarios::user_errors::side_effect_with_terminal_error_with_metadata;
        user_errors_set_state_then_fail_should_persist_state:
            $crate::scenarios::user_errors::set_state_then_fail_should_persist_state;
        user_errors_invocation_with_eventual_success: $crate::scenarios::user_errors::invocation_with_eventual_success;

        workflow_api_set_and_resolve: $crate::scenarios::workflow_api::set_and_resolve;
        }
    };
}

/// One `#[tokio::test]` per `name: scenario function, extra arguments...;`.
#[doc(hidden)]
#[macro_export]
macro_rules! scenario_tests {
    ($ingress:ident; $($name:ident: $scenario:path $(, $argument:expr)*;)*) => {$(
        #[tokio::test]
        async fn $name() {
            $scenario(&$ingress() $(, $argument)*).await;
        }
    )*};
}

// ------------------------------------------------------------------------------------------

/// `ServiceToServiceScopeConcurrency`: a concurrency rule on a scope and limit key holds back
/// the calls a handler makes with them. Needs a server with vqueues and protocol v7.
pub mod scope_concurrency {
    use super::combinators::{awakeable, has_awakeable, program, resolve_awakeable};
    use super::*;
    use command::Command as C;

    const AWAKEABLE: &str = "block";

    /// A scoped send, through `Proxy.call`, to an interpreter that waits on an awakeable.
    fn blocking_call(key: &str, scope: &str, limit_key: &str) -> ProxyRequest {
        let block = program(C::AwaitOne(AwaitOne {
            command: Some(awakeable(AWAKEABLE)),
        }));
        let inner = ProxyRequest {
            service_name: INTERPRETER.to_owned(),
            virtual_object_key: Some(key.to_owned()),
            handler_name: "interpretCommands".to_owned(),
            message: json_payload(&block),
            ..Default::default()
        };
        ProxyRequest {
            service_name: PROXY.to_owned(),
            handler_name: "call".to_owned(),
            message: json_payload(&inner),
            scope: Some(scope.to_owned()),
            limit_key: Some(limit_key.to_owned()),
            ..Default::default()
        }
    }

    async fn resolve(ingress: &RawIngress, key: &str) {
        resolve_awakeable(ingress, key, AWAKEABLE, "done").await;
    }

    async fn finished(ingress: &RawIngress, key: &str) {
        eventually(&format!("interpreter {key} finished"), WAIT, || async {
            let results: Vec<String> = ingress
                .call_void(&format!("{INTERPRETER}/{key}/getResults"))
                .await
                .map_err(|e| e.to_string())?;
            if results.iter().any(|r| r == "done") {
                Ok(())
            } else {
                Err(format!("{results:?}"))
            }
        })
        .await;
    }

    /// Waits until the partition that runs `scope` enforces the rule `pattern`: a canary
    /// holds one slot while `sys_user_limits` is read, then is released. (The rule book
    /// reaches partitions asynchronously; invocations admitted before would run unlimited.)
    async fn rule_applied(ingress: &RawIngress, scope: &str, limit_key: &str, pattern: &str) {
        let canary = format!("{scope}-canary");
        expect_ok(
            ingress
                .call::<String>(
                    &format!("{PROXY}/oneWayCall"),
                    &blocking_call(&canary, scope, limit_key),
                )
                .await,
            "the canary",
        );
        eventually("the partition enforces the rule", WAIT, || async {
            let sql = format!(
                "SELECT rule_pattern, concurrency_limit FROM sys_user_limits \
                 WHERE scope = '{scope}' AND rule_pattern = '{pattern}'"
            );
            let rows = ingress.query(&sql).await;
            if rows.iter().any(|row| row["concurrency_limit"] == 2) {
                Ok(())
            } else {
                Err(format!("{rows:?}"))
            }
        })
        .await;
        eventually("the canary runs", WAIT, || async {
            if has_awakeable(ingress, &canary, AWAKEABLE).await {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        })
        .await;
        resolve(ingress, &canary).await;
        finished(ingress, &canary).await;
    }

    /// `scopeAndLimitKeyArePropagatedOnServiceToServiceCalls`.
    pub async fn scope_and_limit_key_are_propagated(ingress: &RawIngress) {
        // Rule patterns take parts of at most 36 bytes.
        let run: String = random_key().chars().take(8).collect();
        let (scope, limit_key) = (format!("s2s-scope-{run}"), format!("s2s-limitkey-{run}"));
        let pattern = format!("{scope}/{limit_key}");
        let limit = 2;
        let keys: Vec<String> = (0..4).map(|i| format!("interpreter-{run}-{i}")).collect();
        ingress
            .admin_json(
                reqwest::Method::PUT,
                "limits/rules",
                &serde_json::json!([{ "pattern": pattern, "limits": { "concurrency": limit } }]),
            )
            .await;
        rule_applied(ingress, &scope, &limit_key, &pattern).await;

        // One unscoped proxy invocation sends a scoped Proxy.call per key; each calls its
        // interpreter, which waits on an awakeable.
        let calls: Vec<ManyCallRequest> = keys
            .iter()
            .map(|key| ManyCallRequest {
                proxy_request: Some(blocking_call(key, &scope, &limit_key)),
                one_way_call: true,
                await_at_the_end: false,
            })
            .collect();
        expect_ok(
            ingress
                .call::<()>(&format!("{PROXY}/manyCalls"), &ManyCallsRequest { calls })
                .await,
            "Proxy.manyCalls",
        );

        let running = |unresolved: Vec<String>| async move {
            let mut running = Vec::new();
            for key in unresolved {
                if has_awakeable(ingress, &key, AWAKEABLE).await {
                    running.push(key);
                }
            }
            running
        };
        // Exactly `limit` run; the rest wait for a slot.
        eventually("exactly the limit runs", WAIT, || async {
            let now = running(keys.clone()).await;
            assert!(now.len() <= limit, "more than {limit} run: {now:?}");
            if now.len() == limit {
                Ok(())
            } else {
                Err(format!("{now:?}"))
            }
        })
        .await;
        // Releasing one lets a waiting one run, until all have.
        let mut unresolved = keys.clone();
        while !unresolved.is_empty() {
            let key = eventually("a running interpreter", WAIT, || async {
                let now = running(unresolved.clone()).await;
                assert!(now.len() <= limit, "more than {limit} run: {now:?}");
                now.first().cloned().ok_or_else(|| "none yet".to_owned())
            })
            .await;
            resolve(ingress, &key).await;
            unresolved.retain(|k| k != &key);
        }
        for key in &keys {
            finished(ingress, key).await;
        }
        ingress
            .admin_json(
                reqwest::Method::POST,
                "limits/rules/bulk-delete",
                &serde_json::json!([{ "pattern": pattern }]),
            )
            .await;
    }
}
