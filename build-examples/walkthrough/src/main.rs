pub mod helloworld {
    restate_runtime::include_proto!("helloworld");
}
use helloworld::{Greeter, GreeterServer, HelloRequest, HelloResponse};
use restate_runtime::{Context, Endpoint, HandlerError};

struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        let name = request.name;
        // Journaled: on a retry the recorded result is replayed, the closure does not run again.
        let message = ctx
            .run("compose greeting", move || async move {
                Ok(format!("Hello, {name}!"))
            })
            .await?;
        Ok(HelloResponse { message })
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    Endpoint::builder()
        .bind(GreeterServer::new(MyGreeter))
        .build()
        .serve_from_env() // 0.0.0.0:$PORT (9080), h2c and HTTP/1.1, logs to stderr (RUST_LOG),
        .await // stops on SIGTERM / Ctrl-C
}
