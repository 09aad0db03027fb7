fn main() -> Result<(), restate_codegen::Error> {
    restate_codegen::compile(&["proto/greeter.proto"], &["proto"])
}
