//! The contract check against the real `buf breaking` (npm `@bufbuild/buf`, pinned, installed
//! by this test on first use; `BUF_BIN` names another binary): a corpus of proto changes, each
//! run through both. Every rule buf's `WIRE_JSON` category reports, ours reports too, plus the
//! Restate rules buf cannot know; each rule has a change that trips it and a near miss that
//! does not.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

mod common;
use common::buf;

use restate_codegen::Codec;
use restate_codegen::contract::{Rule, breaking_changes, contract_of};

/// One change: the proto before and after, and the rules ours must report (exactly).
struct Case {
    name: &'static str,
    before: &'static str,
    after: &'static str,
    ours: &'static [&'static str],
}

/// Each case's proto follows this header.
const HEADER: &str = r#"syntax = "proto3";
package corpus;
import "google/protobuf/empty.proto";
import "google/protobuf/wrappers.proto";
import "restate/options.proto";
"#;

const CASES: &[Case] = &[
    // Field names and JSON names.
    Case {
        name: "a field renamed",
        before: "message M { string name = 1; }",
        after: "message M { string full_name = 1; }",
        ours: &["FIELD_SAME_NAME", "FIELD_SAME_JSON_NAME"],
    },
    Case {
        name: "a field renamed keeping its JSON name (the near miss of FIELD_SAME_JSON_NAME)",
        before: "message M { string name = 1; }",
        after: r#"message M { string full_name = 1 [json_name = "name"]; }"#,
        ours: &["FIELD_SAME_NAME"],
    },
    Case {
        name: "a JSON name changed",
        before: "message M { string name = 1; }",
        after: r#"message M { string name = 1 [json_name = "fullName"]; }"#,
        ours: &["FIELD_SAME_JSON_NAME"],
    },
    Case {
        name: "near miss: a field added with a JSON name",
        before: "message M { string name = 1; }",
        after: r#"message M { string name = 1; string nick = 2 [json_name = "alias"]; }"#,
        ours: &[],
    },
    // Fields removed.
    Case {
        name: "a field removed",
        before: "message M { string name = 1; int32 age = 2; }",
        after: "message M { string name = 1; }",
        ours: &[
            "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
            "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
        ],
    },
    Case {
        name: "a field removed, its number reserved",
        before: "message M { string name = 1; int32 age = 2; }",
        after: "message M { string name = 1; reserved 2; }",
        ours: &["FIELD_NO_DELETE_UNLESS_NAME_RESERVED"],
    },
    Case {
        name: "near miss: a field removed, number and name reserved",
        before: "message M { string name = 1; int32 age = 2; }",
        after: r#"message M { string name = 1; reserved 2; reserved "age"; }"#,
        ours: &[],
    },
    // Types and cardinality.
    Case {
        name: "a field's type changed",
        before: "message M { int32 count = 1; }",
        after: "message M { string count = 1; }",
        ours: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
    },
    Case {
        name: "near miss: int32 to uint32",
        before: "message M { int32 count = 1; }",
        after: "message M { uint32 count = 1; }",
        ours: &[],
    },
    Case {
        name: "a field's message type changed",
        before: "message A { string x = 1; } message B { string x = 1; } message M { A a = 1; }",
        after: "message A { string x = 1; } message B { string x = 1; } message M { B a = 1; }",
        ours: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
    },
    Case {
        name: "a map's key type changed",
        before: "message M { map<string, int32> counts = 1; }",
        after: "message M { map<int64, int32> counts = 1; }",
        ours: &["FIELD_WIRE_JSON_COMPATIBLE_TYPE"],
    },
    Case {
        name: "near miss: a map's values from int32 to uint32",
        before: "message M { map<string, int32> counts = 1; }",
        after: "message M { map<string, uint32> counts = 1; }",
        ours: &[],
    },
    Case {
        name: "a singular field made repeated",
        before: "message M { string tag = 1; }",
        after: "message M { repeated string tag = 1; }",
        ours: &["FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY"],
    },
    Case {
        name: "near miss: a field made optional",
        before: "message M { string tag = 1; }",
        after: "message M { optional string tag = 1; }",
        ours: &[],
    },
    Case {
        name: "a field moved into a oneof",
        before: "message M { string a = 1; string b = 2; }",
        after: "message M { oneof choice { string a = 1; string b = 2; } }",
        ours: &["FIELD_SAME_ONEOF", "FIELD_SAME_ONEOF"],
    },
    Case {
        name: "near miss: a new field in a new oneof",
        before: "message M { string a = 1; }",
        after: "message M { string a = 1; oneof choice { string b = 2; int32 c = 3; } }",
        ours: &[],
    },
    Case {
        name: "reserved numbers and names removed",
        before: r#"message M { string a = 1; reserved 5 to 9; reserved "old"; }"#,
        after: "message M { string a = 1; reserved 5 to 8; }",
        ours: &["RESERVED_MESSAGE_NO_DELETE"],
    },
    Case {
        name: "near miss: a reserved range split in two",
        before: "message M { string a = 1; reserved 5 to 9; }",
        after: "message M { string a = 1; reserved 5 to 6, 7 to 9; }",
        ours: &[],
    },
    // Enums.
    Case {
        name: "an enum value removed",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; E_BLUE = 2; }",
        after: "enum E { E_UNSPECIFIED = 0; E_RED = 1; }",
        ours: &[
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
        ],
    },
    Case {
        name: "near miss: an enum value removed, number and name reserved",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; E_BLUE = 2; }",
        after: r#"enum E { E_UNSPECIFIED = 0; E_RED = 1; reserved 2; reserved "E_BLUE"; }"#,
        ours: &[],
    },
    Case {
        name: "an enum value renumbered",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; }",
        after: "enum E { E_UNSPECIFIED = 0; E_RED = 2; }",
        ours: &[
            "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
            "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
        ],
    },
    Case {
        name: "an enum value renamed",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; }",
        after: "enum E { E_UNSPECIFIED = 0; E_CRIMSON = 1; }",
        ours: &["ENUM_VALUE_SAME_NAME"],
    },
    Case {
        name: "near miss: an alias added to an enum value",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; }",
        after: "enum E { option allow_alias = true; E_UNSPECIFIED = 0; E_RED = 1; E_CRIMSON = 1; }",
        ours: &[],
    },
    Case {
        name: "near miss: an enum value added",
        before: "enum E { E_UNSPECIFIED = 0; E_RED = 1; }",
        after: "enum E { E_UNSPECIFIED = 0; E_RED = 1; E_GREEN = 2; }",
        ours: &[],
    },
    Case {
        name: "an enum's reserved number removed",
        before: "enum E { E_UNSPECIFIED = 0; reserved 3; }",
        after: "enum E { E_UNSPECIFIED = 0; }",
        ours: &["RESERVED_ENUM_NO_DELETE"],
    },
    // Handlers and their types.
    Case {
        name: "an input type changed",
        before: "message A { string x = 1; } message B { string x = 1; } \
                 service S { rpc Do(A) returns (google.protobuf.Empty); }",
        after: "message A { string x = 1; } message B { string x = 1; } \
                service S { rpc Do(B) returns (google.protobuf.Empty); }",
        ours: &["RPC_SAME_REQUEST_TYPE"],
    },
    Case {
        name: "an output type changed",
        before: "message A { string x = 1; } message B { string x = 1; } \
                 service S { rpc Do(google.protobuf.Empty) returns (A); }",
        after: "message A { string x = 1; } message B { string x = 1; } \
                service S { rpc Do(google.protobuf.Empty) returns (B); }",
        ours: &["RPC_SAME_RESPONSE_TYPE"],
    },
    Case {
        name: "near miss: a handler added",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); \
                rpc Undo(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &[],
    },
    Case {
        name: "an idempotency level changed",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty) { \
                option idempotency_level = IDEMPOTENT; } }",
        ours: &["RPC_SAME_IDEMPOTENCY_LEVEL"],
    },
    // Restate's rules.
    Case {
        name: "a service renamed",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service T { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &["RESTATE_SERVICE_NO_DELETE"],
    },
    Case {
        name: "near miss: a service added",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); } \
                service T { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &[],
    },
    Case {
        name: "a handler renamed",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { rpc Run(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &["RESTATE_HANDLER_NO_DELETE"],
    },
    Case {
        name: "near miss: a handler's comment changed",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S {\n  // Does it.\n  rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &[],
    },
    Case {
        name: "a service made a virtual object",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &["RESTATE_SERVICE_SAME_TYPE"],
    },
    Case {
        name: "near miss: a plain service annotated as one",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_type) = SERVICE; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &[],
    },
    Case {
        name: "a handler made shared",
        before: "service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                 rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty) { \
                option (restate.handler_type) = SHARED; } }",
        ours: &["RESTATE_HANDLER_SAME_TYPE"],
    },
    Case {
        name: "near miss: an exclusive handler annotated as one",
        before: "service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                 rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty) { \
                option (restate.handler_type) = EXCLUSIVE; } }",
        ours: &[],
    },
    Case {
        name: "a key field changed",
        before: "message In { string id = 1; string other = 2; } \
                 service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                 option (restate.key_field) = \"id\"; \
                 rpc Do(In) returns (google.protobuf.Empty); }",
        after: "message In { string id = 1; string other = 2; } \
                service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                option (restate.key_field) = \"other\"; \
                rpc Do(In) returns (google.protobuf.Empty); }",
        ours: &["RESTATE_HANDLER_SAME_KEY_FIELD"],
    },
    Case {
        name: "near miss: the same key field named on the rpc",
        before: "message In { string id = 1; } \
                 service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                 option (restate.key_field) = \"id\"; \
                 rpc Do(In) returns (google.protobuf.Empty); }",
        after: "message In { string id = 1; } \
                service S { option (restate.service_type) = VIRTUAL_OBJECT; \
                rpc Do(In) returns (google.protobuf.Empty) { \
                option (restate.handler_key_field) = \"id\"; } }",
        ours: &[],
    },
    Case {
        name: "a handler made raw",
        before: "service S { rpc Do(google.protobuf.BytesValue) returns (google.protobuf.Empty); }",
        after: "service S { rpc Do(google.protobuf.BytesValue) returns (google.protobuf.Empty) { \
                option (restate.raw) = true; } }",
        ours: &["RESTATE_HANDLER_SAME_RAW"],
    },
    Case {
        name: "near miss: a raw handler's comment changed",
        before: "service S { rpc Do(google.protobuf.BytesValue) returns (google.protobuf.Empty) { \
                 option (restate.raw) = true; } }",
        after: "service S {\n  // Takes bytes.\n  rpc Do(google.protobuf.BytesValue) returns \
                (google.protobuf.Empty) { option (restate.raw) = true; } }",
        ours: &[],
    },
    Case {
        name: "a codec changed",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.codec) = PROTOBUF; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &["RESTATE_SERVICE_SAME_CODEC"],
    },
    Case {
        name: "near miss: the default codec made explicit",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.codec) = JSON; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        ours: &[],
    },
    Case {
        name: "a service and a handler given Restate names",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_name) = \"Short\"; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty) { \
                option (restate.handler_name) = \"do\"; } }",
        ours: &["RESTATE_SAME_NAME", "RESTATE_SAME_NAME"],
    },
    Case {
        name: "near miss: the Restate names written as they were",
        before: "service S { rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty); }",
        after: "service S { option (restate.service_name) = \"corpus.S\"; \
                rpc Do(google.protobuf.Empty) returns (google.protobuf.Empty) { \
                option (restate.handler_name) = \"Do\"; } }",
        ours: &[],
    },
];

