fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/greeter.proto"], &["proto"])
}
