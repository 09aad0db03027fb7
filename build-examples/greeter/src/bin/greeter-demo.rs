//! The demo: starts a real restate-server, serves the greeter, registers it, invokes it through
//! the ingress, and prints what happened.

use restate_runtime::testing::TestEnvironment;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "starting restate-server {} and the greeter endpoint...",
        restate_runtime::testing::RESTATE_SERVER_VERSION
    );
    let env = TestEnvironment::start(greeter::endpoint())?;
    println!("restate-server ingress: {}", env.ingress_url());
    println!(
        "greeter endpoint:       {} (registered)",
        env.endpoint_url()
    );

    let client = reqwest::Client::new();
    let url = format!("{}/helloworld.Greeter/SayHello", env.ingress_url());
    for body in [r#"{"name":"Ada"}"#, r#"{"name":"Grace"}"#, r#"{"name":"Ad"#] {
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        println!("\nPOST /helloworld.Greeter/SayHello {body}\n  -> {status} {text}");
    }
    Ok(())
}
