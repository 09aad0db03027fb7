//! Serves the fault services for the fault tests: `fault-endpoint --port <port> --ledger <file>`.

fn main() -> std::process::ExitCode {
    match restate_e2e::faults::serve_from_args(std::env::args().skip(1)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fault-endpoint: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
