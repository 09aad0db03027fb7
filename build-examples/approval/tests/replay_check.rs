//! The `replay-check` binary against a real restate-server running this build: approvals
//! waiting for a decision replay; a journal of other code is a mismatch, and the exit code says
//! so.

use std::process::Command;
use std::time::{Duration, Instant};

use approval::MyApproval;
use approval::approval::{ApprovalIngressClient, ApprovalRequest};
use restate_runtime::ingress::Ingress;
use restate_runtime::replay::{Selection, export, read_recorded, write_recorded};
use restate_test::TestEnvironment;

const REPLAY_CHECK: &str = env!("CARGO_BIN_EXE_replay-check");

/// Waits until `count` approvals wait for their decision (their journals end with the deadline's
/// sleep).
async fn wait_until_waiting(admin_url: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let recorded = export(
            admin_url,
            &Selection::in_flight().service("approval.Approval"),
        )
        .await
        .expect("the admin API answers");
        let waiting = recorded
            .iter()
            .filter(|r| r.entries.iter().any(|e| e.entry_type == "Command: Sleep"))
            .count();
        if waiting == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{waiting} of {count} approvals wait"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_checks_the_approvals_a_real_server_has_in_flight() {
    let env = TestEnvironment::start(approval::endpoint(MyApproval::default()))
        .expect("the test environment starts");
    let ingress = Ingress::new(env.ingress_url());
    for id in ["laptop", "desk"] {
        ApprovalIngressClient::new(&ingress, id)
            .run(ApprovalRequest {
                title: id.to_owned(),
            })
            .send()
            .await
            .expect("the run starts");
    }
    wait_until_waiting(env.admin_url(), 2).await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("in-flight.jsonl");
    let file = file.to_str().unwrap();
    let checked = Command::new(REPLAY_CHECK)
        .args(["--admin", env.admin_url(), "--service", "approval.Approval"])
        .args(["--in-flight", "--save", file])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{table}");
    assert_eq!(
        table.matches("compatible (then waits)").count(),
        2,
        "{table}"
    );
    assert!(
        table.contains("2 checked: 2 compatible, 0 mismatched"),
        "{table}"
    );

    // The journal of code without the first run: this build meets its run where the journal
    // has the state write.
    let mut recorded = read_recorded(std::io::BufReader::new(std::fs::File::open(file).unwrap()))
        .expect("the saved file reads");
    assert_eq!(recorded[0].entries[1].entry_type, "Command: Run");
    recorded[0].entries.drain(1..3);
    write_recorded(std::fs::File::create(file).unwrap(), &recorded).unwrap();
    let checked = Command::new(REPLAY_CHECK)
        .args(["--file", file])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(1), "{table}");
    assert!(
        table.contains("MISMATCH at entry 1: recorded Command: SetState, the new code Command: Run \"count execution\""),
        "{table}"
    );
    assert!(table.contains("1 compatible, 1 mismatched"), "{table}");

    // The selection narrows a file too; a journal the check cannot replay fails only --strict.
    let first = recorded[0].id.clone();
    let checked = Command::new(REPLAY_CHECK)
        .args(["--file", file, "--invocation", &first])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&checked.stdout);
    assert!(
        table.contains("1 checked: 0 compatible, 1 mismatched"),
        "{table}"
    );
    recorded[0].protocol_version = Some(4);
    write_recorded(std::fs::File::create(file).unwrap(), &recorded).unwrap();
    let lenient = Command::new(REPLAY_CHECK)
        .args(["--file", file])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&lenient.stdout);
    assert!(lenient.status.success(), "{table}");
    assert!(
        table.contains("1 compatible, 0 mismatched, 0 failed, 1 skipped"),
        "{table}"
    );
    let strict = Command::new(REPLAY_CHECK)
        .args(["--file", file, "--strict"])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));

    let bad = Command::new(REPLAY_CHECK)
        .args(["--file", "no-such-file.jsonl"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
