//! `protoc-gen-restate-rust`: restate-codegen as a protoc plugin (`buf generate`,
//! `protoc --restate-rust_out=DIR`). See `restate_codegen::plugin` for its options.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut request = Vec::new();
    if let Err(error) = std::io::stdin().read_to_end(&mut request) {
        eprintln!("protoc-gen-restate-rust: cannot read the request: {error}");
        return ExitCode::FAILURE;
    }
    let response = restate_codegen::plugin::respond(&request);
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(&response).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("protoc-gen-restate-rust: cannot write the response: {error}");
            ExitCode::FAILURE
        }
    }
}
