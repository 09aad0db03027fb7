//! Model tests on descriptor sets compiled by the real protoc.

use std::time::Duration;

use super::{Codec, HandlerType, OnMaxAttempts, ServiceType};
use crate::testing::{descriptors, model, single_problem};

const GREETER: &str = r#"
syntax = "proto3";
package helloworld;
import "google/protobuf/empty.proto";

// Greets people.
//
// Politely.
service Greeter {
  // Sends a greeting.
  rpc SayHello(HelloRequest) returns (HelloResponse);
  rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
  rpc Type(HelloRequest) returns (google.protobuf.Empty);
}

message HelloRequest { string name = 1; }
message HelloResponse { string message = 1; }
"#;

#[test]
fn reads_a_plain_service() {
    let services = model(GREETER).unwrap();
    assert_eq!(services.len(), 1);
    let service = &services[0];
    assert_eq!(service.proto_file, "greeter.proto");
    assert_eq!(service.package, "helloworld");
    assert_eq!(service.full_name, "helloworld.Greeter");
    assert_eq!(service.rust_name, "Greeter");
    assert_eq!(service.ty, ServiceType::Service);
    assert_eq!(service.codec, None);
    assert_eq!(service.docs.as_deref(), Some("Greets people.\n\nPolitely."));

    let names: Vec<_> = service.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["SayHello", "Ping", "Type"]);
    let rust_names: Vec<_> = service
        .methods
        .iter()
        .map(|m| m.rust_name.as_str())
        .collect();
    assert_eq!(rust_names, ["say_hello", "ping", "r#type"]);

    let say_hello = &service.methods[0];
    assert_eq!(say_hello.input_type, "helloworld.HelloRequest");
    assert_eq!(say_hello.output_type, "helloworld.HelloResponse");
    assert!(!say_hello.input_is_empty && !say_hello.output_is_empty);
    assert_eq!(say_hello.docs.as_deref(), Some("Sends a greeting."));
    assert_eq!(say_hello.handler_type, None);

    let ping = &service.methods[1];
    assert!(ping.input_is_empty && ping.output_is_empty);
    assert_eq!(ping.docs, None);
    let ty = &service.methods[2];
    assert!(!ty.input_is_empty && ty.output_is_empty);
}

#[test]
fn reads_restate_annotations_and_defaults() {
    let services = model(
        r#"
        syntax = "proto3";
        package counter;
        import "restate/options.proto";

        service Counter {
          option (restate.service_type) = VIRTUAL_OBJECT;
          option (restate.codec) = PROTOBUF;
          rpc Add(Value) returns (Value);
          rpc Get(Value) returns (Value) { option (restate.handler_type) = SHARED; }
          rpc Reset(Value) returns (Value) { option (restate.handler_type) = EXCLUSIVE; }
        }

        service Signup {
          option (restate.service_type) = WORKFLOW;
          rpc Run(Value) returns (Value);
          rpc Status(Value) returns (Value);
        }

        service Plain {
          option (restate.codec) = JSON;
          rpc Call(Value) returns (Value);
        }

        message Value { int64 value = 1; }
        "#,
    )
    .unwrap();
    let types = |index: usize| -> Vec<Option<HandlerType>> {
        services[index]
            .methods
            .iter()
            .map(|m| m.handler_type)
            .collect()
    };

    assert_eq!(services[0].ty, ServiceType::VirtualObject);
    assert_eq!(services[0].codec, Some(Codec::Protobuf));
    assert_eq!(
        types(0),
        [
            Some(HandlerType::Exclusive),
            Some(HandlerType::Shared),
            Some(HandlerType::Exclusive)
        ]
    );
    assert_eq!(services[1].ty, ServiceType::Workflow);
    assert_eq!(
        types(1),
        [Some(HandlerType::WorkflowRun), Some(HandlerType::Shared)]
    );
    assert_eq!(services[2].ty, ServiceType::Service);
    assert_eq!(services[2].codec, Some(Codec::Json));
    assert_eq!(types(2), [None]);
}

