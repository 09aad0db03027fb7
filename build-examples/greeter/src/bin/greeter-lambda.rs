//! Serves the greeter as an AWS Lambda function (build it for Lambda, e.g. with
//! `cargo lambda build --release --bin greeter-lambda`), then register the function's ARN with
//! Restate.

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    greeter::endpoint().serve_lambda().await
}
