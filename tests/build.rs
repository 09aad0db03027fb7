fn main() -> std::io::Result<()> {
    restate_codegen::compile(
        &[
            "proto/e2e.proto",
            "proto/gocompat.proto",
            "proto/conformance.proto",
        ],
        &["proto"],
    )
}
