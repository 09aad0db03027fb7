//! What every package file gets once: its encoded descriptors, and the list that makes each of
//! its messages a payload (ProtoJSON through the descriptors, Protobuf through prost).

use proc_macro2::Literal;
use quote::quote;

use super::{Error, runtime};

/// A message of a generated package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageMessage {
    /// Its Rust path relative to the package's module, as prost names it (`outer::Inner`).
    pub(crate) rust_path: String,
    /// Its fully qualified proto name (`helloworld.Outer.Inner`).
    pub(crate) full_name: String,
}

/// The descriptors static and the payload list of a package, formatted.
///
/// `descriptors` is the encoded `FileDescriptorSet` of the package's files and everything they
/// import. The static is left out of a package without messages unless `needs_descriptors`
/// (its gRPC gateway serves them for reflection). With `ignore_unknown_json_fields`, ProtoJSON
/// input may carry fields the messages do not declare.
///
/// # Errors
///
/// When a Rust path does not parse; a bug in the caller.
pub(crate) fn package_items(
    package: &str,
    descriptors: &[u8],
    messages: &[PackageMessage],
    needs_descriptors: bool,
    ignore_unknown_json_fields: bool,
) -> Result<String, Error> {
    let rt = runtime();
    let encoded = Literal::byte_string(descriptors);
    let doc = format!(
        " The descriptors of `{package}` and of what it imports: the ProtoJSON of its messages."
    );
    if messages.is_empty() && !needs_descriptors {
        return Ok(String::new());
    }
    let unknown_fields = if ignore_unknown_json_fields {
        quote!(.ignoring_unknown_json_fields())
    } else {
        quote!()
    };
    let tokens = quote! {
        #[doc = #doc]
        static DESCRIPTORS: #rt::Descriptors = #rt::Descriptors::new(#encoded)#unknown_fields;
    };
    let file = syn::parse2::<syn::File>(tokens).map_err(|source| Error::UnparsablePackage {
        package: package.to_owned(),
        source,
    })?;
    // One message a line: prettyplease would fill the macro's arguments like a paragraph.
    let mut code = prettyplease::unparse(&file);
    if messages.is_empty() {
        return Ok(code);
    }
    code.push_str("::restate_runtime::codegen::messages!(DESCRIPTORS {\n");
    for message in messages {
        syn::parse_str::<syn::Type>(&message.rust_path).map_err(|source| {
            Error::InvalidMessagePath {
                message: message.full_name.clone(),
                path: message.rust_path.clone(),
                source,
            }
        })?;
        let name = Literal::string(&message.full_name);
        code.push_str(&format!("    {} = {name},\n", message.rust_path));
    }
    code.push_str("});\n");
    Ok(code)
}
