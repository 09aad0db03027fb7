//! Generates the counter's Rust code from `proto/counter.proto`.

fn main() -> std::io::Result<()> {
    restate_codegen::compile(&["proto/counter.proto"], &["proto"])
}
