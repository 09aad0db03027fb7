//! The replay check against a real restate-server: invocations recorded while v1 serves them,
//! replayed against later versions of the code.

use std::sync::LazyLock;
use std::time::Duration;

use restate_e2e::code_versions::{Build, Version};
use restate_e2e::raw_ingress::{RawIngress, eventually, http_client};
use restate_runtime::replay::{
    RecordedInvocation, ReplayCheck, ReplayEnd, Selection, Verdict, export, read_recorded,
    write_recorded,
};
use restate_test::TestEnvironment;
use serde_json::{Value, json};

/// The build the server runs, counting the `run` closures it executes.
static V1: LazyLock<Build> = LazyLock::new(|| Build::new(Version::V1));

/// One restate-server serving v1 for all the tests here.
static ENV: LazyLock<TestEnvironment> =
    LazyLock::new(|| TestEnvironment::start(V1.endpoint()).expect("the test environment starts"));

fn server() -> RawIngress {
    RawIngress::new(ENV.ingress_url(), ENV.admin_url())
}

/// Sends a request to `path` and returns the invocation id.
async fn send(path: &str, body: Value) -> String {
    let response = http_client()
        .post(format!("{}/{path}/send", ENV.ingress_url()))
        .json(&body)
        .send()
        .await
        .expect("the ingress answers");
    let answer: Value = response.json().await.expect("a JSON answer");
    answer["invocationId"]
        .as_str()
        .unwrap_or_else(|| panic!("no invocation id: {answer}"))
        .to_owned()
}

/// Waits until the journal of `id` holds an entry of type `entry_type`.
async fn wait_for_entry(id: &str, entry_type: &str) {
    let server = server();
    eventually(
        &format!("{id} journals a {entry_type}"),
        Duration::from_secs(30),
        || async {
            let rows = server
                .query(&format!(
                    "SELECT index FROM sys_journal WHERE id = '{id}' AND entry_type = '{entry_type}'"
                ))
                .await;
            if rows.is_empty() {
                Err("not yet".to_owned())
            } else {
                Ok(())
            }
        },
    )
    .await;
}

