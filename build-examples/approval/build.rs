//! Generates the approval's Rust code from `proto/approval.proto`, with its gRPC gateway.

fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/approval.proto"], &["proto"])
}
