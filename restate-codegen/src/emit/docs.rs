//! Proto comments as rustdoc attributes.

use proc_macro2::TokenStream;
use quote::quote;

/// The lines of a proto comment, each with the leading space rustdoc lines carry.
#[cfg(feature = "gateway")]
pub(super) fn lines(docs: Option<&str>) -> Vec<String> {
    docs.map(|docs| {
        docs.lines()
            .map(|line| {
                if line.is_empty() {
                    String::new()
                } else {
                    format!(" {line}")
                }
            })
            .collect()
    })
    .unwrap_or_default()
}

/// `#[doc]` attributes for `docs`, or for `fallback` when there are none.
pub(super) fn attrs(docs: Option<&str>, fallback: impl FnOnce() -> String) -> TokenStream {
    let text = docs.map_or_else(fallback, str::to_owned);
    let lines = text.lines().map(|line| {
        if line.is_empty() {
            String::new()
        } else {
            format!(" {line}")
        }
    });
    quote! { #( #[doc = #lines] )* }
}

/// The documentation string of a discovery definition: `Some("...")` or `None`.
pub(super) fn option_str(docs: Option<&str>) -> TokenStream {
    match docs {
        Some(docs) => quote!(::core::option::Option::Some(#docs)),
        None => quote!(::core::option::Option::None),
    }
}