/// Proto2 cases: defaults and required fields.
const PROTO2_CASES: &[Case] = &[
    Case {
        name: "a default changed",
        before: "message M { optional int32 n = 1 [default = 1]; }",
        after: "message M { optional int32 n = 1 [default = 2]; }",
        ours: &["FIELD_SAME_DEFAULT"],
    },
    Case {
        name: "a required field added",
        before: "message M { optional int32 n = 1; }",
        after: "message M { optional int32 n = 1; required int32 m = 2; }",
        ours: &["MESSAGE_SAME_REQUIRED_FIELDS"],
    },
    Case {
        name: "near miss: an optional field added",
        before: "message M { optional int32 n = 1; }",
        after: "message M { optional int32 n = 1; optional int32 m = 2; }",
        ours: &[],
    },
    Case {
        name: "a package changed",
        before: "message M { optional int32 n = 1; }",
        after: "package other; message M { optional int32 n = 1; }",
        ours: &["FILE_SAME_PACKAGE"],
    },
];

const PROTO2_HEADER: &str = "syntax = \"proto2\";\n";

/// Writes a module holding `proto` (and the annotation protos) under `dir`.
fn module(dir: &Path, proto: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("proto/restate/options.proto");
    fs::create_dir_all(dir.join("restate")).unwrap();
    fs::copy(root, dir.join("restate/options.proto")).unwrap();
    fs::write(dir.join("case.proto"), proto).unwrap();
    fs::write(
        dir.join("buf.yaml"),
        "version: v2\nbreaking:\n  use:\n    - WIRE_JSON\n",
    )
    .unwrap();
}

