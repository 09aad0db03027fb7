//! The greeter example: `helloworld.Greeter` from `proto/greeter.proto`, implemented with a
//! journaled side effect.

use restate_runtime::{Context, HandlerError};

/// The code generated from `proto/greeter.proto`.
pub mod helloworld {
    restate_runtime::include_proto!("helloworld");
}

use helloworld::{Greeter, HelloRequest, HelloResponse};

/// Greets by name; the greeting is composed once, in a journaled `run`.
#[derive(Debug)]
pub struct MyGreeter;

impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        ctx: Context,
        request: HelloRequest,
    ) -> Result<HelloResponse, HandlerError> {
        let name = request.name;
        let message = ctx
            .run("compose greeting", move || async move {
                Ok(format!("Hello, {name}!"))
            })
            .await?;
        Ok(HelloResponse { message })
    }
}

/// An endpoint serving [`MyGreeter`].
pub fn endpoint() -> restate_runtime::Endpoint {
    restate_runtime::Endpoint::builder()
        .bind(helloworld::GreeterServer::new(MyGreeter))
        .build()
}
