//! A greeter, as a user outside the repository writes it.

pub mod helloworld {
    restate_runtime::include_proto!("helloworld");
}

use helloworld::{Greeter, GreeterServer, HelloRequest, HelloResponse};
use restate_runtime::{Context, Endpoint, HandlerError, TerminalError};

/// The greeter.
pub struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        if request.name.is_empty() {
            return Err(TerminalError::new(400, "a name is needed").into());
        }
        let name = request.name;
        let message = ctx
            .run(
                "greet",
                move || async move { Ok(format!("Hello, {name}!")) },
            )
            .await?;
        Ok(HelloResponse { message })
    }
}

/// The endpoint serving the greeter.
pub fn endpoint() -> Endpoint {
    Endpoint::builder()
        .bind(GreeterServer::new(MyGreeter))
        .build()
}
