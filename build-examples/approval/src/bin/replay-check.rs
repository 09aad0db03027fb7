//! Will this build replay the approval invocations in flight? Records them from a running
//! restate-server (or reads a file recorded earlier), replays each against this build's
//! endpoint, stopping where its journal ends, and prints a verdict per invocation.
//!
//! ```sh
//! replay-check --admin http://localhost:9070 --service approval.Approval [--save in-flight.jsonl]
//! replay-check --file in-flight.jsonl
//! ```
//!
//! From a server, checks the invocations of the services this endpoint binds, or of those
//! `--service` names (repeatable: name a service the new build no longer has to see its
//! invocations fail); from a file, all it holds. Narrows with `--handler`, `--deployment dp_…`, `--status suspended`
//! (repeatable), `--invocation inv_…` and `--in-flight` (leave completed invocations out), from
//! the server or from the file alike. Exits with 1 when an invocation does not replay (a
//! mismatch or a failure; with `--strict`, also one the check had to skip), 2 on bad arguments
//! or when the recordings cannot be read. Copy it next to your own endpoint: only `endpoint()`
//! below is about the approval example.

use std::process::ExitCode;

use restate_runtime::replay::{
    RecordedInvocation, ReplayCheck, Selection, export, read_recorded, write_recorded,
};

/// The build under check: the endpoint this crate serves.
fn endpoint() -> restate_runtime::Endpoint {
    approval::endpoint(approval::MyApproval::default())
}

const USAGE: &str = "usage: replay-check [--admin URL | --file FILE] [--save FILE] [--strict]
         [--service NAME]... [--handler NAME] [--deployment ID] [--status STATUS]...
         [--invocation ID] [--in-flight]";

/// What to check, and how.
struct Options {
    source: Source,
    selection: Selection,
    save: Option<String>,
    strict: bool,
}

/// Where the recorded invocations come from.
enum Source {
    Server(String),
    File(String),
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut admin = "http://localhost:9070".to_owned();
    let mut selection = Selection::all();
    let mut in_flight = false;
    let mut save = None;
    let mut file = None;
    let mut strict = false;
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
            "--strict" => strict = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    if in_flight {
        selection = selection.in_flight_only();
    }
    // From a server, the services this endpoint binds unless named: the server may host
    // others' services too. A file was recorded on purpose: all of it.
    if file.is_none() && !selection.names_services() {
        selection = endpoint()
            .service_names()
            .fold(selection, Selection::service);
    }
    Ok(Options {
        source: file.map_or(Source::Server(admin), Source::File),
        selection,
        save,
        strict,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let recorded = match record(&options).await {
        Ok(recorded) => recorded,
        Err(message) => {
            eprintln!("replay-check: {message}");
            return ExitCode::from(2);
        }
    };
    let report = ReplayCheck::new(endpoint()).check_all(&recorded).await;
    print!("{report}");
    let passed = if options.strict {
        report.all_replayed()
    } else {
        report.passed()
    };
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The selected invocations, from the server or the file, saved if asked.
async fn record(options: &Options) -> Result<Vec<RecordedInvocation>, String> {
    let recorded = match &options.source {
        Source::Server(admin) => export(admin, &options.selection)
            .await
            .map_err(|e| e.to_string())?,
        Source::File(path) => {
            let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
            let mut recorded =
                read_recorded(std::io::BufReader::new(file)).map_err(|e| format!("{path}: {e}"))?;
            recorded.retain(|invocation| options.selection.matches(invocation));
            recorded
        }
    };
    if let Some(path) = &options.save {
        let file = std::fs::File::create(path).map_err(|e| format!("{path}: {e}"))?;
        write_recorded(std::io::BufWriter::new(file), &recorded)
            .map_err(|e| format!("{path}: {e}"))?;
        let count = recorded.len();
        let noun = if count == 1 {
            "invocation"
        } else {
            "invocations"
        };
        eprintln!("recorded {count} {noun} to {path}");
    }
    Ok(recorded)
}
