fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/counter.proto"], &["proto"])
}