/// Waits until `id` has completed.
async fn wait_for_completion(id: &str) {
    let server = server();
    eventually(
        &format!("{id} completes"),
        Duration::from_secs(30),
        || async {
            let rows = server
                .query(&format!(
                    "SELECT status FROM sys_invocation WHERE id = '{id}'"
                ))
                .await;
            match rows.first().and_then(|row| row["status"].as_str()) {
                Some("completed") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
}

/// The recording of invocation `id`.
async fn record(id: &str) -> RecordedInvocation {
    let mut recorded = export(ENV.admin_url(), &Selection::all().invocation(id))
        .await
        .expect("the admin API answers");
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    recorded.remove(0)
}

/// The index of the first entry of `entry_type` in `recorded`'s journal.
fn entry_index(recorded: &RecordedInvocation, entry_type: &str) -> usize {
    recorded
        .entries
        .iter()
        .position(|entry| entry.entry_type == entry_type)
        .unwrap_or_else(|| panic!("no {entry_type} in {:?}", recorded.entries))
}

async fn verdict(version: Version, recorded: &RecordedInvocation) -> (Verdict, Build) {
    let build = Build::new(version);
    let verdict = ReplayCheck::new(build.endpoint()).check(recorded).await;
    (verdict, build)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_workflow_replays_on_compatible_code_and_a_mismatch_names_the_entry() {
    let id = send(
        "replay.Signup/ada/Run",
        json!({ "email": "ada@example.com" }),
    )
    .await;
    wait_for_entry(&id, "Command: GetPromise").await;
    let recorded = record(&id).await;
    assert_eq!(recorded.service, "replay.Signup");
    assert_eq!(recorded.key, "ada");
    assert_eq!(recorded.protocol_version, Some(6));
    let runs_before = V1.executed_runs();

    let (same, build) = verdict(Version::V1, &recorded).await;
    assert_eq!(
        same,
        Verdict::Compatible {
            ended: ReplayEnd::Suspended
        }
    );
    assert_eq!(
        build.executed_runs(),
        0,
        "the journaled run replays its result"
    );

    let (after, build) = verdict(Version::AddsAfterWait, &recorded).await;
    assert_eq!(
        after,
        Verdict::Compatible {
            ended: ReplayEnd::Suspended
        }
    );
    assert_eq!(build.executed_runs(), 0);

    let (inserted, build) = verdict(Version::InsertsRunBeforeMail, &recorded).await;
    let Verdict::Mismatch(mismatch) = inserted else {
        panic!("a run inserted before the mail replays: {inserted:?}");
    };
    assert_eq!(mismatch.code, 570);
    assert_eq!(
        mismatch.entry_index,
        Some(entry_index(&recorded, "Command: Run"))
    );
    assert_eq!(
        mismatch.recorded.as_deref(),
        Some("Command: Run \"create the user\"")
    );
    assert_eq!(
        mismatch.new_command.as_deref(),
        Some("Command: Run \"check the address\"")
    );
    assert_eq!(build.executed_runs(), 0);

    let (changed, build) = verdict(Version::ChangesMailText, &recorded).await;
    let Verdict::Mismatch(mismatch) = changed else {
        panic!("another mail text replays: {changed:?}");
    };
    assert_eq!(
        mismatch.entry_index,
        Some(entry_index(&recorded, "Command: Call"))
    );
    assert_eq!(mismatch.recorded.as_deref(), Some("Command: Call"));
    assert!(
        mismatch.message.contains("Hello!") || mismatch.message.contains("Call"),
        "{}",
        mismatch.message
    );
    assert_eq!(build.executed_runs(), 0);

    // A run past the end of the recorded journal ends the replay instead of executing.
    let (past, build) = verdict(Version::RunsBeforeAwaiting, &recorded).await;
    assert_eq!(
        past,
        Verdict::Compatible {
            ended: ReplayEnd::BeforeRun
        }
    );
    assert_eq!(build.executed_runs(), 0, "no closure of the new code ran");
    assert_eq!(
        V1.executed_runs(),
        runs_before,
        "the server's build is left alone"
    );

    // Once confirmed, the completed invocation keeps its journal, and replays to its end.
    send("replay.Signup/ada/Confirm", json!({})).await;
    wait_for_completion(&id).await;
    let completed = record(&id).await;
    assert_eq!(completed.status, "completed");
    assert!(completed.entries.len() > recorded.entries.len());
    let (same, _) = verdict(Version::V1, &completed).await;
    assert_eq!(
        same,
        Verdict::Compatible {
            ended: ReplayEnd::Completed
        }
    );
    let (changed, _) = verdict(Version::ChangesMailText, &completed).await;
    assert!(matches!(changed, Verdict::Mismatch(_)), "{changed:?}");
    // A run after the wait is past the end of a completed journal too: it meets the output.
    let (after, build) = verdict(Version::AddsAfterWait, &completed).await;
    assert!(matches!(after, Verdict::Mismatch(_)), "{after:?}");
    assert_eq!(build.executed_runs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replays_with_the_state_it_holds_in_flight() {
    let id = send("replay.Account/acct-1/Deposit", json!({ "cents": "250" })).await;
    wait_for_entry(&id, "Command: Sleep").await;
    let recorded = record(&id).await;
    assert_eq!(recorded.key, "acct-1");
    let balance = recorded
        .state
        .iter()
        .find(|entry| entry.key == "balance")
        .unwrap_or_else(|| panic!("no balance in {:?}", recorded.state));
    assert_eq!(balance.value.as_ref(), b"250");
    let (same, build) = verdict(Version::V1, &recorded).await;
    assert_eq!(
        same,
        Verdict::Compatible {
            ended: ReplayEnd::Suspended
        }
    );
    assert_eq!(build.executed_runs(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn awakeable_ids_and_random_values_replay_without_false_mismatches() {
    let id = send(
        "replay.Verifier/Verify",
        json!({ "email": "grace@example.com" }),
    )
    .await;
    wait_for_entry(&id, "Notification: Call").await;
    let recorded = record(&id).await;
    let (same, _) = verdict(Version::V1, &recorded).await;
    assert_eq!(
        same,
        Verdict::Compatible {
            ended: ReplayEnd::Suspended
        }
    );

    // The mail carries a random code: with another seed it is another mail.
    let mut other_seed = recorded.clone();
    other_seed.random_seed = other_seed.random_seed.map(|seed| seed ^ 1);
    let (changed, _) = verdict(Version::V1, &other_seed).await;
    let Verdict::Mismatch(mismatch) = changed else {
        panic!("another seed replays the same code: {changed:?}");
    };
    assert_eq!(
        mismatch.entry_index,
        Some(entry_index(&recorded, "Command: Call"))
    );

    // A terminal error past the journal's end is not a compatible completion.
    let (rejected, _) = verdict(Version::RejectsAfterMail, &recorded).await;
    let Verdict::Failed { reason } = rejected else {
        panic!("a terminal error replays as compatible: {rejected:?}");
    };
    assert!(
        reason.contains("terminal error 409: codes are no longer sent"),
        "{reason}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_check_cannot_replay_is_skipped_and_a_missing_handler_fails() {
    let id = send("replay.Account/acct-2/Deposit", json!({ "cents": "1" })).await;
    wait_for_entry(&id, "Command: Sleep").await;
    let recorded = record(&id).await;
    let check = ReplayCheck::new(V1.endpoint());

    let mut old_protocol = recorded.clone();
    old_protocol.protocol_version = Some(4);
    let mut old_journal = recorded.clone();
    old_journal.journal_version = 1;
    let mut not_started = recorded.clone();
    not_started.protocol_version = None;
    let mut unknown_entry = recorded.clone();
    unknown_entry.entries[1].entry_type = "Command: Teleport".to_owned();
    let mut renamed = recorded.clone();
    renamed.service = "replay.Ledger".to_owned();

    let report = check
        .check_all(&[
            old_protocol,
            old_journal,
            not_started,
            unknown_entry,
            renamed,
        ])
        .await;
    let verdicts: Vec<&Verdict> = report.results.iter().map(|r| &r.verdict).collect();
    for (verdict, words) in verdicts[..4].iter().zip([
        "protocol version 4",
        "journal format 1",
        "not started",
        "Command: Teleport",
    ]) {
        let Verdict::Skipped { reason } = verdict else {
            panic!("not skipped: {verdict:?}");
        };
        assert!(reason.contains(words), "{reason}");
    }
    let Verdict::Failed { reason } = verdicts[4] else {
        panic!("a missing service replays: {:?}", verdicts[4]);
    };
    assert!(reason.contains("replay.Ledger"), "{reason}");
    assert!(!report.passed(), "{report}");
    assert_eq!(report.counts(), (0, 0, 1, 4));
    let table = report.to_string();
    assert!(
        table.contains("skipped: pinned to service protocol version 4"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_file_round_trips_and_gives_the_verdicts_of_the_server() {
    let waiting = send(
        "replay.Signup/file-1/Run",
        json!({ "email": "lin@example.com" }),
    )
    .await;
    let deposit = send("replay.Account/file-2/Deposit", json!({ "cents": "7" })).await;
    wait_for_entry(&waiting, "Command: GetPromise").await;
    wait_for_entry(&deposit, "Command: Sleep").await;
    let selection = Selection::in_flight().service("replay.Signup");
    let signup = export(ENV.admin_url(), &selection).await.unwrap();
    let mut recorded = export(ENV.admin_url(), &Selection::in_flight())
        .await
        .unwrap();
    recorded.retain(|r| r.id == waiting || r.id == deposit);
    assert_eq!(recorded.len(), 2);
    assert!(signup.iter().any(|r| r.id == waiting));
    assert!(signup.iter().all(|r| r.service == "replay.Signup"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in-flight.jsonl");
    write_recorded(std::fs::File::create(&path).unwrap(), &recorded).unwrap();
    let read = read_recorded(std::io::BufReader::new(std::fs::File::open(&path).unwrap())).unwrap();
    assert_eq!(read, recorded);

    for version in [Version::V1, Version::ChangesMailText] {
        let check = ReplayCheck::new(Build::new(version).endpoint());
        let from_file = check.check_file(&path).await.unwrap();
        let from_server = check.check_all(&recorded).await;
        assert_eq!(from_file.results, from_server.results);
        assert_eq!(from_file.passed(), version == Version::V1, "{from_file}");
    }
    let check = ReplayCheck::new(Build::new(Version::ChangesMailText).endpoint());
    let report = check
        .check_server(ENV.admin_url(), &Selection::all().invocation(&waiting))
        .await
        .unwrap();
    assert!(
        matches!(report.verdict(&waiting), Some(Verdict::Mismatch(_))),
        "{report}"
    );
}