#[test]
fn reads_go_sdk_annotations() {
    let services = model(
        r#"
        syntax = "proto3";
        package helloworld;
        import "dev/restate/sdk/go.proto";

        service Counter {
          option (dev.restate.sdk.go.service_type) = VIRTUAL_OBJECT;
          rpc Add(Value) returns (Value) {}
          rpc Get(Value) returns (Value) { option (dev.restate.sdk.go.handler_type) = SHARED; }
        }

        service Flow {
          option (dev.restate.sdk.go.service_type) = WORKFLOW;
          rpc Start(Value) returns (Value) { option (dev.restate.sdk.go.handler_type) = WORKFLOW_RUN; }
          rpc Run(Value) returns (Value) {}
        }

        message Value { int64 value = 1; }
        "#,
    )
    .unwrap();
    assert_eq!(services[0].ty, ServiceType::VirtualObject);
    assert_eq!(
        services[0].methods[1].handler_type,
        Some(HandlerType::Shared)
    );
    assert_eq!(services[1].ty, ServiceType::Workflow);
    assert_eq!(
        services[1].methods[0].handler_type,
        Some(HandlerType::WorkflowRun)
    );
    assert_eq!(
        services[1].methods[1].handler_type,
        Some(HandlerType::Shared)
    );
}

#[test]
fn agreeing_annotations_of_both_kinds_are_accepted() {
    let services = model(
        r#"
        syntax = "proto3";
        package p;
        import "restate/options.proto";
        import "dev/restate/sdk/go.proto";
        service Counter {
          option (restate.service_type) = VIRTUAL_OBJECT;
          option (dev.restate.sdk.go.service_type) = VIRTUAL_OBJECT;
          rpc Get(V) returns (V) {
            option (restate.handler_type) = SHARED;
            option (dev.restate.sdk.go.handler_type) = SHARED;
          }
        }
        message V {}
        "#,
    )
    .unwrap();
    assert_eq!(services[0].ty, ServiceType::VirtualObject);
    assert_eq!(
        services[0].methods[0].handler_type,
        Some(HandlerType::Shared)
    );
}

#[test]
fn services_of_imported_files_are_left_out() {
    let descriptors = descriptors(
        &[
            (
                "common.proto",
                "syntax = \"proto3\"; package common; message Page { int32 n = 1; } \
                 service Internal { rpc Get(Page) returns (Page); }",
            ),
            (
                "api.proto",
                "syntax = \"proto3\"; package api; import \"common.proto\"; \
                 service Api { rpc List(common.Page) returns (common.Page); }",
            ),
        ],
        &["api.proto"],
    );
    let services = super::from_descriptor_set(&descriptors.bytes, &descriptors.files).unwrap();
    let names: Vec<_> = services.iter().map(|s| s.full_name.as_str()).collect();
    assert_eq!(names, ["api.Api"]);
    assert_eq!(services[0].methods[0].input_type, "common.Page");
}

#[test]
fn a_missing_file_is_an_error() {
    let descriptors = descriptors(&[("greeter.proto", GREETER)], &["greeter.proto"]);
    let error = super::from_descriptor_set(&descriptors.bytes, &["other.proto"]).unwrap_err();
    assert!(matches!(error, super::Error::MissingFile(name) if name == "other.proto"));
}

/// Asserts that `problem` names the file, the service, the method (if given) and contains
/// `message`.
fn assert_problem(problem: &str, service: &str, method: Option<&str>, message: &str) {
    assert!(problem.starts_with("greeter.proto: "), "{problem}");
    assert!(problem.contains(&format!("service {service}")), "{problem}");
    if let Some(method) = method {
        assert!(problem.contains(&format!("method {method}:")), "{problem}");
    } else {
        assert!(!problem.contains(", method "), "{problem}");
    }
    assert!(problem.contains(message), "{problem}");
}

#[test]
fn streaming_rpcs_are_rejected() {
    for rpc in [
        "rpc Chat(stream M) returns (M);",
        "rpc Chat(M) returns (stream M);",
    ] {
        let problem = single_problem(&format!(
            "syntax = \"proto3\"; package helloworld; message M {{}} service Greeter {{ {rpc} }}"
        ));
        assert_eq!(
            problem,
            "greeter.proto: service helloworld.Greeter, method Chat: streaming rpcs are not \
             supported by Restate"
        );
    }
}

#[test]
fn handler_types_on_plain_services_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Greeter { rpc Hi(M) returns (M) { option (restate.handler_type) = SHARED; } }"#,
    );
    assert_problem(
        &problem,
        "p.Greeter",
        Some("Hi"),
        "only allowed in virtual objects and workflows",
    );
}

