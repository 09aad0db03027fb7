//! The greeter served as an AWS Lambda function, for the Lambda test to run against a stand-in
//! of the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API`).

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    greeter::endpoint().serve_lambda().await
}
