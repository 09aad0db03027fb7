fn main() -> std::io::Result<()> {
    restate_codegen::configure()
        .grpc_gateway(true)
        .compile(&["proto/bench.proto"], &["proto"])
}
