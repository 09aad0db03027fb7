//! The discovery manifest: what Restate learns about an endpoint when it is registered.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;

use super::options::ServiceSettings;
use crate::codec::Codec;
use crate::codegen::{
    HandlerDefinition, HandlerType, OnMaxAttempts, PayloadDefinition, ServiceDefinition,
    ServiceType, Settings,
};

/// The manifest content types this endpoint can answer, newest first.
pub(crate) const MANIFEST_VERSIONS: [&str; 3] = [
    "application/vnd.restate.endpointmanifest.v4+json",
    "application/vnd.restate.endpointmanifest.v3+json",
    "application/vnd.restate.endpointmanifest.v2+json",
];

/// Picks the newest manifest version the `Accept` header allows: one it names, or any under
/// `*/*` or `application/*` (as curl sends by default); a version or range with `q=0`, or a
/// weight that does not parse, is refused.
/// Without the header, the oldest version, which every Restate understands.
pub(crate) fn negotiate(accept: Option<&str>) -> Option<&'static str> {
    let Some(accept) = accept else {
        return Some(MANIFEST_VERSIONS[MANIFEST_VERSIONS.len() - 1]);
    };
    let ranges: Vec<(&str, f32)> = accept
        .split(',')
        .map(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or_default().trim();
            let quality = parts
                .find_map(|param| {
                    let (name, value) = param.split_once('=')?;
                    name.trim().eq_ignore_ascii_case("q").then_some(value)
                })
                .map_or(1.0, |q| match q.trim().parse::<f32>() {
                    Ok(q) if (0.0..=1.0).contains(&q) => q,
                    // A weight that is no weight refuses rather than guesses.
                    _ => 0.0,
                });
            (media, quality)
        })
        .collect();
    let quality = |version: &str| {
        // The most specific range that matches decides.
        let exact = ranges
            .iter()
            .find(|(media, _)| media.eq_ignore_ascii_case(version));
        let wildcard = || {
            ranges
                .iter()
                .find(|(media, _)| media.eq_ignore_ascii_case("application/*"))
                .or_else(|| ranges.iter().find(|(media, _)| *media == "*/*"))
        };
        exact.or_else(wildcard).map_or(0.0, |(_, q)| *q)
    };
    MANIFEST_VERSIONS
        .iter()
        .copied()
        .find(|version| quality(version) > 0.0)
}

/// How Restate should talk to the endpoint.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum ProtocolMode {
    /// One HTTP/2 stream per invocation, both directions open at once.
    BidiStream,
    /// One request and one response per attempt (HTTP/1.1).
    RequestResponse,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest<'a> {
    protocol_mode: ProtocolMode,
    min_protocol_version: u32,
    max_protocol_version: u32,
    services: Vec<ServiceManifest<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServiceManifest<'a> {
    name: &'a str,
    ty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    documentation: Option<&'a str>,
    handlers: Vec<HandlerManifest<'a>>,
    #[serde(flatten)]
    config: ConfigManifest<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HandlerManifest<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ty: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    documentation: Option<&'a str>,
    input: InputManifest,
    output: OutputManifest,
    #[serde(flatten)]
    config: ConfigManifest<'a>,
}

/// Settings, in the manifest's names and units (milliseconds).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigManifest<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    inactivity_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    abort_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency_retention: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    journal_retention: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_completion_retention: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ingress_private: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    enable_lazy_state: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_policy_initial_interval: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_policy_max_interval: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_policy_max_attempts: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_policy_exponentiation_factor: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_policy_on_max_attempts: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<&'a str, &'a str>,
}

impl<'a> From<&'a Settings> for ConfigManifest<'a> {
    fn from(config: &'a Settings) -> Self {
        let millis =
            |d: Option<Duration>| d.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let retry = &config.retry_policy;
        Self {
            inactivity_timeout: millis(config.inactivity_timeout),
            abort_timeout: millis(config.abort_timeout),
            idempotency_retention: millis(config.idempotency_retention),
            journal_retention: millis(config.journal_retention),
            workflow_completion_retention: millis(config.workflow_completion_retention),
            ingress_private: config.ingress_private,
            enable_lazy_state: config.enable_lazy_state,
            retry_policy_initial_interval: millis(retry.initial_interval),
            retry_policy_max_interval: millis(retry.max_interval),
            retry_policy_max_attempts: retry.max_attempts,
            retry_policy_exponentiation_factor: retry.factor,
            retry_policy_on_max_attempts: retry.on_max_attempts.map(on_max_attempts),
            metadata: config
                .metadata
                .iter()
                .map(|(key, value)| (key.as_ref(), value.as_ref()))
                .collect(),
        }
    }
}

