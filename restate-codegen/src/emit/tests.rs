//! Emitter tests: the output parses as Rust and has the promised shapes.

use std::collections::HashMap;

use quote::ToTokens;

use super::{Error, MethodTypes};
use crate::model::{Codec, Service};
use crate::testing::model;

const PROTO: &str = r#"
syntax = "proto3";
package helloworld;
import "google/protobuf/empty.proto";
import "restate/options.proto";

// Greets people.
service Greeter {
  // Sends a greeting.
  rpc SayHello(HelloRequest) returns (HelloResponse);
  rpc Ping(google.protobuf.Empty) returns (google.protobuf.Empty);
}

service Counter {
  option (restate.service_type) = VIRTUAL_OBJECT;
  option (restate.codec) = PROTOBUF;
  rpc Add(HelloRequest) returns (google.protobuf.Empty);
  rpc Get(google.protobuf.Empty) returns (HelloResponse) {
    option (restate.handler_type) = SHARED;
  }
}

service Signup {
  option (restate.service_type) = WORKFLOW;
  rpc Run(HelloRequest) returns (HelloResponse);
  rpc Confirm(HelloRequest) returns (google.protobuf.Empty);
}

message HelloRequest { string name = 1; }
message HelloResponse { string message = 1; }
"#;

/// The Rust types prost would give every rpc of `service`: the message names.
fn types(service: &Service) -> HashMap<String, MethodTypes> {
    let short = |full: &str| full.rsplit('.').next().unwrap().to_owned();
    service
        .methods
        .iter()
        .map(|m| {
            let types = MethodTypes {
                input: short(&m.input_type),
                output: short(&m.output_type),
            };
            (m.name.clone(), types)
        })
        .collect()
}

/// The code emitted for the service called `name`: formatted, parsed, and as unformatted
/// tokens.
fn emit(name: &str, default_codec: Codec) -> (String, syn::File, proc_macro2::TokenStream) {
    let services = model(PROTO).unwrap();
    let service = services.iter().find(|s| s.rust_name == name).unwrap();
    let code = super::service(service, default_codec, &types(service)).unwrap();
    let file = syn::parse_file(&code).unwrap_or_else(|e| panic!("{e}\n{code}"));
    let tokens = super::service_tokens(service, default_codec, &types(service), false).unwrap();
    (code, file, tokens)
}

