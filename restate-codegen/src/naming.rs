//! Rust names for proto names: the one place that decides what generated items are called.

use heck::{ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};

/// Keywords that can be used as raw identifiers (`r#type`).
const RAW_KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

/// Keywords that cannot be raw identifiers; a trailing underscore is appended instead.
const RESERVED_KEYWORDS: &[&str] = &["self", "Self", "super", "crate"];

/// The Rust method name of an rpc: `SayHello` becomes `say_hello`, `Type` becomes `r#type`.
pub(crate) fn method_name(rpc: &str) -> String {
    escape(rpc.to_snake_case())
}

/// The Rust type name of a proto service: `Greeter` stays `Greeter`, `user_api` becomes `UserApi`.
pub(crate) fn type_name(service: &str) -> String {
    escape(service.to_upper_camel_case())
}

/// Makes `name` usable as an identifier when it is a keyword.
fn escape(name: String) -> String {
    if RESERVED_KEYWORDS.contains(&name.as_str()) {
        name + "_"
    } else if RAW_KEYWORDS.contains(&name.as_str()) {
        format!("r#{name}")
    } else {
        name
    }
}

/// The Rust path prost gives a message, relative to the module of its package: the
/// snake_case modules of the messages it is nested in, then its UpperCamelCase name
/// (`Outer.Inner` becomes `outer::Inner`).
pub(crate) fn prost_type_path(nesting: &[&str], name: &str) -> String {
    nesting
        .iter()
        .map(|outer| prost_sanitize(outer.to_snake_case()))
        .chain(std::iter::once(prost_type_name(name)))
        .collect::<Vec<_>>()
        .join("::")
}

/// The Rust name prost gives a message field.
pub(crate) fn prost_field_name(name: &str) -> String {
    prost_sanitize(name.to_snake_case())
}

/// The Rust name prost gives a message or enum.
pub(crate) fn prost_type_name(name: &str) -> String {
    prost_sanitize(name.to_upper_camel_case())
}

/// Makes `ident` an identifier the way prost-build does: raw identifiers for keywords, a
/// trailing underscore for those that cannot be raw, a leading one before a digit.
fn prost_sanitize(ident: String) -> String {
    match ident.as_str() {
        "_" | "super" | "self" | "Self" | "extern" | "crate" => ident + "_",
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        s if RAW_KEYWORDS.contains(&s) && s != "extern" => format!("r#{ident}"),
        _ => ident,
    }
}

/// The names of the items generated for one service, all in the module of its proto package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceItems {
    /// The handler trait, e.g. `Greeter`.
    pub(crate) handlers: String,
    /// The server wrapper, e.g. `GreeterServer`.
    pub(crate) server: String,
    /// The in-handler client, e.g. `GreeterClient`.
    pub(crate) client: String,
    /// The alias of the client for calls through Restate's ingress, e.g.
    /// `GreeterIngressClient`.
    pub(crate) ingress_client: String,
    /// The discovery metadata, e.g. `GREETER_DEFINITION`.
    pub(crate) definition: String,
    /// The gRPC gateway, e.g. `GreeterGateway` (generated on request).
    pub(crate) gateway: String,
}

impl ServiceItems {
    /// The item names of a service whose Rust type name is `rust_name`.
    pub(crate) fn new(rust_name: &str) -> Self {
        let shouty = rust_name.to_shouty_snake_case();
        Self {
            handlers: rust_name.to_owned(),
            server: format!("{rust_name}Server"),
            client: format!("{rust_name}Client"),
            ingress_client: format!("{rust_name}IngressClient"),
            definition: format!("{shouty}_DEFINITION"),
            gateway: format!("{rust_name}Gateway"),
        }
    }

    /// The type names, which share a namespace with the messages and enums of the package.
    pub(crate) fn type_names(&self) -> [&str; 5] {
        [
            &self.handlers,
            &self.server,
            &self.client,
            &self.ingress_client,
            &self.gateway,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_names_are_snake_case_and_escaped() {
        assert_eq!(method_name("SayHello"), "say_hello");
        assert_eq!(method_name("GetHTTPStatus"), "get_http_status");
        assert_eq!(method_name("Type"), "r#type");
        assert_eq!(method_name("Self"), "self_");
    }

    #[test]
    fn type_names_are_upper_camel_case() {
        assert_eq!(type_name("Greeter"), "Greeter");
        assert_eq!(type_name("user_api"), "UserApi");
        assert_eq!(type_name("Self"), "Self_");
    }

    #[test]
    fn service_items_follow_the_service_name() {
        let items = ServiceItems::new("UserApi");
        assert_eq!(items.server, "UserApiServer");
        assert_eq!(items.client, "UserApiClient");
        assert_eq!(items.ingress_client, "UserApiIngressClient");
        assert_eq!(items.definition, "USER_API_DEFINITION");
    }

    #[test]
    fn message_paths_follow_prost() {
        assert_eq!(prost_type_path(&[], "HelloRequest"), "HelloRequest");
        assert_eq!(
            prost_type_path(&["Outer", "MidLevel"], "inner_msg"),
            "outer::mid_level::InnerMsg"
        );
        assert_eq!(prost_type_path(&["Type"], "Self"), "r#type::Self_");
        assert_eq!(prost_type_path(&[], "self"), "Self_");
        assert_eq!(prost_type_path(&["Crate"], "_2x"), "crate_::_2x");
    }
}
