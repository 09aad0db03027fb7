//! Generates the greeter's Rust code from `proto/greeter.proto`, with its gRPC gateway.

fn main() -> std::io::Result<()> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/greeter.proto"], &["proto"])
}
