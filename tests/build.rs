//! Generates the Rust code of the test services from `proto/`.

fn main() -> std::io::Result<()> {
    // The scenarios build and read raw JSON payloads with serde; the services themselves use
    // the runtime's descriptor-driven ProtoJSON, so both mappings meet on the wire.
    restate_codegen::configure().serde_impls(true).compile(
        &[
            "proto/e2e.proto",
            "proto/gocompat.proto",
            "proto/conformance.proto",
        ],
        &["proto"],
    )
}
