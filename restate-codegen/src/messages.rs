//! Message types: prost-build writes the structs and enums, and each package file gets its
//! descriptors and the list that makes its messages payloads (ProtoJSON is applied at run time
//! from the descriptors). All of it lands in one `<package>.rs` file per proto package, next to
//! the service code the [`ServiceGenerator`] adds. On request, pbjson-build adds proto3-JSON
//! serde implementations for the user's own use.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io;
use std::path::Path;

use prost::Message;
use prost_build::{Module, ServiceGenerator};
use prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};

use crate::builder::Builder;
use crate::emit::{self, PackageMessage};
use crate::{annotations, naming};

/// Where the well-known types come from: `pbjson-types`, through the runtime's re-export.
const WELL_KNOWN_TYPES: (&str, &str) = (
    ".google.protobuf",
    "::restate_runtime::codegen::pbjson_types",
);

/// Where prost's own items are, for the derives and paths prost writes.
const PROST_PATH: &str = "::restate_runtime::codegen::prost";

/// Puts the crates pbjson's serde implementations name in scope, from the runtime's
/// re-exports.
const SERDE_PRELUDE: &str =
    "#[allow(unused_imports)]\nuse ::restate_runtime::codegen::{pbjson, serde};\n";

/// The name prost gives the file of a package-less proto file.
const DEFAULT_FILE_NAME: &str = "_";

/// One generated Rust file: its name (`<package>.rs`) and contents.
pub(crate) struct RustFile {
    /// The file name, as prost names it.
    pub(crate) name: String,
    /// The Rust source.
    pub(crate) contents: String,
}

/// Generates the message code of `fds`, with the services of `service_generator`, one file per
/// package.
///
/// A package is generated when a file of it is listed in `listed`, or imported, unless it is
/// mapped elsewhere with an extern path or the file is an annotation proto. prost and pbjson
/// still see every file: they need the descriptors of all referenced messages.
pub(crate) fn generate(
    builder: &Builder,
    fds: &[u8],
    listed: &[String],
    gateway_packages: &[String],
    service_generator: Box<dyn ServiceGenerator>,
) -> io::Result<Vec<RustFile>> {
    let fds = FileDescriptorSet::decode(fds).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("protoc wrote an invalid descriptor set: {e}"),
        )
    })?;
    let extern_paths = extern_paths(builder);
    let generated: Vec<&FileDescriptorProto> = fds
        .file
        .iter()
        .filter(|file| {
            listed.iter().any(|name| name == file.name())
                || !(annotations::is_annotation_file(file.name())
                    || is_extern(file.package(), &extern_paths))
        })
        .collect();
    if let Some(file) = generated.iter().find(|file| file.package().is_empty()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: restate-codegen needs a `package` declaration in every compiled file",
                file.name()
            ),
        ));
    }
    let packages: BTreeSet<String> = generated
        .iter()
        .map(|file| module_package(&Module::from_protobuf_package_name(file.package())))
        .collect();

    let mut modules = prost_code(builder, &extern_paths, &fds.file, service_generator)?;
    modules.retain(|(module, _)| packages.contains(&module_package(module)));
    for (module, buf) in &mut modules {
        let files: Vec<&FileDescriptorProto> = generated
            .iter()
            .copied()
            .filter(|file| {
                module_package(&Module::from_protobuf_package_name(file.package()))
                    == module_package(module)
            })
            .collect();
        let Some(package) = files.first().map(|file| file.package().to_owned()) else {
            continue;
        };
        let messages = package_messages(&files, &extern_paths);
        let descriptors = package_descriptors(&fds, &files);
        let needs_descriptors = gateway_packages.contains(&package);
        let items = emit::package_items(
            &package,
            &descriptors,
            &messages,
            needs_descriptors,
            builder.ignore_unknown_json_fields,
        )
        .map_err(|e| io::Error::other(e.to_string()))?;
        buf.push('\n');
        buf.push_str(&items);
    }
    if builder.serde_impls {
        let prefixes = generated.iter().map(|file| format!(".{}", file.package()));
        for (package, code) in serde_code(&extern_paths, &fds.file, prefixes)? {
            // Types of sub-packages that are not generated are left out.
            let module = modules
                .iter_mut()
                .find(|(module, _)| module_package(module) == package);
            if let Some((_, buf)) = module {
                buf.push('\n');
                buf.push_str(SERDE_PRELUDE);
                buf.push_str(&prost_variant_names(&code));
            }
        }
    }
    Ok(modules
        .into_iter()
        .map(|(module, contents)| RustFile {
            name: module.to_file_name_or(DEFAULT_FILE_NAME),
            contents,
        })
        .collect())
}

