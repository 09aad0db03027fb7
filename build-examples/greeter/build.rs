//! Generates the greeter's Rust code from `proto/greeter.proto`, with its gRPC gateway.

fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/greeter.proto"], &["proto"])
}
