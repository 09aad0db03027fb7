//! The contract lock through the builder, on the greeter example's committed lock: a renamed
//! field fails the build with a message saying what breaks; accepting it, lowering the rule or
//! writing the lock anew let it through.

use std::fs;
use std::path::{Path, PathBuf};

use restate_codegen::contract::{Level, Rule};

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../build-examples/greeter")
}

/// A temporary copy of the greeter's proto (changed by `edit`) and of its lock.
fn workspace(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let proto = fs::read_to_string(example().join("proto/greeter.proto")).unwrap();
    fs::write(dir.path().join("greeter.proto"), edit(proto)).unwrap();
    fs::copy(
        example().join("restate-contract.lock"),
        dir.path().join("restate-contract.lock"),
    )
    .unwrap();
    fs::create_dir(dir.path().join("out")).unwrap();
    dir
}

fn compile(
    dir: &Path,
    configure: impl FnOnce(restate_codegen::Builder) -> restate_codegen::Builder,
) -> Result<(), restate_codegen::Error> {
    let builder = restate_codegen::configure()
        .out_dir(dir.join("out"))
        .emit_rerun_if_changed(false)
        .contract_lock(dir.join("restate-contract.lock"));
    configure(builder).compile(&[dir.join("greeter.proto")], &[dir])
}

fn rename_field(proto: String) -> String {
    assert!(proto.contains("  string name = 1;"));
    proto.replace("  string name = 1;", "  string full_name = 1;")
}

#[test]
fn the_unchanged_example_matches_its_lock() {
    let dir = workspace(|proto| proto);
    compile(dir.path(), |b| b).unwrap();
}

#[test]
fn a_renamed_field_fails_with_what_it_breaks() {
    let dir = workspace(rename_field);
    let error = compile(dir.path(), |b| b).unwrap_err().to_string();
    for expected in [
        "(2 changes)",
        "greeter.proto: helloworld.HelloRequest.name: field 1's JSON name changed from `name` to \
         `fullName` [FIELD_SAME_JSON_NAME]; breaks stored state, journaled call parameters and \
         results (journal replay), queued sends and callers in other languages",
        "greeter.proto: helloworld.HelloRequest.name: field 1 renamed from `name` to `full_name` \
         [FIELD_SAME_NAME]",
        "RESTATE_CONTRACT_LOCK=update cargo build",
    ] {
        assert!(error.contains(expected), "{expected}\nnot in\n{error}");
    }
    assert!(
        !dir.path().join("out/helloworld.rs").exists(),
        "no code is generated"
    );
}

#[test]
fn a_change_accepted_or_lowered_passes_and_is_then_locked() {
    let dir = workspace(rename_field);
    compile(dir.path(), |b| {
        b.accept_change(Rule::FieldSameName, "helloworld.HelloRequest.name")
            .accept_change(Rule::FieldSameJsonName, "helloworld.HelloRequest.name")
    })
    .unwrap();
    let lock = fs::read_to_string(dir.path().join("restate-contract.lock")).unwrap();
    assert!(
        lock.contains("\"full_name\""),
        "what passed is locked: {lock}"
    );

    let dir = workspace(rename_field);
    compile(dir.path(), |b| {
        b.contract_rule(Rule::FieldSameName, Level::Warning)
            .contract_rule(Rule::FieldSameJsonName, Level::Off)
    })
    .unwrap();

    // Accepting one of the two is not enough.
    let dir = workspace(rename_field);
    let error = compile(dir.path(), |b| {
        b.accept_change(Rule::FieldSameName, "helloworld.HelloRequest.name")
    })
    .unwrap_err()
    .to_string();
    assert!(error.contains("(1 change)"), "{error}");
    // Nor is accepting it for another subject.
    assert!(
        compile(dir.path(), |b| {
            b.accept_change(Rule::FieldSameName, "helloworld.HelloResponse.name")
                .accept_change(Rule::FieldSameJsonName, "helloworld.HelloRequest.name")
        })
        .is_err()
    );
    let lock = fs::read_to_string(dir.path().join("restate-contract.lock")).unwrap();
    assert!(!lock.contains("full_name"), "a failed build locks nothing");
}

#[test]
fn updating_the_lock_records_the_change() {
    let dir = workspace(rename_field);
    compile(dir.path(), |b| b.update_contract_lock(true)).unwrap();
    let lock = fs::read_to_string(dir.path().join("restate-contract.lock")).unwrap();
    assert!(lock.contains("\"json_name\": \"fullName\""), "{lock}");
    compile(dir.path(), |b| b).unwrap();
    // Renaming it back is now the breaking change.
    fs::write(
        dir.path().join("greeter.proto"),
        fs::read_to_string(example().join("proto/greeter.proto")).unwrap(),
    )
    .unwrap();
    assert!(compile(dir.path(), |b| b).is_err());
}

#[test]
fn a_missing_lock_is_written_and_a_broken_one_refused() {
    let dir = workspace(|proto| proto);
    let lock = dir.path().join("restate-contract.lock");
    fs::remove_file(&lock).unwrap();
    compile(dir.path(), |b| b).unwrap();
    assert_eq!(
        fs::read_to_string(&lock).unwrap(),
        fs::read_to_string(example().join("restate-contract.lock")).unwrap()
    );
    fs::write(&lock, "{ not json").unwrap();
    let error = compile(dir.path(), |b| b).unwrap_err().to_string();
    assert!(error.contains("not a contract lock"), "{error}");
}

#[test]
fn additions_are_locked_so_removing_them_later_fails() {
    let dir = workspace(|proto| {
        proto.replace(
            "  string name = 1;",
            "  string name = 1;\n  string email = 2;",
        )
    });
    compile(dir.path(), |b| b).unwrap();
    let lock = fs::read_to_string(dir.path().join("restate-contract.lock")).unwrap();
    assert!(
        lock.contains("\"email\""),
        "the addition is recorded: {lock}"
    );
    // The next change removes the field again, without `reserved`.
    fs::write(
        dir.path().join("greeter.proto"),
        fs::read_to_string(example().join("proto/greeter.proto")).unwrap(),
    )
    .unwrap();
    let error = compile(dir.path(), |b| b).unwrap_err().to_string();
    assert!(
        error.contains("helloworld.HelloRequest.email: field 2 removed"),
        "{error}"
    );
}

#[test]
fn an_unreadable_lock_is_written_anew_on_request() {
    let dir = workspace(|proto| proto);
    let lock = dir.path().join("restate-contract.lock");
    fs::write(&lock, "<<<<<<< HEAD\n{}\n=======\n>>>>>>> branch\n").unwrap();
    compile(dir.path(), |b| b.update_contract_lock(true)).unwrap();
    assert_eq!(
        fs::read_to_string(&lock).unwrap(),
        fs::read_to_string(example().join("restate-contract.lock")).unwrap()
    );
}

#[test]
fn a_lock_of_other_files_is_refused() {
    let dir = workspace(|proto| proto);
    let other = dir.path().join("other.proto");
    fs::write(
        &other,
        "syntax = \"proto3\";\npackage other;\nmessage O { string o = 1; }\n",
    )
    .unwrap();
    let error = restate_codegen::configure()
        .out_dir(dir.path().join("out"))
        .emit_rerun_if_changed(false)
        .contract_lock(dir.path().join("restate-contract.lock"))
        .compile(&[other], &[dir.path()])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("locks other files (greeter.proto)"),
        "{error}"
    );
}