#[test]
fn workflow_run_outside_workflows_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Counter {
          option (restate.service_type) = VIRTUAL_OBJECT;
          rpc Go(M) returns (M) { option (restate.handler_type) = WORKFLOW_RUN; }
        }"#,
    );
    assert_problem(
        &problem,
        "p.Counter",
        Some("Go"),
        "WORKFLOW_RUN is only allowed in workflows",
    );
}

#[test]
fn exclusive_workflow_handlers_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Flow {
          option (restate.service_type) = WORKFLOW;
          rpc Run(M) returns (M);
          rpc Poke(M) returns (M) { option (restate.handler_type) = EXCLUSIVE; }
        }"#,
    );
    assert_problem(&problem, "p.Flow", Some("Poke"), "cannot be EXCLUSIVE");
}

#[test]
fn a_workflow_without_run_handler_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Flow {
          option (restate.service_type) = WORKFLOW;
          rpc Start(M) returns (M);
        }"#,
    );
    assert_problem(&problem, "p.Flow", None, "a workflow needs a run handler");
}

#[test]
fn a_workflow_with_two_run_handlers_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Flow {
          option (restate.service_type) = WORKFLOW;
          rpc Start(M) returns (M) { option (restate.handler_type) = WORKFLOW_RUN; }
          rpc Begin(M) returns (M) { option (restate.handler_type) = WORKFLOW_RUN; }
        }"#,
    );
    assert_problem(
        &problem,
        "p.Flow",
        Some("Begin"),
        "exactly one run handler, but Start is marked WORKFLOW_RUN too",
    );
}

#[test]
fn a_shared_run_handler_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Flow {
          option (restate.service_type) = WORKFLOW;
          rpc Run(M) returns (M) { option (restate.handler_type) = SHARED; }
        }"#,
    );
    assert_problem(
        &problem,
        "p.Flow",
        Some("Run"),
        "the run handler of a workflow cannot be SHARED",
    );
}

#[test]
fn conflicting_service_types_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; message M {}
        import "restate/options.proto"; import "dev/restate/sdk/go.proto";
        service Counter {
          option (restate.service_type) = VIRTUAL_OBJECT;
          option (dev.restate.sdk.go.service_type) = WORKFLOW;
          rpc Run(M) returns (M);
        }"#,
    );
    assert_problem(
        &problem,
        "p.Counter",
        None,
        "conflicting annotations: (restate.service_type) = VIRTUAL_OBJECT but \
         (dev.restate.sdk.go.service_type) = WORKFLOW",
    );
}

#[test]
fn conflicting_handler_types_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; message M {}
        import "restate/options.proto"; import "dev/restate/sdk/go.proto";
        service Counter {
          option (restate.service_type) = VIRTUAL_OBJECT;
          rpc Get(M) returns (M) {
            option (restate.handler_type) = SHARED;
            option (dev.restate.sdk.go.handler_type) = EXCLUSIVE;
          }
        }"#,
    );
    assert_problem(
        &problem,
        "p.Counter",
        Some("Get"),
        "conflicting annotations",
    );
}

#[test]
fn unknown_annotation_values_are_rejected() {
    // A newer options.proto, found first on the include path, with a value this crate does not
    // know.
    let newer = include_str!("../../proto/restate/options.proto")
        .replace("WORKFLOW = 2;", "WORKFLOW = 2;\n  ACTOR = 9;");
    let descriptors = descriptors(
        &[
            ("restate/options.proto", &newer),
            (
                "greeter.proto",
                r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
                service Greeter { option (restate.service_type) = ACTOR; rpc Hi(M) returns (M); }"#,
            ),
        ],
        &["greeter.proto"],
    );
    let error = super::from_descriptor_set(&descriptors.bytes, &descriptors.files).unwrap_err();
    assert_problem(
        &error.to_string(),
        "p.Greeter",
        None,
        "unknown value 9 of option (restate.service_type)",
    );
}

#[test]
fn colliding_rust_method_names_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; message M {}
        service Users { rpc GetUser(M) returns (M); rpc get_user(M) returns (M); }"#,
    );
    assert_problem(
        &problem,
        "p.Users",
        Some("get_user"),
        "rpcs GetUser and get_user both become the Rust method `get_user`",
    );
}

#[test]
fn an_rpc_named_like_the_client_constructor_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; message M {}
        service Users { rpc New(M) returns (M); }"#,
    );
    assert_problem(&problem, "p.Users", Some("New"), "the Rust method `new`");
}

