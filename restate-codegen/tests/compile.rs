//! The whole pipeline through the public API: protos on disk in, `<package>.rs` files out.

use std::fs;
use std::io;
use std::path::Path;

use tempfile::TempDir;

/// Writes `files` under `<tmp>/proto` and compiles `listed` into `<tmp>/out`.
fn compile(
    files: &[(&str, &str)],
    listed: &[&str],
) -> (TempDir, Result<(), restate_codegen::Error>) {
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
fn writes_one_file_per_package_with_messages_descriptors_and_services() {
    let (dir, result) = compile(
        &[("greeter.proto", GREETER), ("common.proto", COMMON)],
        &["greeter.proto"],
    );
    result.unwrap();
    // No code for the annotation protos or the well-known types.
    assert_eq!(output_files(dir.path()), ["common.rs", "helloworld.rs"]);

    let code = fs::read_to_string(dir.path().join("out/helloworld.rs")).unwrap();
    syn::parse_file(&code).unwrap();
    for expected in [
        "pub struct HelloRequest",
        "::restate_runtime::codegen::prost::Message",
        "::core::option::Option<::restate_runtime::codegen::pbjson_types::Timestamp>",
        "static DESCRIPTORS: ::restate_runtime::codegen::Descriptors",
        "HelloRequest = \"helloworld.HelloRequest\"",
        "/// Greets people.\npub trait Greeter",
        "request: HelloRequest,",
        "super::common::Greeting",
        "pub struct GreeterServer<T>",
        "pub static GREETER_DEFINITION",
        "pub struct CounterClient",
        "pub type CounterIngressClient",
        "::restate_runtime::codegen::ServiceType::VirtualObject",
    ] {
        assert!(code.contains(expected), "missing `{expected}` in\n{code}");
    }
    // Nothing names a crate other than the runtime, and no serde code unless asked for.
    for krate in ["prost", "pbjson_types"] {
        let anywhere = code.matches(&format!("::{krate}::")).count();
        let re_exported = code
            .matches(&format!("::restate_runtime::codegen::{krate}::"))
            .count();
        assert_eq!(anywhere, re_exported, "`{krate}` named directly in\n{code}");
    }
    assert!(!code.contains("serde::Serialize"), "{code}");

    let common = fs::read_to_string(dir.path().join("out/common.rs")).unwrap();
    assert!(common.contains("pub struct Greeting"));
    assert!(common.contains("Greeting = \"common.Greeting\""));
    assert!(
        !common.contains("trait"),
        "imported files get no service code"
    );
}

#[test]
fn serde_impls_are_generated_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let proto_dir = dir.path().join("proto");
    fs::create_dir_all(&proto_dir).unwrap();
    fs::write(proto_dir.join("common.proto"), COMMON).unwrap();
    restate_codegen::configure()
        .out_dir(dir.path())
        .emit_rerun_if_changed(false)
        .serde_impls(true)
        .compile(&[proto_dir.join("common.proto")], &[&proto_dir])
        .unwrap();
    let common = fs::read_to_string(dir.path().join("common.rs")).unwrap();
    assert!(common.contains("use ::restate_runtime::codegen::{pbjson, serde};"));
    assert!(common.contains("impl serde::Serialize for Greeting"));
}

#[test]
fn nested_messages_are_payloads_under_prost_s_paths() {
    let nested = r#"
        syntax = "proto3";
        package shop;
        message Order {
          message Line { string sku = 1; }
          message type { message self { int32 n = 1; } }
          repeated Line lines = 1;
          map<string, Line> by_sku = 2;
        }
    "#;
    let (dir, result) = compile(&[("shop.proto", nested)], &["shop.proto"]);
    result.unwrap();
    let code = fs::read_to_string(dir.path().join("out/shop.rs")).unwrap();
    for expected in [
        "Order = \"shop.Order\"",
        "order::Line = \"shop.Order.Line\"",
        "order::Type = \"shop.Order.type\"",
        "order::r#type::Self_ = \"shop.Order.type.self\"",
    ] {
        assert!(code.contains(expected), "missing `{expected}` in\n{code}");
    }
    assert!(
        !code.contains("BySkuEntry = "),
        "map entries are not messages of their own"
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
    // The same problem, structured.
    let [problem] = error.diagnostics() else {
        panic!("one diagnostic: {:?}", error.diagnostics());
    };
    assert_eq!(problem.file, "greeter.proto");
    assert_eq!(problem.service, "helloworld.Greeter");
    assert_eq!(problem.method.as_deref(), Some("Chat"));
    assert_eq!(
        problem.message,
        "streaming rpcs are not supported by Restate"
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

#[test]
fn a_build_script_prints_one_readable_diagnostic_per_line() {
    let (_dir, result) = compile(
        &[(
            "greeter.proto",
            "syntax = \"proto3\"; package helloworld; message M {}\n\
             service Greeter { rpc Chat(stream M) returns (M); rpc Watch(M) returns (stream M); }",
        )],
        &["greeter.proto"],
    );
    // What `fn main() -> Result<(), restate_codegen::Error>` prints after `Error: `.
    let printed = format!("{:?}", result.unwrap_err());
    assert_eq!(
        printed.lines().collect::<Vec<_>>(),
        [
            "greeter.proto: service helloworld.Greeter, method Chat: streaming rpcs are not \
             supported by Restate",
            "greeter.proto: service helloworld.Greeter, method Watch: streaming rpcs are not \
             supported by Restate",
        ]
    );
}
