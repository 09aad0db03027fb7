//! Generates the approval's Rust code from `proto/approval.proto`.

fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/approval.proto"], &["proto"])
}