#[test]
fn a_workflow_rpc_named_like_the_handle_accessor_is_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Signup {
          option (restate.service_type) = WORKFLOW;
          rpc Run(M) returns (M);
          rpc Handle(M) returns (M);
        }"#,
    );
    assert_problem(
        &problem,
        "p.Signup",
        Some("Handle"),
        "the Rust method `handle`",
    );
}

#[test]
fn generated_items_clashing_with_messages_are_rejected() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; message GreeterClient {}
        service Greeter { rpc Hi(GreeterClient) returns (GreeterClient); }"#,
    );
    assert_problem(
        &problem,
        "p.Greeter",
        None,
        "`GreeterClient` would clash with message p.GreeterClient",
    );
}

#[test]
fn every_problem_is_reported() {
    let error = model(
        r#"syntax = "proto3"; package p; message M {}
        service A { rpc One(stream M) returns (M); }
        service B { rpc Two(M) returns (stream M); }"#,
    )
    .unwrap_err();
    let methods: Vec<_> = error
        .diagnostics()
        .iter()
        .map(|d| d.method.as_deref())
        .collect();
    assert_eq!(methods, [Some("One"), Some("Two")]);
    assert_eq!(error.to_string().lines().count(), 2);
}

#[test]
fn reads_service_and_handler_config() {
    let services = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {}
        service Signup {
          option (restate.service_type) = WORKFLOW;
          option (restate.service_config) = {
            inactivity_timeout: "30s"
            workflow_completion_retention: "2d"
            enable_lazy_state: true
            retry_policy: { initial_interval: "100ms" max_interval: "10s" factor: 1.5
                            max_attempts: 7 on_max_attempts: KILL }
            metadata: { key: "team" value: "growth" }
            metadata: { key: "area" value: "accounts" }
          };
          rpc Run(M) returns (M) { option (restate.handler_config) = { abort_timeout: "1m" }; }
          rpc Peek(M) returns (M) {
            option (restate.handler_config) = { idempotency_retention: "1h" ingress_private: false };
          }
        }"#,
    )
    .unwrap();
    let service = &services[0];
    let config = &service.settings;
    assert_eq!(config.inactivity_timeout, Some(Duration::from_secs(30)));
    assert_eq!(
        config.workflow_completion_retention,
        Some(Duration::from_secs(2 * 86_400))
    );
    assert_eq!(config.enable_lazy_state, Some(true));
    assert_eq!(config.ingress_private, None);
    let policy = &config.retry_policy;
    assert_eq!(policy.initial_interval, Some(Duration::from_millis(100)));
    assert_eq!(policy.max_interval, Some(Duration::from_secs(10)));
    assert_eq!(policy.factor, Some(1.5));
    assert_eq!(policy.max_attempts, Some(7));
    assert_eq!(policy.on_max_attempts, Some(OnMaxAttempts::Kill));
    assert_eq!(config.metadata("area"), Some("accounts"));
    assert_eq!(config.metadata("team"), Some("growth"));
    assert_eq!(config.metadata[0].0, "area", "sorted by key");
    assert_eq!(
        service.methods[0].settings.abort_timeout,
        Some(Duration::from_secs(60))
    );
    assert_eq!(
        service.methods[1].settings.idempotency_retention,
        Some(Duration::from_secs(3600))
    );
    assert_eq!(service.methods[1].settings.ingress_private, Some(false));
}

