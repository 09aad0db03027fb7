//! The in-process simulator (`restate_test::sim`) driving the e2e services: every
//! step a replay, time virtual, no restate-server.

use std::time::{Duration, Instant, SystemTime};

use counter::counter::{AddRequest, CounterValue};
use greeter::helloworld::{HelloRequest, HelloResponse};
use restate_e2e::e2e::{
    FailOnceRequest, FailOnceResponse, FailRequest, GreetRequest, GreetResponse, NapRequest,
};
use restate_e2e::operations::ops::{StepsRequest, StepsResponse};
use restate_runtime::{Codec, Endpoint, Target};
use restate_test::sim::{SimError, Simulator};

fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(greeter::helloworld::GreeterServer::new(greeter::MyGreeter))
        .bind(counter::counter::CounterServer::new(counter::MyCounter))
        .bind(restate_e2e::e2e::MiscServer::new(
            restate_e2e::MiscService::default(),
        ))
        .bind(restate_e2e::operations::ops::StepsServer::new(
            restate_e2e::operations::StepsService::default(),
        ))
        .bind(restate_e2e::operations::ops::WaiterServer::new(
            restate_e2e::operations::WaiterObject,
        ))
        .bind(restate_e2e::operations::ops::ResolverServer::new(
            restate_e2e::operations::ResolverService,
        ))
        .build()
}

async fn simulator() -> Simulator {
    Simulator::new(endpoint()).await.expect("discovery")
}

fn target(service: &'static str, handler: &'static str) -> Target {
    Target::new(service, handler, Codec::Json)
}

/// Greets Ada through the greeter and checks the greeting; the invocation's id.
async fn greet_ada(sim: &mut Simulator) -> String {
    let id = sim
        .send(
            target("helloworld.Greeter", "SayHello"),
            &HelloRequest {
                name: "Ada".to_owned(),
            },
        )
        .unwrap();
    sim.run_until_done(&id).await.unwrap().unwrap();
    let response: HelloResponse = sim.output(&id).unwrap().expect("done").unwrap();
    assert_eq!(response.message, "Hello, Ada!");
    id
}

#[tokio::test]
async fn a_service_with_a_step_answers_after_replaying_it() {
    let mut sim = simulator().await;
    let id = greet_ada(&mut sim).await;
    // The step ran, the attempt suspended for its result, the next replayed it and answered:
    // input, run, its completion, output.
    assert_eq!(sim.attempts(&id).unwrap(), 2);
    assert_eq!(sim.journal_len(&id).unwrap(), 4);
}

#[tokio::test]
async fn objects_keep_state_per_key_and_run_one_exclusive_invocation_at_a_time() {
    let mut sim = simulator().await;
    let add = |key: &str| target("counter.Counter", "Add").with_key(key);
    // Queued on one key before anything runs: each sees the previous one's state.
    let sends: Vec<String> = (1..=5)
        .map(|delta| {
            sim.send(
                add("a"),
                &AddRequest {
                    delta,
                    ..Default::default()
                },
            )
            .unwrap()
        })
        .collect();
    sim.send(
        add("b"),
        &AddRequest {
            delta: 100,
            ..Default::default()
        },
    )
    .unwrap();
    sim.run_until_idle().await.unwrap();
    let values: Vec<i64> = sends
        .iter()
        .map(|id| {
            sim.output::<CounterValue>(id)
                .unwrap()
                .expect("done")
                .unwrap()
                .value
        })
        .collect();
    assert_eq!(values, [1, 3, 6, 10, 15]);
    let value: CounterValue = sim
        .call(target("counter.Counter", "Get").with_key("b"), &())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(value.value, 100);
    assert_eq!(sim.state("counter.Counter", "a")["count"], "15");
}

#[tokio::test]
async fn a_three_day_sleep_takes_virtual_time_only() {
    let mut sim = simulator().await;
    let three_days = Duration::from_secs(3 * 24 * 3600);
    let before = sim.now();
    let started = Instant::now();
    let id = sim
        .send(
            target("e2e.Misc", "Nap"),
            &NapRequest {
                millis: u64::try_from(three_days.as_millis()).unwrap(),
            },
        )
        .unwrap();
    // The endpoint reads the virtual clock for the wake-up time: it fires to the millisecond.
    sim.advance(three_days - Duration::from_millis(1))
        .await
        .unwrap();
    assert!(
        sim.output::<()>(&id).unwrap().is_none(),
        "woke a millisecond early"
    );
    sim.advance(Duration::from_millis(1)).await.unwrap();
    sim.output::<()>(&id).unwrap().expect("woke up").unwrap();
    assert!(sim.now().duration_since(before).unwrap() >= three_days);
    // Not a timing assertion: the test would take three days otherwise.
    assert!(started.elapsed() < three_days);
}

