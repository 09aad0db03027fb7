//! Generated ingress clients against a real restate-server: every operation, and the errors.

use std::sync::LazyLock;
use std::time::Duration;

use approval::approval::{ApprovalIngressClient, ApprovalRequest, Decision};
use counter::counter::{AddRequest, CounterIngressClient, CounterValue};
use greeter::helloworld::{GreeterIngressClient, HelloRequest};
use restate_e2e::e2e::{FailRequest, MiscIngressClient};
use restate_runtime::ingress::{Ingress, IngressError, SendStatus};
use restate_runtime::{Codec, Endpoint};
use restate_test::TestEnvironment;

static ENV: LazyLock<TestEnvironment> = LazyLock::new(|| {
    let endpoint = Endpoint::builder()
        .bind(greeter::helloworld::GreeterServer::new(greeter::MyGreeter))
        .bind(counter::counter::CounterServer::new(counter::MyCounter))
        .bind(approval::approval::NotifierServer::new(
            approval::MyNotifier,
        ))
        .bind(approval::approval::ApprovalServer::new(
            approval::MyApproval::default(),
        ))
        .bind(restate_e2e::e2e::MiscServer::new(
            restate_e2e::MiscService::default(),
        ))
        .build();
    TestEnvironment::start(endpoint).expect("the test environment starts")
});

fn ingress() -> Ingress {
    Ingress::new(ENV.ingress_url())
}

#[tokio::test]
async fn call_returns_the_typed_response() {
    let response = GreeterIngressClient::new(&ingress())
        .say_hello(HelloRequest {
            name: "Ada".to_owned(),
        })
        .await
        .expect("the call succeeds");
    assert_eq!(response.message, "Hello, Ada!");
}

#[tokio::test]
async fn objects_are_addressed_by_key() {
    let ingress = ingress();
    let a = CounterIngressClient::new(&ingress, "ingress-key-a");
    let b = CounterIngressClient::new(&ingress, "ingress-key-b");
    a.add(AddRequest {
        delta: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    a.add(AddRequest {
        delta: 4,
        ..Default::default()
    })
    .await
    .unwrap();
    b.add(AddRequest {
        delta: 10,
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(a.get().await.unwrap(), CounterValue { value: 7 });
    assert_eq!(b.get().await.unwrap(), CounterValue { value: 10 });
}

#[tokio::test]
async fn send_returns_an_invocation_id_to_attach_to() {
    let ingress = ingress();
    let counter = CounterIngressClient::new(&ingress, "ingress-send");
    let sent = counter
        .add(AddRequest {
            delta: 5,
            ..Default::default()
        })
        .send()
        .await
        .unwrap();
    assert!(sent.invocation_id.starts_with("inv_"), "{sent:?}");
    assert_eq!(sent.status, SendStatus::Accepted);
    let invocation = ingress.invocation(&sent.invocation_id);
    let value: CounterValue = invocation.attach(Codec::Json).await.unwrap();
    assert_eq!(value, CounterValue { value: 5 });
    let output: Option<CounterValue> = invocation.get_output(Codec::Json).await.unwrap();
    assert_eq!(output, Some(CounterValue { value: 5 }));
}

#[tokio::test]
async fn send_after_a_delay_runs_later() {
    let ingress = ingress();
    let counter = CounterIngressClient::new(&ingress, "ingress-delayed");
    let sent = counter
        .add(AddRequest {
            delta: 1,
            ..Default::default()
        })
        .send_after(Duration::from_secs(2))
        .await
        .unwrap();
    let invocation = ingress.invocation(&sent.invocation_id);
    let early: Option<CounterValue> = invocation.get_output(Codec::Json).await.unwrap();
    assert_eq!(early, None, "the delayed invocation ran before its delay");
    let value: CounterValue = invocation.attach(Codec::Json).await.unwrap();
    assert_eq!(value, CounterValue { value: 1 });
}

#[tokio::test]
async fn idempotency_keys_run_once_and_attach_by_key() {
    let ingress = ingress();
    let counter = CounterIngressClient::new(&ingress, "ingress-idempotent");
    let add = || {
        counter
            .add(AddRequest {
                delta: 2,
                ..Default::default()
            })
            .idempotency_key("add-once")
    };
    let first = add().await.unwrap();
    let second = add().await.unwrap();
    assert_eq!(first, CounterValue { value: 2 });
    assert_eq!(second, first);
    let resent = add().send().await.unwrap();
    assert_eq!(resent.status, SendStatus::PreviouslyAccepted);
    assert_eq!(add().attach().await.unwrap(), first);
    assert_eq!(add().get_output().await.unwrap(), Some(first));
    assert_eq!(counter.get().await.unwrap(), CounterValue { value: 2 });
}

#[tokio::test]
async fn headers_reach_the_handler() {
    let who = MiscIngressClient::new(&ingress())
        .who_am_i()
        .header("x-greeting", "from the ingress client")
        .await
        .unwrap();
    assert_eq!(who.greeting_header, "from the ingress client");
    assert!(who.invocation_id.starts_with("inv_"));
}

#[tokio::test]
async fn workflows_are_submitted_attached_and_peeked_by_id() {
    let ingress = ingress();
    let approval = ApprovalIngressClient::new(&ingress, "ingress-workflow");
    let submitted = approval
        .run(ApprovalRequest {
            title: "standing desk".to_owned(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status, SendStatus::Accepted);
    assert_eq!(approval.handle().get_output().await.unwrap(), None);

    approval
        .decide(Decision {
            approved: true,
            by: "Grace".to_owned(),
        })
        .await
        .unwrap();
    let outcome = approval.handle().attach().await.unwrap();
    assert_eq!(outcome.title, "standing desk");
    assert!(outcome.approved);
    assert_eq!(approval.handle().get_output().await.unwrap(), Some(outcome));

    let again = approval
        .run(ApprovalRequest {
            title: "standing desk".to_owned(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(again.status, SendStatus::PreviouslyAccepted);
    assert_eq!(again.invocation_id, submitted.invocation_id);
}

#[tokio::test]
async fn terminal_errors_arrive_typed() {
    let error = MiscIngressClient::new(&ingress())
        .fail_terminally(FailRequest {
            code: 422,
            message: "no such thing".to_owned(),
        })
        .await
        .unwrap_err();
    match error {
        IngressError::Terminal(terminal) => {
            assert_eq!(terminal.code(), 422);
            assert!(terminal.message().contains("no such thing"), "{terminal}");
        }
        other => panic!("expected a terminal error, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_failures_are_their_own_error() {
    // Bound and dropped at once: nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = GreeterIngressClient::new(&Ingress::new(format!("http://127.0.0.1:{port}")))
        .say_hello(HelloRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(error, IngressError::Connection(_)), "{error:?}");
}