#[test]
fn invalid_config_is_rejected() {
    let cases = [
        (
            r#"service Greeter { option (restate.service_config) = { inactivity_timeout: "-5s" };
               rpc Hi(M) returns (M); }"#,
            None,
            "inactivity_timeout: negative duration",
        ),
        (
            r#"service Greeter { rpc Hi(M) returns (M) {
                 option (restate.handler_config) = { journal_retention: "soon" }; } }"#,
            Some("Hi"),
            "journal_retention: invalid duration",
        ),
        (
            r#"service Greeter { option (restate.service_config) = { workflow_completion_retention: "1d" };
               rpc Hi(M) returns (M); }"#,
            None,
            "workflow_completion_retention is only allowed on workflows",
        ),
        (
            r#"service Greeter { option (restate.service_type) = WORKFLOW;
               rpc Run(M) returns (M) { option (restate.handler_config) = { idempotency_retention: "1d" }; } }"#,
            Some("Run"),
            "idempotency_retention is not allowed on a workflow's run handler",
        ),
        (
            r#"service Greeter { option (restate.service_type) = WORKFLOW; rpc Run(M) returns (M);
               rpc Peek(M) returns (M) { option (restate.handler_config) = { workflow_completion_retention: "1d" }; } }"#,
            Some("Peek"),
            "only allowed on a workflow's run handler",
        ),
        (
            r#"service Greeter { option (restate.service_config) = { enable_lazy_state: true };
               rpc Hi(M) returns (M); }"#,
            None,
            "enable_lazy_state is only allowed on virtual objects and workflows",
        ),
        (
            r#"service Greeter { option (restate.service_config) = {
                 retry_policy: { initial_interval: "10s" max_interval: "1s" factor: 0.5 } };
               rpc Hi(M) returns (M); }"#,
            None,
            "retry_policy.factor: 0.5 is not a number of at least 1",
        ),
    ];
    for (service, method, message) in cases {
        let proto = format!(
            r#"syntax = "proto3"; package p; import "restate/options.proto"; message M {{}} {service}"#
        );
        let problems = match model(&proto) {
            Ok(services) => panic!("expected a problem, got {services:?}"),
            Err(error) => error.to_string(),
        };
        assert_problem_among(&problems, "p.Greeter", method, message);
    }
}

/// Like [`assert_problem`], for an error that may list several problems.
fn assert_problem_among(problems: &str, service: &str, method: Option<&str>, message: &str) {
    let found = problems
        .lines()
        .filter(|line| line.contains(message))
        .any(|line| {
            line.contains(&format!("service {service}"))
                && method.is_none_or(|m| line.contains(&format!("method {m}:")))
        });
    assert!(
        found,
        "no `{message}` for {service}/{method:?} in:\n{problems}"
    );
}

const CART: &str = r#"
syntax = "proto3";
package shop;
import "google/protobuf/empty.proto";
import "restate/options.proto";

service Cart {
  option (restate.service_type) = VIRTUAL_OBJECT;
  option (restate.key_field) = "cart_id";
  rpc Add(AddItem) returns (google.protobuf.Empty);
  rpc Checkout(CheckoutRequest) returns (google.protobuf.Empty) {
    option (restate.handler_key_field) = "cart";
  }
  RPCS
}

message AddItem { string cart_id = 1; string sku = 2; repeated string tags = 3; int64 count = 4; }
message CheckoutRequest { optional string cart = 1; }
message Choice { oneof which { string a = 1; string b = 2; } }
"#;

fn cart(extra_rpcs: &str) -> String {
    CART.replace("RPCS", extra_rpcs)
}

#[test]
fn key_fields_come_from_the_rpc_or_else_the_service() {
    let services = model(&cart("")).unwrap();
    let fields: Vec<_> = services[0]
        .methods
        .iter()
        .map(|m| m.key_field.as_ref().map(|f| (f.name.as_str(), f.optional)))
        .collect();
    assert_eq!(fields, [Some(("cart_id", false)), Some(("cart", true))]);
    let plain = model(GREETER).unwrap();
    assert!(plain[0].methods.iter().all(|m| m.key_field.is_none()));
}

#[test]
fn key_fields_must_be_singular_strings_of_the_input() {
    let problem = single_problem(&cart(
        "rpc Count(AddItem) returns (google.protobuf.Empty) { option (restate.handler_key_field) = \"count\"; }",
    ));
    assert_eq!(
        problem,
        "greeter.proto: service shop.Cart, method Count: key field `count` of shop.AddItem must \
         be a singular string field"
    );
    let problem = single_problem(&cart(
        "rpc Tags(AddItem) returns (google.protobuf.Empty) { option (restate.handler_key_field) = \"tags\"; }",
    ));
    assert!(
        problem.contains("must be a singular string field"),
        "{problem}"
    );
    let problem = single_problem(&cart(
        "rpc Pick(Choice) returns (google.protobuf.Empty) { option (restate.handler_key_field) = \"a\"; }",
    ));
    assert!(
        problem.contains("key field `a` of shop.Choice must not be part of a oneof"),
        "{problem}"
    );
    // The service's key field applies to every rpc without one of its own.
    let problem = single_problem(&cart(
        "rpc Clear(google.protobuf.Empty) returns (google.protobuf.Empty);",
    ));
    assert_eq!(
        problem,
        "greeter.proto: service shop.Cart, method Clear: key field `cart_id` is not a field of \
         the input message google.protobuf.Empty"
    );
}