#[tokio::test]
async fn calls_between_services_and_their_errors() {
    let mut sim = simulator().await;
    let greeting: GreetResponse = sim
        .call(
            target("e2e.Misc", "GreetThroughGreeter"),
            &GreetRequest {
                name: "Grace".to_owned(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(greeting.greeting, "Hello, Grace!");

    let error = sim
        .call::<_, ()>(
            target("e2e.Misc", "FailTerminally"),
            &FailRequest {
                code: 409,
                message: "taken".to_owned(),
            },
        )
        .await
        .unwrap()
        .expect_err("fails terminally");
    assert_eq!((error.code(), error.message()), (409, "taken"));
}

#[tokio::test]
async fn a_failed_attempt_is_retried() {
    let mut sim = simulator().await;
    let response: FailOnceResponse = sim
        .call(
            target("e2e.Misc", "FailOnce"),
            &FailOnceRequest {
                key: "sim-fail-once".to_owned(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.attempts, 2);
}

#[tokio::test]
async fn a_handler_that_does_not_replay_its_journal_fails_the_test() {
    let mut sim = simulator().await;
    let error = sim
        .call::<_, StepsResponse>(
            target("ops.Steps", "Flip"),
            &StepsRequest {
                id: "flip".to_owned(),
                steps: 1,
            },
        )
        .await
        .expect_err("the replay differs");
    match error {
        SimError::Journal { code, .. } => assert_eq!(code, 570, "{error}"),
        other => panic!("expected a journal mismatch, got {other}"),
    }
}

#[tokio::test]
async fn generated_ingress_clients_call_the_simulator_unchanged() {
    use counter::counter::CounterIngressClient;
    use greeter::helloworld::GreeterIngressClient;
    use restate_e2e::e2e::MiscIngressClient;
    use restate_runtime::ingress::IngressError;

    let sim = simulator().await.into_shared();
    let ingress = sim.ingress();
    let greeting = GreeterIngressClient::new(&ingress)
        .say_hello(HelloRequest {
            name: "Ada".to_owned(),
        })
        .await
        .expect("the call succeeds");
    assert_eq!(greeting.message, "Hello, Ada!");

    let counter = CounterIngressClient::new(&ingress, "sim-key");
    counter
        .add(AddRequest {
            delta: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    // A send a day from now runs once the clock gets there.
    let sent = counter
        .add(AddRequest {
            delta: 40,
            ..Default::default()
        })
        .send_after(Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert_eq!(counter.get().await.unwrap().value, 2);
    sim.lock()
        .await
        .advance(Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    let value: CounterValue = ingress
        .invocation(&sent.invocation_id)
        .attach(Codec::Json)
        .await
        .unwrap();
    assert_eq!(value.value, 42);

    let error = MiscIngressClient::new(&ingress)
        .fail_terminally(FailRequest {
            code: 404,
            message: "gone".to_owned(),
        })
        .await
        .expect_err("fails terminally");
    match error {
        IngressError::Terminal(error) => assert_eq!((error.code(), error.message()), (404, "gone")),
        other => panic!("expected a terminal error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_workflow_waits_for_its_promise_and_runs_once_per_id() {
    use approval::approval::{ApprovalIngressClient, ApprovalRequest, Decision};
    use restate_runtime::ingress::SendStatus;

    let approvals = approval::MyApproval::default();
    let endpoint = Endpoint::builder()
        .bind(approval::approval::ApprovalServer::new(approvals.clone()))
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .build();
    let sim = Simulator::new(endpoint).await.unwrap().into_shared();
    let ingress = sim.ingress();
    let workflow = ApprovalIngressClient::new(&ingress, "expense-42");
    let request = ApprovalRequest {
        title: "laptop".to_owned(),
    };
    let sent = workflow.run(request.clone()).send().await.unwrap();
    assert_eq!(sent.status, SendStatus::Accepted);
    sim.lock().await.run_until_idle().await.unwrap();
    assert_eq!(
        workflow.status().await.unwrap().status,
        "waiting for a decision"
    );
    assert!(workflow.handle().get_output().await.unwrap().is_none());
    // The same id again joins the running workflow.
    let again = workflow.run(request).send().await.unwrap();
    assert_eq!(again.status, SendStatus::PreviouslyAccepted);
    assert_eq!(again.invocation_id, sent.invocation_id);

    workflow
        .decide(Decision {
            approved: true,
            by: "Grace".to_owned(),
        })
        .await
        .unwrap();
    let outcome = workflow.handle().attach().await.unwrap();
    assert!(outcome.approved);
    assert_eq!(outcome.by, "Grace");
    assert_eq!(workflow.status().await.unwrap().status, "approved");
    // Its side effect ran once, however often it was replayed.
    assert_eq!(approvals.executions("expense-42"), 1);
    assert!(sim.lock().await.attempts(&sent.invocation_id).unwrap() > 2);
}

#[tokio::test]
async fn awakeables_are_completed_from_outside_and_from_other_handlers() {
    use restate_e2e::operations::ops::{
        ResolveRequest, ResolverIngressClient, WaiterIngressClient,
    };
    use restate_runtime::codegen::pbjson_types::StringValue;

    let sim = simulator().await.into_shared();
    let ingress = sim.ingress();
    let waiter = WaiterIngressClient::new(&ingress, "w");
    let sent = waiter.wait().send().await.unwrap();
    sim.lock().await.run_until_idle().await.unwrap();
    let awakeable = waiter.awakeable_id().await.unwrap().value;
    assert!(awakeable.starts_with("sign_1"), "{awakeable}");
    ingress
        .awakeable(&awakeable)
        .resolve(&"from outside".to_owned(), Codec::Json)
        .await
        .unwrap();
    let value: StringValue = ingress
        .invocation(&sent.invocation_id)
        .attach(Codec::Json)
        .await
        .unwrap();
    assert_eq!(value.value, "from outside");

    // Another handler resolves it.
    let sent = waiter.wait().send().await.unwrap();
    sim.lock().await.run_until_idle().await.unwrap();
    let awakeable = waiter.awakeable_id().await.unwrap().value;
    ResolverIngressClient::new(&ingress)
        .resolve(ResolveRequest {
            awakeable_id: awakeable,
            value: "from a handler".to_owned(),
        })
        .await
        .unwrap();
    let value: StringValue = ingress
        .invocation(&sent.invocation_id)
        .attach(Codec::Json)
        .await
        .unwrap();
    assert_eq!(value.value, "from a handler");
}

#[tokio::test]
async fn stubs_stand_in_for_services_that_are_not_bound() {
    use restate_runtime::TerminalError;

    // Only e2e.Misc is bound: the greeter it calls is a stub.
    let endpoint = Endpoint::builder()
        .bind(restate_e2e::e2e::MiscServer::new(
            restate_e2e::MiscService::default(),
        ))
        .build();
    let mut sim = Simulator::new(endpoint).await.unwrap();
    sim.stub(
        target("helloworld.Greeter", "SayHello"),
        |request: HelloRequest| {
            if request.name.is_empty() {
                return Err(TerminalError::new(400, "who?"));
            }
            Ok(HelloResponse {
                message: format!("Hi {}", request.name),
            })
        },
    );
    let greeting: GreetResponse = sim
        .call(
            target("e2e.Misc", "GreetThroughGreeter"),
            &GreetRequest {
                name: "Ada".to_owned(),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(greeting.greeting, "Hi Ada");
    let error = sim
        .call::<_, GreetResponse>(
            target("e2e.Misc", "GreetThroughGreeter"),
            &GreetRequest {
                name: String::new(),
            },
        )
        .await
        .unwrap()
        .expect_err("the stub refuses");
    assert_eq!((error.code(), error.message()), (400, "who?"));
    assert_eq!(sim.stub_calls("helloworld.Greeter", "SayHello"), 2);
}

#[tokio::test]
async fn a_crash_point_makes_a_step_run_again() {
    use approval::approval::{ApprovalRequest, Decision};

    let approvals = approval::MyApproval::default();
    let endpoint = Endpoint::builder()
        .bind(approval::approval::ApprovalServer::new(approvals.clone()))
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .build();
    let mut sim = Simulator::new(endpoint).await.unwrap();
    // The first attempt's step runs, then the endpoint "crashes" before anything of it is
    // journaled: the step runs again on the retry. At least once, as with a real crash.
    sim.crash_after("approval.Approval", "Run", 0);
    let run = target("approval.Approval", "Run").with_key("crashy");
    let id = sim
        .send(
            run,
            &ApprovalRequest {
                title: "desk".to_owned(),
            },
        )
        .unwrap();
    sim.run_until_idle().await.unwrap();
    let decide = target("approval.Approval", "Decide").with_key("crashy");
    sim.call::<_, ()>(
        decide,
        &Decision {
            approved: false,
            by: "Lin".to_owned(),
        },
    )
    .await
    .unwrap()
    .unwrap();
    sim.run_until_done(&id).await.unwrap().unwrap();
    assert_eq!(approvals.executions("crashy"), 2);
}

#[tokio::test]
async fn a_crash_point_counts_journal_entries_across_the_attempt() {
    let mut sim = simulator().await;
    // The step's command is journaled, its proposed result lost: the step runs again.
    sim.crash_after("helloworld.Greeter", "SayHello", 1);
    let id = greet_ada(&mut sim).await;
    assert_eq!(sim.attempts(&id).unwrap(), 3);
}

#[tokio::test]
async fn the_ingress_hands_the_request_headers_to_the_handler() {
    use restate_e2e::e2e::MiscIngressClient;

    let sim = simulator().await.into_shared();
    let ingress = sim.ingress();
    let who = MiscIngressClient::new(&ingress)
        .who_am_i()
        .header("x-greeting", "hello there")
        .await
        .unwrap();
    assert_eq!(who.greeting_header, "hello there");
    assert!(
        who.invocation_id.starts_with("inv_sim_"),
        "{}",
        who.invocation_id
    );
}

#[tokio::test]
async fn a_cancelled_invocation_ends_with_409() {
    let mut sim = simulator().await;
    let id = sim
        .send(target("e2e.Misc", "Nap"), &NapRequest { millis: 60_000 })
        .unwrap();
    sim.run_until_idle().await.unwrap();
    sim.cancel(&id).unwrap();
    let error = sim
        .run_until_done(&id)
        .await
        .unwrap()
        .expect_err("cancelled");
    assert_eq!(error.code(), 409, "{error}");
    // Its sleep never fired: the clock did not move to it.
    assert!(sim.now() < SystemTime::now() + Duration::from_secs(50));
}

#[tokio::test]
async fn retries_follow_the_handlers_retry_policy() {
    use restate_runtime::{HandlerOptions, OnMaxAttempts, ServiceOptions};

    let policy = |max_attempts, on_max_attempts| {
        ServiceOptions::new().handler(
            "FailOnce",
            HandlerOptions::new()
                .retry_initial_interval(Duration::from_secs(3600))
                .retry_max_attempts(max_attempts)
                .retry_on_max_attempts(on_max_attempts),
        )
    };
    let endpoint = |options| {
        Endpoint::builder()
            .bind_with_options(
                restate_e2e::e2e::MiscServer::new(restate_e2e::MiscService::default()),
                options,
            )
            .build()
    };
    let fail_once = |key: &str| FailOnceRequest {
        key: key.to_owned(),
    };

    // Retried an hour after the failure, by the policy.
    let mut sim = Simulator::new(endpoint(policy(3, OnMaxAttempts::Kill)))
        .await
        .unwrap();
    let id = sim
        .send(target("e2e.Misc", "FailOnce"), &fail_once("hourly"))
        .unwrap();
    sim.advance(Duration::from_secs(3599)).await.unwrap();
    assert!(sim.output::<FailOnceResponse>(&id).unwrap().is_none());
    sim.advance(Duration::from_secs(1)).await.unwrap();
    let response: FailOnceResponse = sim.output(&id).unwrap().expect("retried").unwrap();
    assert_eq!(response.attempts, 2);

    // Out of attempts: killed, or paused.
    let mut sim = Simulator::new(endpoint(policy(1, OnMaxAttempts::Kill)))
        .await
        .unwrap();
    let error = sim
        .call::<_, FailOnceResponse>(target("e2e.Misc", "FailOnce"), &fail_once("killed"))
        .await
        .unwrap()
        .expect_err("killed after one attempt");
    assert!(error.message().contains("after 1 attempts"), "{error}");
    let mut sim = Simulator::new(endpoint(policy(1, OnMaxAttempts::Pause)))
        .await
        .unwrap();
    let error = sim
        .call::<_, FailOnceResponse>(target("e2e.Misc", "FailOnce"), &fail_once("paused"))
        .await
        .expect_err("paused");
    assert!(matches!(error, SimError::Paused(_)), "{error}");
}