/// The rule ids buf reports for `after` against `before` (in `case.proto` only).
fn buf_rules(before: &Path, after: &Path) -> Vec<String> {
    let output = Command::new(buf())
        .arg("breaking")
        .arg(after)
        .arg("--against")
        .arg(before)
        .arg("--error-format")
        .arg("json")
        .output()
        .expect("buf runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut rules = Vec::new();
    for line in stdout.lines().filter(|line| !line.trim().is_empty()) {
        let finding: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("buf printed `{line}`: {e}"));
        if finding["path"]
            .as_str()
            .is_some_and(|path| path.ends_with("case.proto"))
        {
            rules.push(finding["type"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(
        output.status.success() || !rules.is_empty(),
        "buf failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    rules.sort();
    rules
}

/// The rule ids ours reports, sorted.
fn our_rules(before: &Path, after: &Path) -> Vec<String> {
    let old = contract_of(&[before.join("case.proto")], &[before], Codec::Json)
        .unwrap_or_else(|e| panic!("{e}"));
    let new = contract_of(&[after.join("case.proto")], &[after], Codec::Json)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rules: Vec<String> = breaking_changes(&old, &new)
        .iter()
        .map(|finding| finding.rule.id().to_owned())
        .collect();
    rules.sort();
    rules
}

fn run_corpus(
    header: &str,
    cases: &[Case],
    tripped: &mut BTreeSet<String>,
    buf_tripped: &mut BTreeSet<String>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let (before, after) = (dir.path().join("before"), dir.path().join("after"));
        // A package line in the change replaces the header's.
        let with_header = |body: &str| {
            if body.starts_with("package ") {
                format!("{}{body}", header.replace("package corpus;\n", ""))
            } else if header.contains("package") {
                format!("{header}{body}")
            } else {
                format!("{header}package corpus;\n{body}")
            }
        };
        module(&before, &with_header(case.before));
        module(&after, &with_header(case.after));
        let theirs = buf_rules(&before, &after);
        let ours = our_rules(&before, &after);
        let mut expected: Vec<String> = case.ours.iter().map(|id| (*id).to_owned()).collect();
        expected.sort();
        if ours != expected {
            failures.push(format!(
                "{}: ours reports {ours:?}, the case expects {expected:?}",
                case.name
            ));
        }
        let missed: Vec<&String> = theirs.iter().filter(|rule| !ours.contains(rule)).collect();
        if !missed.is_empty() {
            failures.push(format!(
                "{}: buf reports {missed:?}, ours does not (ours: {ours:?})",
                case.name
            ));
        }
        if case.name.starts_with("near miss") && !ours.is_empty() {
            failures.push(format!("{}: a near miss tripped {ours:?}", case.name));
        }
        tripped.extend(ours);
        buf_tripped.extend(theirs);
    }
    failures
}

#[test]
fn every_change_buf_flags_ours_flags_and_every_rule_has_a_case() {
    let (mut tripped, mut buf_tripped) = (BTreeSet::new(), BTreeSet::new());
    let mut failures = run_corpus(HEADER, CASES, &mut tripped, &mut buf_tripped);
    failures.extend(run_corpus(
        PROTO2_HEADER,
        PROTO2_CASES,
        &mut tripped,
        &mut buf_tripped,
    ));
    for rule in Rule::ALL {
        if !tripped.contains(rule.id()) {
            failures.push(format!("no case trips {rule}"));
        }
        // Ours uses buf's names: buf itself reports each of them somewhere in the corpus.
        if rule.is_bufs() && !buf_tripped.contains(rule.id()) {
            failures.push(format!("buf never reports {rule} in the corpus"));
        }
        if !rule.is_bufs() && buf_tripped.contains(rule.id()) {
            failures.push(format!("buf reports {rule}, a rule named as ours"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
