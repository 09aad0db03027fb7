//! The whole pipeline through the public API: protos on disk in, `<package>.rs` files out.

use std::fs;
use std::io;
use std::path::Path;

use tempfile::TempDir;

/// Writes `files` under `<tmp>/proto` and compiles `listed` into `<tmp>/out`.
fn compile(files: &[(&str, &str)], listed: &[&str]) -> (TempDir, io::Result<()>) {
    let dir = tempfile::tempdir().unwrap();
    let proto_dir = dir.path().join("proto");
    for (name, contents) in files {
        let path = proto_dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    let out = dir.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let protos: Vec<_> = listed.iter().map(|name| proto_dir.join(name)).collect();
    let result = restate_codegen::configure()
        .out_dir(&out)
        .emit_rerun_if_changed(false)
        .compile(&protos, &[&proto_dir]);
    (dir, result)
}

fn output_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

const GREETER: &str = r#"
syntax = "proto3";
package helloworld;
import "common.proto";
import "google/protobuf/timestamp.proto";
import "dev/restate/sdk/go.proto";

// Greets people.
service Greeter {
  // Sends a greeting.
  rpc SayHello(HelloRequest) returns (common.Greeting);
}

service Counter {
  option (dev.restate.sdk.go.service_type) = VIRTUAL_OBJECT;
  rpc Add(HelloRequest) returns (common.Greeting);
}

message HelloRequest {
  string name = 1;
  google.protobuf.Timestamp at = 2;
  Mood mood = 3;
}

enum Mood { MOOD_UNSPECIFIED = 0; MOOD_HAPPY = 1; }
"#;

const COMMON: &str = r#"
syntax = "proto3";
package common;
message Greeting { string message = 1; }
"#;

#[test]
fn writes_one_file_per_package_with_messages_serde_and_services() {
    let (dir, result) = compile(
        &[("greeter.proto", GREETER), ("common.proto", COMMON)],
        &["greeter.proto"],
    );
    result.unwrap();
    // No code for the annotation protos or the well-known types, and no separate serde files.
    assert_eq!(output_files(dir.path()), ["common.rs", "helloworld.rs"]);

    let code = fs::read_to_string(dir.path().join("out/helloworld.rs")).unwrap();
    syn::parse_file(&code).unwrap();
    for expected in [
        "pub struct HelloRequest",
        "::core::option::Option<::pbjson_types::Timestamp>",
        "impl serde::Serialize for HelloRequest",
        "impl serde::Serialize for Mood",
        "/// Greets people.\npub trait Greeter",
        "request: HelloRequest,",
        "super::common::Greeting",
        "pub struct GreeterServer<T>",
        "pub static GREETER_DEFINITION",
        "pub struct CounterClient",
        "::restate_runtime::ServiceType::VirtualObject",
    ] {
        assert!(code.contains(expected), "missing `{expected}` in\n{code}");
    }

    let common = fs::read_to_string(dir.path().join("out/common.rs")).unwrap();
    assert!(common.contains("pub struct Greeting"));
    assert!(common.contains("impl serde::Serialize for Greeting"));
    assert!(
        !common.contains("trait"),
        "imported files get no service code"
    );
}

#[test]
fn protoc_errors_name_the_file_and_line() {
    let (_dir, result) = compile(
        &[(
            "greeter.proto",
            "syntax = \"proto3\";\npackage p;\nmessage M { strin name = 1; }\n",
        )],
        &["greeter.proto"],
    );
    let error = result.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("greeter.proto:3"), "{message}");
    assert!(message.contains("strin"), "{message}");
}

#[test]
fn invalid_services_are_input_errors() {
    let (dir, result) = compile(
        &[(
            "greeter.proto",
            "syntax = \"proto3\"; package helloworld; message M {}\n\
             service Greeter { rpc Chat(stream M) returns (M); }",
        )],
        &["greeter.proto"],
    );
    let error = result.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert_eq!(
        error.to_string(),
        "greeter.proto: service helloworld.Greeter, method Chat: streaming rpcs are not \
         supported by Restate"
    );
    assert!(output_files(dir.path()).is_empty(), "nothing is written");
}

#[test]
fn files_without_package_are_rejected() {
    let (_dir, result) = compile(
        &[("greeter.proto", "syntax = \"proto3\"; message M {}")],
        &["greeter.proto"],
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains("greeter.proto"), "{message}");
    assert!(message.contains("`package` declaration"), "{message}");
}