#[test]
fn proto2_optional_key_fields_are_options() {
    let services = model(
        r#"syntax = "proto2"; package p; import "restate/options.proto";
        message M { optional string id = 1; required string other = 2; }
        service S {
          option (restate.service_type) = VIRTUAL_OBJECT;
          rpc Go(M) returns (M) { option (restate.handler_key_field) = "id"; }
          rpc Stop(M) returns (M) { option (restate.handler_key_field) = "other"; }
        }"#,
    )
    .unwrap();
    let fields: Vec<_> = services[0]
        .methods
        .iter()
        .map(|m| m.key_field.as_ref().map(|f| f.optional))
        .collect();
    assert_eq!(fields, [Some(true), Some(false)]);
}

#[test]
fn key_fields_need_a_keyed_service() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        message M { string id = 1; }
        service S { rpc Go(M) returns (M) { option (restate.handler_key_field) = "id"; } }"#,
    );
    assert!(
        problem.contains("method Go: key fields are only allowed on virtual objects and workflows"),
        "{problem}"
    );
}

#[test]
fn every_configuration_problem_of_a_handler_is_reported() {
    let error = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        message M { string id = 1; }
        service W {
          option (restate.service_type) = WORKFLOW;
          rpc Run(M) returns (M) {
            option (restate.handler_config) = {
              idempotency_retention: "soon"
              inactivity_timeout: "-1s"
            };
          }
        }"#,
    )
    .unwrap_err();
    let problems: Vec<String> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("idempotency_retention:")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("inactivity_timeout:")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("not allowed on a workflow's run handler")),
        "{problems:?}"
    );
}

#[test]
fn fields_prost_names_alike_are_reported_with_file_and_message() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p;
        message Outer { message Clash { string kind = 1; oneof Kind { string a = 2; } } }"#,
    );
    assert_eq!(
        problem,
        "greeter.proto: message p.Outer.Clash: fields `kind` and `Kind` both become the Rust \
         field `kind`; rename one"
    );
}

#[test]
fn descriptor_errors_name_the_file_and_message() {
    let problem = single_problem(
        r#"syntax = "proto3"; package p;
        message Outer { message Clash { string self = 1; string Self = 2; } }"#,
    );
    assert_eq!(
        problem,
        "greeter.proto: message p.Outer.Clash: camel-case name of field 'self' conflicts with \
         field 'Self'"
    );
}

#[test]
fn raw_rpcs_pass_bytes_values_through() {
    let services = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        import "google/protobuf/empty.proto"; import "google/protobuf/wrappers.proto";
        service S {
          rpc Echo(google.protobuf.BytesValue) returns (google.protobuf.BytesValue) { option (restate.raw) = true; }
          rpc Take(google.protobuf.BytesValue) returns (google.protobuf.Empty) { option (restate.raw) = true; }
          rpc Wrapped(google.protobuf.BytesValue) returns (google.protobuf.BytesValue);
        }"#,
    )
    .unwrap();
    let raw: Vec<_> = services[0]
        .methods
        .iter()
        .map(|m| (m.input_is_raw, m.output_is_raw))
        .collect();
    assert_eq!(raw, [(true, true), (true, false), (false, false)]);
}

#[test]
fn raw_rpcs_of_other_messages_are_rejected() {
    let proto = |rpc: &str| {
        format!(
            r#"syntax = "proto3"; package p; import "restate/options.proto";
            import "google/protobuf/empty.proto"; import "google/protobuf/wrappers.proto";
            message M {{ string a = 1; }}
            service S {{ {rpc} }}"#
        )
    };
    assert_eq!(
        single_problem(&proto(
            "rpc Go(M) returns (google.protobuf.BytesValue) { option (restate.raw) = true; }"
        )),
        "greeter.proto: service p.S, method Go: (restate.raw) rpcs take and return \
         google.protobuf.BytesValue (or google.protobuf.Empty), not p.M"
    );
    assert_eq!(
        single_problem(&proto(
            "rpc Go(google.protobuf.Empty) returns (google.protobuf.Empty) { option (restate.raw) = true; }"
        )),
        "greeter.proto: service p.S, method Go: (restate.raw) needs google.protobuf.BytesValue \
         as the input or the output"
    );
}

