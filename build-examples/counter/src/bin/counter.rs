//! Serves the counter object on `0.0.0.0:$PORT` (default 9080) until SIGTERM or Ctrl-C.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    counter::endpoint().serve_from_env().await
}
