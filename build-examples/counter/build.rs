//! Generates the counter's Rust code from `proto/counter.proto`, with its gRPC gateway.

fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/counter.proto"], &["proto"])
}