fn on_max_attempts(on: OnMaxAttempts) -> &'static str {
    match on {
        OnMaxAttempts::Pause => "PAUSE",
        OnMaxAttempts::Kill => "KILL",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InputManifest {
    content_type: &'static str,
    required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_schema: Option<Box<RawValue>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OutputManifest {
    content_type: &'static str,
    set_content_type_if_empty: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    json_schema: Option<Box<RawValue>>,
}

impl<'a> Manifest<'a> {
    /// The manifest of `services`, each with the settings it was resolved to.
    pub(crate) fn new(
        mode: ProtocolMode,
        services: impl IntoIterator<Item = (&'a ServiceDefinition, &'a ServiceSettings)>,
    ) -> Self {
        use restate_sdk_shared_core::Version;
        Self {
            protocol_mode: mode,
            min_protocol_version: Version::minimum_supported_version() as u32,
            max_protocol_version: Version::maximum_supported_version() as u32,
            services: services
                .into_iter()
                .map(|(service, settings)| ServiceManifest::new(service, settings))
                .collect(),
        }
    }
}

impl<'a> ServiceManifest<'a> {
    fn new(service: &'a ServiceDefinition, settings: &'a ServiceSettings) -> Self {
        Self {
            name: service.name,
            ty: match service.ty {
                ServiceType::Service => "SERVICE",
                ServiceType::VirtualObject => "VIRTUAL_OBJECT",
                ServiceType::Workflow => "WORKFLOW",
            },
            documentation: service.documentation,
            handlers: service
                .handlers
                .iter()
                .zip(&settings.handlers)
                .map(|(handler, settings)| HandlerManifest::new(handler, service.codec, settings))
                .collect(),
            config: ConfigManifest::from(&settings.service),
        }
    }
}

impl<'a> HandlerManifest<'a> {
    fn new(handler: &'a HandlerDefinition, codec: Codec, settings: &'a Settings) -> Self {
        Self {
            name: handler.name,
            ty: handler.ty.map(|ty| match ty {
                HandlerType::Exclusive => "EXCLUSIVE",
                HandlerType::Shared => "SHARED",
                HandlerType::WorkflowRun => "WORKFLOW",
            }),
            documentation: handler.documentation,
            input: input_manifest(handler.input, codec),
            output: output_manifest(handler.output, codec),
            config: ConfigManifest::from(settings),
        }
    }
}

/// Inputs are never required: an empty body decodes to the default message, as in Protobuf.
/// Raw inputs take any content type.
fn input_manifest(payload: PayloadDefinition, codec: Codec) -> InputManifest {
    InputManifest {
        content_type: if payload.raw {
            "*/*"
        } else {
            codec.content_type()
        },
        required: false,
        json_schema: schema(payload),
    }
}

fn output_manifest(payload: PayloadDefinition, codec: Codec) -> OutputManifest {
    OutputManifest {
        content_type: if payload.raw {
            "application/octet-stream"
        } else {
            codec.content_type()
        },
        set_content_type_if_empty: false,
        json_schema: schema(payload),
    }
}

/// The payload's JSON Schema as it was generated; a schema that is not valid JSON is left out.
fn schema(payload: PayloadDefinition) -> Option<Box<RawValue>> {
    let schema = payload.json_schema?;
    RawValue::from_string(schema.to_owned()).ok()
}

#[cfg(test)]
mod tests {
    use super::super::options::{HandlerOptions, ServiceOptions};
    use super::*;

    static GREETER: ServiceDefinition = ServiceDefinition {
        name: "helloworld.Greeter",
        ty: ServiceType::Service,
        codec: Codec::Json,
        documentation: Some("Greets people."),
        handlers: &[HandlerDefinition::new("SayHello")
            .with_input_schema(r#"{"type":"object"}"#)
            .with_settings(Settings {
                inactivity_timeout: Some(Duration::from_secs(30)),
                metadata: std::borrow::Cow::Borrowed(&[(
                    std::borrow::Cow::Borrowed("team"),
                    std::borrow::Cow::Borrowed("greetings"),
                )]),
                ..Settings::NONE
            })],
        settings: Settings {
            ingress_private: Some(true),
            ..Settings::NONE
        },
    };

    #[test]
    fn negotiates_the_newest_accepted_version() {
        let accept = "application/vnd.restate.endpointmanifest.v3+json, application/vnd.restate.endpointmanifest.v2+json";
        assert_eq!(negotiate(Some(accept)), Some(MANIFEST_VERSIONS[1]));
        assert_eq!(negotiate(Some("application/json")), None);
        // curl's default, and wildcards with a version refused.
        assert_eq!(negotiate(Some("*/*")), Some(MANIFEST_VERSIONS[0]));
        assert_eq!(negotiate(Some("application/*")), Some(MANIFEST_VERSIONS[0]));
        let refused = "application/vnd.restate.endpointmanifest.v4+json;q=0, */*;q=0.5";
        assert_eq!(negotiate(Some(refused)), Some(MANIFEST_VERSIONS[1]));
        assert_eq!(negotiate(Some("*/*;q=0")), None);
        assert_eq!(negotiate(Some("*/*; Q=0")), None);
        assert_eq!(negotiate(Some("*/*;q=abc")), None);
        assert_eq!(negotiate(Some("APPLICATION/*")), Some(MANIFEST_VERSIONS[0]));
        assert_eq!(negotiate(None), Some(MANIFEST_VERSIONS[2]));
    }

    fn manifest(options: Option<&ServiceOptions>) -> serde_json::Value {
        let settings = ServiceSettings::resolve(&GREETER, options);
        serde_json::to_value(Manifest::new(
            ProtocolMode::BidiStream,
            [(&GREETER, &settings)],
        ))
        .unwrap()
    }

    #[test]
    fn manifest_names_services_and_handlers() {
        let json = manifest(None);
        assert_eq!(json["protocolMode"], "BIDI_STREAM");
        assert_eq!(json["services"][0]["name"], "helloworld.Greeter");
        assert_eq!(json["services"][0]["ty"], "SERVICE");
        assert_eq!(json["services"][0]["documentation"], "Greets people.");
        let handler = &json["services"][0]["handlers"][0];
        assert_eq!(handler["name"], "SayHello");
        assert_eq!(handler["input"]["contentType"], "application/json");
        assert!(handler.get("ty").is_none());
        assert_eq!(
            handler["input"]["jsonSchema"],
            serde_json::json!({ "type": "object" })
        );
        assert!(handler["output"].get("jsonSchema").is_none());
        assert_eq!(handler["inactivityTimeout"], 30_000);
        assert_eq!(handler["metadata"]["team"], "greetings");
        assert_eq!(json["services"][0]["ingressPrivate"], true);
        assert!(json["services"][0].get("abortTimeout").is_none());
    }

    #[test]
    fn options_replace_what_they_set_and_keep_the_rest() {
        let options = ServiceOptions::new()
            .ingress_private(false)
            .journal_retention(Duration::from_secs(7200))
            .retry_on_max_attempts(OnMaxAttempts::Kill)
            .handler(
                "SayHello",
                HandlerOptions::new()
                    .inactivity_timeout(Duration::from_secs(90))
                    .metadata("region", "eu")
                    .metadata("team", "platform"),
            );
        let json = manifest(Some(&options));
        let service = &json["services"][0];
        assert_eq!(service["ingressPrivate"], false);
        assert_eq!(service["journalRetention"], 7_200_000);
        assert_eq!(service["retryPolicyOnMaxAttempts"], "KILL");
        let handler = &service["handlers"][0];
        assert_eq!(handler["inactivityTimeout"], 90_000);
        // The proto's handler-level metadata stays; a handler-level value the service's
        // options replace is dropped, so the service's reaches the handler.
        let yielding = ServiceOptions::new().inactivity_timeout(Duration::from_secs(5));
        let json = manifest(Some(&yielding));
        assert_eq!(json["services"][0]["inactivityTimeout"], 5_000);
        assert!(
            json["services"][0]["handlers"][0]
                .get("inactivityTimeout")
                .is_none()
        );
        assert_eq!(handler["metadata"]["team"], "platform");
        assert_eq!(handler["metadata"]["region"], "eu");
        assert!(handler.get("journalRetention").is_none());
    }
}
