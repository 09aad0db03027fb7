//! Restate settings in the discovery definition: a `Config` expression of the runtime's
//! `codegen` module per service and handler.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::quote;

use super::runtime;
use crate::model::{Config, OnMaxAttempts, RetryPolicy};

/// The `Config` expression for `config`: only the fields that are set, the rest from
/// `Config::NONE`.
pub(super) fn tokens(config: &Config) -> TokenStream {
    let rt = runtime();
    let mut fields = Vec::new();
    let mut duration = |name: &str, value: Option<Duration>| {
        if let Some(value) = value {
            let ident = quote::format_ident!("{name}");
            let millis = u64::try_from(value.as_millis()).unwrap_or(u64::MAX);
            fields.push(quote!(#ident: ::core::option::Option::Some(
                ::core::time::Duration::from_millis(#millis)
            )));
        }
    };
    duration("inactivity_timeout", config.inactivity_timeout);
    duration("abort_timeout", config.abort_timeout);
    duration("idempotency_retention", config.idempotency_retention);
    duration("journal_retention", config.journal_retention);
    duration(
        "workflow_completion_retention",
        config.workflow_completion_retention,
    );
    if let Some(private) = config.ingress_private {
        fields.push(quote!(ingress_private: ::core::option::Option::Some(#private)));
    }
    if let Some(lazy) = config.enable_lazy_state {
        fields.push(quote!(enable_lazy_state: ::core::option::Option::Some(#lazy)));
    }
    if let Some(policy) = &config.retry_policy {
        let policy = retry_policy(policy);
        fields.push(quote!(retry_policy: #policy));
    }
    if !config.metadata.is_empty() {
        let entries = config
            .metadata
            .iter()
            .map(|(key, value)| quote!((#key, #value)));
        fields.push(quote!(metadata: &[#(#entries),*]));
    }
    if fields.is_empty() {
        return quote!(#rt::Config::NONE);
    }
    quote! {
        #rt::Config {
            #(#fields,)*
            ..#rt::Config::NONE
        }
    }
}

fn retry_policy(policy: &RetryPolicy) -> TokenStream {
    let rt = runtime();
    let option = |value: Option<TokenStream>| match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    };
    let duration = |value: Option<Duration>| {
        option(value.map(|d| {
            let millis = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
            quote!(::core::time::Duration::from_millis(#millis))
        }))
    };
    let initial_interval = duration(policy.initial_interval);
    let max_interval = duration(policy.max_interval);
    let factor = option(policy.factor.map(|f| quote!(#f)));
    let max_attempts = option(policy.max_attempts.map(|n| quote!(#n)));
    let on_max_attempts = option(policy.on_max_attempts.map(|on| match on {
        OnMaxAttempts::Pause => quote!(#rt::OnMaxAttempts::Pause),
        OnMaxAttempts::Kill => quote!(#rt::OnMaxAttempts::Kill),
    }));
    quote! {
        #rt::RetryPolicy {
            initial_interval: #initial_interval,
            max_interval: #max_interval,
            factor: #factor,
            max_attempts: #max_attempts,
            on_max_attempts: #on_max_attempts,
        }
    }
}
