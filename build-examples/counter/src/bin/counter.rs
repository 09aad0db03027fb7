//! Serves the counter on `0.0.0.0:$PORT` (default 9080) until SIGTERM or Ctrl-C.

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| std::io::Error::other(format!("PORT is not a port number: {port}")))?,
        Err(_) => 9080,
    };
    counter::endpoint()
        .serve(SocketAddr::from(([0, 0, 0, 0], port)))
        .await
}
