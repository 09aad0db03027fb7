//! Restate settings in the discovery definition: a `Settings` constant of the runtime's
//! `codegen` module per service and handler.

use std::time::Duration;

use proc_macro2::TokenStream;
use quote::quote;

use super::runtime;
use crate::model::{OnMaxAttempts, RetryPolicy, Settings};

/// The `Settings` expression for `settings`: only the fields that are set, the rest from
/// `Settings::NONE`.
pub(super) fn tokens(settings: &Settings) -> TokenStream {
    let rt = runtime();
    let mut fields = Vec::new();
    let mut duration = |name: &str, value: Option<Duration>| {
        if let Some(value) = value {
            let ident = quote::format_ident!("{name}");
            let value = duration_tokens(value);
            fields.push(quote!(#ident: ::core::option::Option::Some(#value)));
        }
    };
    duration("inactivity_timeout", settings.inactivity_timeout);
    duration("abort_timeout", settings.abort_timeout);
    duration("idempotency_retention", settings.idempotency_retention);
    duration("journal_retention", settings.journal_retention);
    duration(
        "workflow_completion_retention",
        settings.workflow_completion_retention,
    );
    if let Some(private) = settings.ingress_private {
        fields.push(quote!(ingress_private: ::core::option::Option::Some(#private)));
    }
    if let Some(lazy) = settings.enable_lazy_state {
        fields.push(quote!(enable_lazy_state: ::core::option::Option::Some(#lazy)));
    }
    if !settings.retry_policy.is_none() {
        let policy = retry_policy(&settings.retry_policy);
        fields.push(quote!(retry_policy: #policy));
    }
    if !settings.metadata.is_empty() {
        let entries = settings.metadata.iter().map(|(key, value)| {
            let (key, value) = (key.as_ref(), value.as_ref());
            quote!((
                ::std::borrow::Cow::Borrowed(#key),
                ::std::borrow::Cow::Borrowed(#value)
            ))
        });
        fields.push(quote!(metadata: ::std::borrow::Cow::Borrowed(&[#(#entries),*])));
    }
    if fields.is_empty() {
        return quote!(#rt::Settings::NONE);
    }
    quote! {
        #rt::Settings {
            #(#fields,)*
            ..#rt::Settings::NONE
        }
    }
}

fn duration_tokens(value: Duration) -> TokenStream {
    let millis = u64::try_from(value.as_millis()).unwrap_or(u64::MAX);
    quote!(::core::time::Duration::from_millis(#millis))
}

fn retry_policy(policy: &RetryPolicy) -> TokenStream {
    let rt = runtime();
    let mut fields = Vec::new();
    if let Some(value) = policy.initial_interval {
        let value = duration_tokens(value);
        fields.push(quote!(initial_interval: ::core::option::Option::Some(#value)));
    }
    if let Some(value) = policy.max_interval {
        let value = duration_tokens(value);
        fields.push(quote!(max_interval: ::core::option::Option::Some(#value)));
    }
    if let Some(factor) = policy.factor {
        fields.push(quote!(factor: ::core::option::Option::Some(#factor)));
    }
    if let Some(attempts) = policy.max_attempts {
        fields.push(quote!(max_attempts: ::core::option::Option::Some(#attempts)));
    }
    if let Some(on) = policy.on_max_attempts {
        let on = match on {
            OnMaxAttempts::Pause => quote!(#rt::OnMaxAttempts::Pause),
            OnMaxAttempts::Kill => quote!(#rt::OnMaxAttempts::Kill),
        };
        fields.push(quote!(on_max_attempts: ::core::option::Option::Some(#on)));
    }
    quote! {
        #rt::RetryPolicy {
            #(#fields,)*
            ..#rt::RetryPolicy::NONE
        }
    }
}
