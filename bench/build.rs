fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/bench.proto"], &["proto"])
}