#[test]
fn required_service_types_name_the_services_without_one() {
    let services = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        import "google/protobuf/empty.proto";
        service Plain { rpc Go(google.protobuf.Empty) returns (google.protobuf.Empty); }
        service Said {
          option (restate.service_type) = SERVICE;
          rpc Go(google.protobuf.Empty) returns (google.protobuf.Empty);
        }"#,
    )
    .unwrap();
    assert_eq!(
        services.iter().map(|s| s.ty_annotated).collect::<Vec<_>>(),
        [false, true]
    );
    let error = crate::model::require_service_types(&services).unwrap_err();
    assert_eq!(
        error.to_string(),
        "greeter.proto: service p.Plain: no (restate.service_type) annotation: this build \
         requires one on every service (SERVICE, VIRTUAL_OBJECT or WORKFLOW)"
    );
    assert!(crate::model::require_service_types(&services[1..]).is_ok());
}

/// The Restate names of `proto`'s services and their handlers, or every naming problem.
fn restate_names(proto: &str, short: bool) -> Result<Vec<(String, Vec<String>)>, Vec<String>> {
    let mut services = model(proto).unwrap();
    match super::resolve_names(&mut services, short) {
        Ok(()) => Ok(services
            .iter()
            .map(|s| {
                let handlers = s.methods.iter().map(|m| m.restate_name.clone()).collect();
                (s.restate_name.clone(), handlers)
            })
            .collect()),
        Err(error) => Err(error.diagnostics().iter().map(|d| d.to_string()).collect()),
    }
}

const NAMED: &str = r#"syntax = "proto3"; package shop.v1; import "restate/options.proto";
    message M {}
    service Cart {
      option (restate.service_name) = "Basket";
      rpc Add(M) returns (M) { option (restate.handler_name) = "put"; }
      rpc Get(M) returns (M);
    }
    service Orders { rpc Place(M) returns (M); }"#;

#[test]
fn restate_names_come_from_the_options_else_the_proto() {
    assert_eq!(
        restate_names(NAMED, false).unwrap(),
        [
            (
                "Basket".to_owned(),
                vec!["put".to_owned(), "Get".to_owned()]
            ),
            ("shop.v1.Orders".to_owned(), vec!["Place".to_owned()]),
        ]
    );
    // Short names apply where no option names the service.
    assert_eq!(restate_names(NAMED, true).unwrap()[1].0, "Orders");
    assert_eq!(restate_names(NAMED, true).unwrap()[0].0, "Basket");
}

#[test]
fn clashing_reserved_and_unusable_names_fail_the_build() {
    let clash = r#"syntax = "proto3"; package p; import "restate/options.proto";
        message M {}
        service A {
          option (restate.service_name) = "B";
          rpc X(M) returns (M) { option (restate.handler_name) = "Y"; }
          rpc Y(M) returns (M);
        }
        service B { rpc Z(M) returns (M); }
        service C {
          option (restate.service_name) = "restate_admin";
          rpc Z(M) returns (M) { option (restate.handler_name) = "a/b"; }
        }"#;
    let problems = restate_names(clash, true).unwrap_err();
    assert_eq!(
        problems,
        [
            "greeter.proto: service p.A, method Y: the Restate handler name \"Y\" is also the \
             name of rpc X; give one of them another (restate.handler_name)",
            "greeter.proto: service p.B: the Restate name \"B\" is also the name of service p.A \
             (greeter.proto); give one of them another (restate.service_name)",
            "greeter.proto: service p.C: the Restate service name \"restate_admin\" is reserved \
             by Restate (names starting with \"restate\", and \"openapi\")",
            "greeter.proto: service p.C, method Z: the Restate handler name \"a/b\" has the \
             character '/'; use letters, digits, '_', '.' and '-'",
        ]
    );
    // Without short names, the full names do not clash.
    let distinct = r#"syntax = "proto3"; package p; message M {}
        service A { rpc X(M) returns (M); }"#;
    assert!(restate_names(distinct, false).is_ok());
}

#[test]
fn a_retry_policy_with_an_unreadable_field_still_has_its_other_fields_checked() {
    let error = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        message M {}
        service S {
          option (restate.service_config) = {
            retry_policy: { initial_interval: "10x" factor: 0.5 max_attempts: 0 }
          };
          rpc Do(M) returns (M);
        }"#,
    )
    .unwrap_err();
    let problems: Vec<&str> = error
        .diagnostics()
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("retry_policy.initial_interval: invalid duration"));
    assert_eq!(
        problems[1..],
        [
            "retry_policy.factor: 0.5 is not a number of at least 1",
            "retry_policy.max_attempts: at least one attempt is needed",
        ]
    );
}
