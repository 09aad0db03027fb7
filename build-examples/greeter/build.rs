//! Generates the greeter's Rust code from `proto/greeter.proto`.

fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/greeter.proto"], &["proto"])
}
