fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/bench.proto"], &["proto"])
}
