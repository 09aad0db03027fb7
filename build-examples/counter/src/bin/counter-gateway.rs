//! Serves the `counter.Counter` object over gRPC on `0.0.0.0:$GRPC_PORT` (default 50051):
//! every call becomes a durable invocation through the Restate ingress at `$RESTATE_INGRESS`
//! (default `http://127.0.0.1:8080`). `Add` takes the counter from its request's `counter`
//! field, the other rpcs from `x-restate-key` metadata. Stops on SIGTERM or Ctrl-C.

use counter::counter::CounterGateway;
use restate_runtime::grpc::Gateway;

// A gateway only moves bytes between two sockets: one thread serves it with the least work per
// call; run more processes to use more cores.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let ingress =
        std::env::var("RESTATE_INGRESS").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    Gateway::builder(ingress)
        .add::<CounterGateway>()
        .build()
        .serve_from_env()
        .await
}
