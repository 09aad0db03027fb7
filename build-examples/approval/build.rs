fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/approval.proto"], &["proto"])
}
