//! Will this build replay the approval invocations in flight? Records them from a running
//! restate-server (or reads a file recorded earlier), replays each against this build's
//! endpoint, stopping where its journal ends, and prints a verdict per invocation.
//!
//! ```sh
//! replay-check --admin http://localhost:9070 --service approval.Approval [--save in-flight.jsonl]
//! replay-check --file in-flight.jsonl
//! ```
//!
//! Selects with `--service`, `--handler`, `--deployment dp_…`, `--status suspended` (repeatable),
//! `--invocation inv_…` and `--in-flight` (leave completed invocations out). Exits with 1 when
//! an invocation does not replay (a mismatch or a failure), 2 on bad arguments or when the
//! recordings cannot be read. Copy it next to your own endpoint: only `endpoint()` below is
//! about the approval example.

use std::process::ExitCode;

use restate_runtime::replay::{ReplayCheck, Selection, export, read_recorded, write_recorded};

/// The build under check: the endpoint this crate serves.
fn endpoint() -> restate_runtime::Endpoint {
    approval::endpoint(approval::MyApproval::default())
}

const USAGE: &str = "usage: replay-check [--admin URL] [--service NAME] [--handler NAME] \
[--deployment ID] [--status STATUS]... [--invocation ID] [--in-flight] [--save FILE]
       replay-check --file FILE";

/// Where the recorded invocations come from.
enum Source {
    Server {
        admin: String,
        selection: Selection,
        save: Option<String>,
    },
    File(String),
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Source, String> {
    let mut admin = "http://localhost:9070".to_owned();
    let mut selection = Selection::all();
    let mut in_flight = false;
    let mut save = None;
    let mut file = None;
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--admin" => admin = value()?,
            "--service" => selection = selection.service(value()?),
            "--handler" => selection = selection.handler(value()?),
            "--deployment" => selection = selection.deployment(value()?),
            "--status" => selection = selection.status(value()?),
            "--invocation" => selection = selection.invocation(value()?),
            "--in-flight" => in_flight = true,
            "--save" => save = Some(value()?),
            "--file" => file = Some(value()?),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if in_flight {
        selection = selection.in_flight_only();
    }
    Ok(match file {
        Some(path) => Source::File(path),
        None => Source::Server {
            admin,
            selection,
            save,
        },
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let source = match parse(std::env::args().skip(1)) {
        Ok(source) => source,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let recorded = match source {
        Source::File(path) => std::fs::File::open(&path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|file| {
                read_recorded(std::io::BufReader::new(file)).map_err(|e| format!("{path}: {e}"))
            }),
        Source::Server {
            admin,
            selection,
            save,
        } => match export(&admin, &selection).await {
            Ok(recorded) => match save {
                Some(path) => std::fs::File::create(&path)
                    .map_err(|e| format!("{path}: {e}"))
                    .and_then(|file| {
                        write_recorded(std::io::BufWriter::new(file), &recorded)
                            .map_err(|e| format!("{path}: {e}"))
                    })
                    .map(|()| {
                        let count = recorded.len();
                        let noun = if count == 1 {
                            "invocation"
                        } else {
                            "invocations"
                        };
                        eprintln!("recorded {count} {noun} to {path}");
                        recorded
                    }),
                None => Ok(recorded),
            },
            Err(error) => Err(error.to_string()),
        },
    };
    let recorded = match recorded {
        Ok(recorded) => recorded,
        Err(message) => {
            eprintln!("replay-check: {message}");
            return ExitCode::from(2);
        }
    };
    let report = ReplayCheck::new(endpoint()).check_all(&recorded).await;
    print!("{report}");
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