/// Writes `files` to `out_dir`, leaving files whose contents did not change untouched so that
/// they do not trigger rebuilds.
pub(crate) fn write(out_dir: &Path, files: &[RustFile]) -> io::Result<()> {
    fs::create_dir_all(out_dir)?;
    for file in files {
        let path = out_dir.join(&file.name);
        if fs::read(&path).is_ok_and(|existing| existing == file.contents.as_bytes()) {
            continue;
        }
        fs::write(path, &file.contents)?;
    }
    Ok(())
}

/// The user's extern paths, plus the well-known types unless the user mapped them.
fn extern_paths(builder: &Builder) -> Vec<(String, String)> {
    let mut paths = builder.extern_paths.clone();
    if !paths.iter().any(|(proto, _)| proto == WELL_KNOWN_TYPES.0) {
        paths.push((WELL_KNOWN_TYPES.0.to_owned(), WELL_KNOWN_TYPES.1.to_owned()));
    }
    paths
}

/// Whether an extern path covers all of `package`.
fn is_extern(package: &str, extern_paths: &[(String, String)]) -> bool {
    is_extern_name(&format!(".{package}"), extern_paths)
}

/// Whether an extern path covers the package or type `name` (with a leading dot).
fn is_extern_name(name: &str, extern_paths: &[(String, String)]) -> bool {
    extern_paths.iter().any(|(proto, _)| {
        name == proto
            || name
                .strip_prefix(proto.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The messages prost generates for `files` (all of one package), nested ones included; map
/// entries and messages mapped elsewhere by an extern path are left out.
fn package_messages(
    files: &[&FileDescriptorProto],
    extern_paths: &[(String, String)],
) -> Vec<PackageMessage> {
    fn walk<'a>(
        package: &str,
        nesting: &mut Vec<&'a str>,
        message: &'a DescriptorProto,
        extern_paths: &[(String, String)],
        out: &mut Vec<PackageMessage>,
    ) {
        if message.options.as_ref().and_then(|o| o.map_entry) == Some(true) {
            return;
        }
        let mut full_name = package.to_owned();
        for part in nesting.iter().chain(std::iter::once(&message.name())) {
            if !full_name.is_empty() {
                full_name.push('.');
            }
            full_name.push_str(part);
        }
        if is_extern_name(&format!(".{full_name}"), extern_paths) {
            return;
        }
        out.push(PackageMessage {
            rust_path: naming::prost_type_path(nesting, message.name()),
            full_name,
        });
        nesting.push(message.name());
        for nested in &message.nested_type {
            walk(package, nesting, nested, extern_paths, out);
        }
        nesting.pop();
    }
    let mut messages = Vec::new();
    for file in files {
        for message in &file.message_type {
            walk(
                file.package(),
                &mut Vec::new(),
                message,
                extern_paths,
                &mut messages,
            );
        }
    }
    messages
}

/// The encoded descriptors of `files` and of everything they import, without source info
/// (comments are not needed at run time).
fn package_descriptors(fds: &FileDescriptorSet, files: &[&FileDescriptorProto]) -> Vec<u8> {
    let by_name: HashMap<&str, &FileDescriptorProto> =
        fds.file.iter().map(|file| (file.name(), file)).collect();
    let mut needed = BTreeSet::new();
    let mut pending: Vec<&str> = files.iter().map(|file| file.name()).collect();
    while let Some(name) = pending.pop() {
        if !needed.insert(name) {
            continue;
        }
        if let Some(file) = by_name.get(name) {
            pending.extend(file.dependency.iter().map(String::as_str));
        }
    }
    // protoc lists dependencies before the files that import them; the pool needs that order.
    let file = fds
        .file
        .iter()
        .filter(|file| needed.contains(file.name()))
        .map(|file| FileDescriptorProto {
            source_code_info: None,
            ..file.clone()
        })
        .collect();
    FileDescriptorSet { file }.encode_to_vec()
}

/// The dotted package name of a prost module, in prost's snake_case spelling (as pbjson spells
/// its packages too).
fn module_package(module: &Module) -> String {
    module.parts().collect::<Vec<_>>().join(".")
}

/// The prost code of `files`, by module.
fn prost_code(
    builder: &Builder,
    extern_paths: &[(String, String)],
    files: &[FileDescriptorProto],
    service_generator: Box<dyn ServiceGenerator>,
) -> io::Result<Vec<(Module, String)>> {
    let mut config = prost_build::Config::new();
    config.prost_path(PROST_PATH);
    config.compile_well_known_types();
    // Journaled payloads must encode to the same bytes on every attempt: a map iterated in
    // hash order would not, and its replay would be a journal mismatch.
    config.btree_map(["."]);
    for (proto, rust) in extern_paths {
        config.extern_path(proto, rust);
    }
    for (path, attribute) in &builder.type_attributes {
        config.type_attribute(path, attribute);
    }
    for (path, attribute) in &builder.field_attributes {
        config.field_attribute(path, attribute);
    }
    for (path, attribute) in &builder.message_attributes {
        config.message_attribute(path, attribute);
    }
    // prost-derive's Debug implementation of a `BTreeMap` field names `prost::alloc` by a
    // relative path, which does not resolve in a crate that depends on restate-runtime alone:
    // messages with map fields get the standard derive instead.
    let with_maps = messages_with_maps(files);
    if !with_maps.is_empty() {
        config.skip_debug(&with_maps);
        for path in &with_maps {
            config.type_attribute(path, "#[derive(Debug)]");
        }
    }
    config.service_generator(service_generator);
    let requests = files
        .iter()
        .map(|file| {
            (
                Module::from_protobuf_package_name(file.package()),
                file.clone(),
            )
        })
        .collect();
    let mut modules: Vec<_> = config.generate(requests)?.into_iter().collect();
    modules.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(modules)
}

/// pbjson's code with enum variants named as prost names them: a value that becomes `Self` once
/// its enum's prefix is stripped (`AUDIENCE_SELF` in `enum Audience`) is the variant `Self_`,
/// which pbjson writes `Enum::Self`.
fn prost_variant_names(code: &str) -> String {
    const SELF_VARIANT: &str = "::Self";
    let mut fixed = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find(SELF_VARIANT) {
        let end = at + SELF_VARIANT.len();
        fixed.push_str(&rest[..end]);
        let continues_identifier = rest[end..]
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !continues_identifier {
            fixed.push('_');
        }
        rest = &rest[end..];
    }
    fixed.push_str(rest);
    fixed
}

/// The fully qualified names (with a leading dot) of the messages that declare map fields.
fn messages_with_maps(files: &[FileDescriptorProto]) -> Vec<String> {
    fn walk(prefix: &str, message: &DescriptorProto, out: &mut Vec<String>) {
        let name = format!("{prefix}.{}", message.name());
        let is_map_entry = |nested: &DescriptorProto| {
            nested.options.as_ref().and_then(|o| o.map_entry) == Some(true)
        };
        if message.nested_type.iter().any(is_map_entry) {
            out.push(name.clone());
        }
        for nested in &message.nested_type {
            if !is_map_entry(nested) {
                walk(&name, nested, out);
            }
        }
    }
    let mut out = Vec::new();
    for file in files {
        let prefix = if file.package().is_empty() {
            String::new()
        } else {
            format!(".{}", file.package())
        };
        for message in &file.message_type {
            walk(&prefix, message, &mut out);
        }
    }
    out
}

/// The pbjson serde code of the types under `prefixes` (`.package` names), by package.
fn serde_code(
    extern_paths: &[(String, String)],
    files: &[FileDescriptorProto],
    prefixes: impl IntoIterator<Item = String>,
) -> io::Result<Vec<(String, String)>> {
    let mut builder = pbjson_build::Builder::new();
    // As in `prost_code`: ordered maps, so that their JSON is the same on every attempt.
    builder.btree_map(["."]);
    for file in files {
        builder.register_file_descriptor(file.clone());
    }
    for (proto, rust) in extern_paths {
        builder.extern_path(proto, rust);
    }
    let prefixes: BTreeSet<String> = prefixes.into_iter().collect();
    let prefixes: Vec<String> = prefixes.into_iter().collect();
    builder
        .generate(&prefixes, |_| Ok(Vec::new()))?
        .into_iter()
        .map(|(package, code)| {
            let code = String::from_utf8(code).map_err(io::Error::other)?;
            Ok((package.to_string(), code))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::is_extern;

    #[test]
    fn self_variants_get_prost_s_underscore() {
        assert_eq!(
            super::prost_variant_names(
                "Self::Self => 1, Audience::Self) Self::Selfish ::Self_ x::Self"
            ),
            "Self::Self_ => 1, Audience::Self_) Self::Selfish ::Self_ x::Self_"
        );
    }

    #[test]
    fn extern_paths_cover_packages_and_subpackages() {
        let paths = [(".google.protobuf".to_owned(), "::pbjson_types".to_owned())];
        assert!(is_extern("google.protobuf", &paths));
        assert!(is_extern("google.protobuf.compiler", &paths));
        assert!(!is_extern("google.protobufx", &paths));
        assert!(!is_extern("helloworld", &paths));
    }
}