fn trait_item<'a>(file: &'a syn::File, name: &str) -> &'a syn::ItemTrait {
    file.items
        .iter()
        .find_map(|item| match item {
            syn::Item::Trait(t) if t.ident == name => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no trait {name}"))
}

fn signature(item: &syn::ItemTrait, method: &str) -> String {
    let signature = item
        .items
        .iter()
        .find_map(|item| match item {
            syn::TraitItem::Fn(f) if f.sig.ident == method => Some(f.sig.to_token_stream()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no method {method}"));
    squash(&signature.to_string())
}

/// `code` as tokens without whitespace, for comparisons that ignore layout.
fn tokens(code: &str) -> String {
    squash(
        &code
            .parse::<proc_macro2::TokenStream>()
            .unwrap()
            .to_string(),
    )
}

fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn handler_trait_signatures() {
    let (_, _, emitted) = emit("Greeter", Codec::Json);
    let file = syn::parse2::<syn::File>(emitted).unwrap();
    let greeter = trait_item(&file, "Greeter");
    assert_eq!(
        squash(&greeter.supertraits.to_token_stream().to_string()),
        tokens("::core::marker::Send + ::core::marker::Sync + 'static")
    );
    assert_eq!(
        signature(greeter, "say_hello"),
        tokens(
            "fn say_hello(&self, ctx: ::restate_runtime::codegen::Context, request: HelloRequest) \
             -> impl ::core::future::Future<Output = ::core::result::Result<HelloResponse, \
             ::restate_runtime::codegen::HandlerError>> + ::core::marker::Send"
        )
    );
    assert_eq!(
        signature(greeter, "ping"),
        tokens(
            "fn ping(&self, ctx: ::restate_runtime::codegen::Context) \
             -> impl ::core::future::Future<Output = ::core::result::Result<(), \
             ::restate_runtime::codegen::HandlerError>> + ::core::marker::Send"
        )
    );
}

#[test]
fn proto_comments_become_rustdoc() {
    let (code, _, _) = emit("Greeter", Codec::Json);
    assert!(
        code.contains("/// Greets people.\npub trait Greeter"),
        "{code}"
    );
    assert!(
        code.contains("/// Sends a greeting.\n    fn say_hello"),
        "{code}"
    );
    assert!(code.contains("documentation: ::core::option::Option::Some(\"Greets people.\")"));
    assert!(code.contains(".with_documentation(\"Sends a greeting.\")"));
}

#[test]
fn default_bodies_answer_not_implemented() {
    let (_, _, emitted) = emit("Greeter", Codec::Json);
    let code = squash(&emitted.to_string());
    let expected = tokens(
        "let _ = (ctx, request); \
         ::restate_runtime::codegen::not_implemented(\"helloworld.Greeter\", \"SayHello\")",
    );
    assert!(code.contains(&expected), "{code}");
}

#[test]
fn plain_service_items() {
    let (_, _, emitted) = emit("Greeter", Codec::Json);
    let code = squash(&emitted.to_string());
    for expected in [
        "pub static GREETER_DEFINITION : :: restate_runtime :: codegen :: ServiceDefinition",
        "ty : :: restate_runtime :: codegen :: ServiceType :: Service , codec : :: restate_runtime :: codegen :: Codec :: Json",
        "pub struct GreeterServer < T >",
        "impl < T : Greeter > :: restate_runtime :: codegen :: Service for GreeterServer < T >",
        "\"SayHello\" => invocation . run (move | ctx : :: restate_runtime :: codegen :: Context , request : HelloRequest | async move { inner . say_hello (ctx , request) . await }) ,",
        "\"Ping\" => invocation . run (move | ctx : :: restate_runtime :: codegen :: Context , _ : () | async move { inner . ping (ctx) . await }) ,",
        "_ => invocation . unknown_handler () ,",
        ":: restate_runtime :: codegen :: HandlerDefinition :: new (\"Ping\") . without_input () . without_output ()",
        "pub struct GreeterClient < C = :: restate_runtime :: codegen :: Context > { inner : :: restate_runtime :: codegen :: Client < C > , }",
        "pub type GreeterIngressClient = GreeterClient < :: restate_runtime :: codegen :: Ingress > ;",
        "impl < C : :: restate_runtime :: codegen :: Caller > GreeterClient < C >",
        "pub fn new (caller : & impl :: restate_runtime :: codegen :: IntoCaller < Caller = C >) -> Self { Self { inner : :: restate_runtime :: codegen :: Client :: new (caller , & GREETER_DEFINITION) } }",
        "pub fn say_hello (& self , request : HelloRequest) -> :: restate_runtime :: codegen :: Request < C , HelloRequest , HelloResponse > { self . inner . request (\"SayHello\" , request) }",
        "pub fn ping (& self) -> :: restate_runtime :: codegen :: Request < C , () , () > { self . inner . request (\"Ping\" , ()) }",
    ] {
        assert!(
            code.contains(&tokens(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
    assert!(
        !code.contains("with_type"),
        "plain services have no handler types"
    );
}

#[test]
fn virtual_object_items() {
    let (_, file, emitted) = emit("Counter", Codec::Json);
    let code = squash(&emitted.to_string());
    let counter = trait_item(&file, "Counter");
    assert!(signature(counter, "add").contains("request:HelloRequest"));
    assert!(signature(counter, "add").contains("ctx:::restate_runtime::codegen::ObjectContext,"));
    assert!(
        signature(counter, "get").contains("ctx:::restate_runtime::codegen::ObjectSharedContext")
    );
    for expected in [
        "codec : :: restate_runtime :: codegen :: Codec :: Protobuf",
        "ty : :: restate_runtime :: codegen :: ServiceType :: VirtualObject",
        "HandlerDefinition :: new (\"Add\") . with_type (:: restate_runtime :: codegen :: HandlerType :: Exclusive) . without_output ()",
        "HandlerDefinition :: new (\"Get\") . with_type (:: restate_runtime :: codegen :: HandlerType :: Shared) . without_input ()",
        "key : impl :: core :: convert :: Into < :: std :: string :: String > ,",
        ":: restate_runtime :: codegen :: Client :: keyed (caller , & COUNTER_DEFINITION , key . into ())",
    ] {
        assert!(
            code.contains(&tokens(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
}

#[test]
fn the_default_codec_applies_without_an_annotation() {
    let (code, _, _) = emit("Greeter", Codec::Protobuf);
    assert!(
        code.contains("codec: ::restate_runtime::codegen::Codec::Protobuf,"),
        "{code}"
    );
}

#[test]
fn missing_or_invalid_types_are_errors() {
    let services = model(PROTO).unwrap();
    let greeter = &services[0];
    let error = super::service(greeter, Codec::Json, &HashMap::new()).unwrap_err();
    assert!(matches!(error, Error::MissingTypes { ref method, .. } if method == "SayHello"));

    let mut broken = types(greeter);
    broken.get_mut("SayHello").unwrap().input = "not a type!".to_owned();
    let error = super::service(greeter, Codec::Json, &broken).unwrap_err();
    assert!(matches!(error, Error::InvalidType { ref path, .. } if path == "not a type!"));
}

#[test]
fn a_service_without_rpcs_has_no_client_and_no_dispatch() {
    let services = model("syntax = \"proto3\"; package p; service Idle {}").unwrap();
    let code = super::service(&services[0], Codec::Json, &HashMap::new()).unwrap();
    syn::parse_file(&code).unwrap();
    assert!(code.contains("pub trait Idle"), "{code}");
    assert!(code.contains("pub struct IdleServer"), "{code}");
    assert!(!code.contains("IdleClient"), "{code}");
    assert!(!code.contains("match"), "{code}");
}

#[test]
fn workflow_items() {
    let (_, file, emitted) = emit("Signup", Codec::Json);
    let code = squash(&emitted.to_string());
    let signup = trait_item(&file, "Signup");
    assert!(signature(signup, "run").contains("ctx:::restate_runtime::codegen::WorkflowContext,"));
    assert!(
        signature(signup, "confirm")
            .contains("ctx:::restate_runtime::codegen::WorkflowSharedContext,")
    );
    for expected in [
        "move | ctx : :: restate_runtime :: codegen :: WorkflowContext , request : HelloRequest |",
        "move | ctx : :: restate_runtime :: codegen :: WorkflowSharedContext , request : HelloRequest |",
        "HandlerDefinition :: new (\"Run\") . with_type (:: restate_runtime :: codegen :: HandlerType :: WorkflowRun)",
        "pub fn handle (& self) -> :: restate_runtime :: codegen :: WorkflowHandle < C , HelloResponse > { self . inner . workflow_handle () }",
        "pub type SignupIngressClient = SignupClient < :: restate_runtime :: codegen :: Ingress > ;",
    ] {
        assert!(
            code.contains(&tokens(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
}

#[test]
fn definitions_carry_schemas_and_settings() {
    let services = model(
        r#"syntax = "proto3"; package p; import "restate/options.proto";
        message Req { string name = 1; }
        service Svc {
          option (restate.service_config) = { journal_retention: "1m" metadata: { key: "k" value: "v" } };
          rpc Hi(Req) returns (Req) {
            option (restate.handler_config) = {
              retry_policy: { initial_interval: "10ms" max_attempts: 3 on_max_attempts: PAUSE }
            };
          }
        }"#,
    )
    .unwrap();
    let service = &services[0];
    let code = squash(
        &super::service_tokens(service, Codec::Json, &types(service), false)
            .unwrap()
            .to_string(),
    );
    for expected in [
        "settings : :: restate_runtime :: codegen :: Settings { journal_retention : :: core :: option :: Option :: Some (:: core :: time :: Duration :: from_millis (60000u64)) , metadata : :: std :: borrow :: Cow :: Borrowed (& [(:: std :: borrow :: Cow :: Borrowed (\"k\") , :: std :: borrow :: Cow :: Borrowed (\"v\"))]) , .. :: restate_runtime :: codegen :: Settings :: NONE }",
        ".with_settings (:: restate_runtime :: codegen :: Settings { retry_policy : :: restate_runtime :: codegen :: RetryPolicy { initial_interval : :: core :: option :: Option :: Some (:: core :: time :: Duration :: from_millis (10u64)) , max_attempts : :: core :: option :: Option :: Some (3u32) , on_max_attempts : :: core :: option :: Option :: Some (:: restate_runtime :: codegen :: OnMaxAttempts :: Pause) , .. :: restate_runtime :: codegen :: RetryPolicy :: NONE } , .. :: restate_runtime :: codegen :: Settings :: NONE })",
    ] {
        assert!(
            code.contains(&tokens(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
    assert!(code.contains(".with_input_schema("), "{code}");
    assert!(code.contains("title\\\":\\\"Req"), "{code}");
}

#[test]
fn gateways_forward_through_the_runtime_with_key_fields() {
    let services = model(
        r#"syntax = "proto3"; package shop; import "restate/options.proto";
        message Item { optional string cart = 1; string sku = 2; }
        service Cart {
          option (restate.service_type) = VIRTUAL_OBJECT;
          rpc Add(Item) returns (Item) { option (restate.handler_key_field) = "cart"; }
          rpc Peek(Item) returns (Item);
        }"#,
    )
    .unwrap();
    let service = &services[0];
    let emitted = super::service_tokens(service, Codec::Json, &types(service), true).unwrap();
    let file = syn::parse2::<syn::File>(emitted.clone()).unwrap();
    let module = file
        .items
        .iter()
        .any(|item| matches!(item, syn::Item::Mod(m) if m.ident == "cart_server"));
    assert!(module, "tonic's server module");
    let code = squash(&emitted.to_string());
    for expected in [
        "use :: restate_runtime :: codegen :: tonic :: codegen :: * ;",
        "pub struct CartGateway { forwarder : :: restate_runtime :: codegen :: grpc :: Forwarder , }",
        "impl cart_server :: Cart for CartGateway",
        "fn key (request : & Item) -> & str { request . cart . as_deref () . unwrap_or_default () }",
        "self . forwarder . unary (\"Add\" , request , :: core :: option :: Option :: Some (key)) . await",
        "self . forwarder . unary (\"Peek\" , request , :: core :: option :: Option :: None) . await",
        "const NAME : & 'static str = \"shop.Cart\" ;",
        "routes . add_service (cart_server :: CartServer :: new (Self :: new (ingress))) ;",
        ":: restate_runtime :: codegen :: tonic_prost :: ProstCodec",
    ] {
        assert!(
            code.contains(&tokens(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
    assert!(
        !code.contains(&tokens("use tonic ::")),
        "tonic named directly"
    );
}

#[test]
fn restate_names_address_the_service_and_grpc_keeps_the_proto_names() {
    let services = model(
        r#"syntax = "proto3"; package shop; import "restate/options.proto";
        message Item { string sku = 1; }
        service Cart {
          option (restate.service_name) = "Basket";
          rpc Add(Item) returns (Item) { option (restate.handler_name) = "put"; }
        }"#,
    )
    .unwrap();
    let service = &services[0];
    let code = squash(
        &super::service_tokens(service, Codec::Json, &types(service), true)
            .unwrap()
            .to_string(),
    );
    for expected in [
        // Restate's side: discovery, dispatch, clients, gateway forwarding, messages.
        "name : \"Basket\" ,",
        ":: restate_runtime :: codegen :: HandlerDefinition :: new (\"put\")",
        "\"put\" => invocation . run (",
        "self . inner . request (\"put\" , request)",
        "self . forwarder . unary (\"put\" , request ,",
        ":: restate_runtime :: codegen :: not_implemented (\"Basket\" , \"put\")",
        // gRPC's side: the proto names.
        "const NAME : & 'static str = \"shop.Cart\" ;",
        "\"/shop.Cart/Add\" =>",
    ] {
        assert!(
            code.contains(&squash(expected)),
            "missing `{expected}` in\n{code}"
        );
    }
}
