//! The demo: starts a real restate-server, serves the greeter, registers it, calls it through
//! the ingress with the generated client, and shows what malformed input gets.
//!
//! `cargo run -p greeter --example demo`

use greeter::helloworld::{GreeterIngressClient, HelloRequest};
use restate_runtime::ingress::Ingress;
use restate_runtime::{Bytes, Codec, Request, Target};
use restate_test::{RESTATE_SERVER_VERSION, TestEnvironment};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("starting restate-server {RESTATE_SERVER_VERSION} and the greeter endpoint...");
    let env = TestEnvironment::start(greeter::endpoint())?;
    println!("restate-server ingress: {}", env.ingress_url());
    println!(
        "greeter endpoint:       {} (registered)",
        env.endpoint_url()
    );

    let ingress = Ingress::new(env.ingress_url());
    let greeter = GreeterIngressClient::new(&ingress);
    for name in ["Ada", "Grace"] {
        let request = HelloRequest {
            name: name.to_owned(),
        };
        let response = greeter.say_hello(request).await?;
        println!(
            "\nhelloworld.Greeter/SayHello {{ name: {name:?} }}\n  -> {:?}",
            response.message
        );
    }

    // A body that is not a HelloRequest: the handler never runs, the invocation fails for good
    // with code 400, and Restate does not retry it.
    let malformed = Bytes::from_static(br#"{"name":"Ad"#);
    let target = Target::new("helloworld.Greeter", "SayHello", Codec::Json);
    let outcome = Request::raw(&ingress, target, malformed.clone()).await;
    println!(
        "\nhelloworld.Greeter/SayHello {}\n  -> {outcome:?}",
        String::from_utf8_lossy(&malformed)
    );
    Ok(())
}
