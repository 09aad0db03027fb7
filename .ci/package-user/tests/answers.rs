//! The greeter built from the packaged crates answers a real restate-server.

use greeter_user::helloworld::{GreeterIngressClient, HelloRequest};
use restate_runtime::ingress::Ingress;
use restate_test::TestEnvironment;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_greeter_answers_through_a_real_server() {
    let env = TestEnvironment::start(greeter_user::endpoint()).expect("restate-server starts");
    let ingress = Ingress::new(env.ingress_url());
    let greeter = GreeterIngressClient::new(&ingress);
    let response = greeter
        .say_hello(HelloRequest {
            name: "Ada".to_owned(),
        })
        .await
        .expect("the greeter answers");
    assert_eq!(response.message, "Hello, Ada!");
    let refused = greeter
        .say_hello(HelloRequest {
            name: String::new(),
        })
        .await;
    assert!(refused.is_err(), "{refused:?}");
}
