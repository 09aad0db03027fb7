#[tokio::main]
async fn main() -> std::io::Result<()> {
    greeter_user::endpoint().serve_from_env().await
}
