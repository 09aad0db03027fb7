//! Runs protoc: proto files in, an encoded `FileDescriptorSet` with imports and source info out.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use crate::annotations;

/// What protoc produced for a set of proto files.
pub(crate) struct Descriptors {
    /// The encoded `FileDescriptorSet`: the listed files and everything they import, with
    /// source info.
    pub(crate) bytes: Vec<u8>,
    /// The names protoc gave the listed files (relative to their include directory), in the
    /// order they were listed.
    pub(crate) files: Vec<String>,
}

/// Compiles `protos` with `includes` as import paths, followed by the shipped annotation protos
/// and the well-known types.
pub(crate) fn run(protos: &[PathBuf], includes: &[PathBuf]) -> io::Result<Descriptors> {
    let scratch = tempfile::tempdir()?;
    let annotation_dir = scratch.path().join("include");
    annotations::write_to(&annotation_dir)?;
    let output = scratch.path().join("fds.bin");

    let protoc = protoc_path()?;
    let mut command = Command::new(&protoc);
    command
        .arg("--include_imports")
        .arg("--include_source_info")
        .arg("-o")
        .arg(&output);
    for include in includes {
        command.arg("-I").arg(include);
    }
    command.arg("-I").arg(&annotation_dir);
    command.arg("-I").arg(well_known_types_include()?);
    command.args(protos);

    let result = command.output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot run protoc ({}): {e}", protoc.to_string_lossy()),
        )
    })?;
    if !result.status.success() {
        return Err(io::Error::other(format!(
            "protoc failed ({}):\n{}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim_end()
        )));
    }

    let files = protos
        .iter()
        .map(|proto| {
            virtual_name(proto, includes).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not inside any include directory", proto.display()),
                )
            })
        })
        .collect::<io::Result<_>>()?;
    Ok(Descriptors {
        bytes: fs::read(&output)?,
        files,
    })
}

/// `PROTOC` if set, otherwise the protoc binary vendored with this crate.
fn protoc_path() -> io::Result<OsString> {
    if let Some(path) = env::var_os("PROTOC") {
        return Ok(path);
    }
    protoc_bin_vendored::protoc_bin_path()
        .map(PathBuf::into_os_string)
        .map_err(|e| {
            io::Error::other(format!(
                "no vendored protoc for this platform ({e}); set PROTOC to a protoc binary"
            ))
        })
}

/// `PROTOC_INCLUDE` if set, otherwise the well-known types shipped with the vendored protoc.
fn well_known_types_include() -> io::Result<PathBuf> {
    if let Some(path) = env::var_os("PROTOC_INCLUDE") {
        return Ok(path.into());
    }
    protoc_bin_vendored::include_path().map_err(|e| {
        io::Error::other(format!(
            "no well-known types for this platform ({e}); set PROTOC_INCLUDE"
        ))
    })
}

/// The name protoc gives `proto`: its path relative to the first include directory that holds
/// it, with `/` separators. Like protoc, a relative path that is not a file on disk is taken as
/// a name to look up in the include directories.
fn virtual_name(proto: &Path, includes: &[PathBuf]) -> Option<String> {
    let lexical = || {
        includes
            .iter()
            .find_map(|include| relative(&normalize(proto), &normalize(include)))
    };
    let canonical = || {
        let proto = fs::canonicalize(proto).ok()?;
        includes.iter().find_map(|include| {
            let include = fs::canonicalize(include).ok()?;
            relative(&proto, &include)
        })
    };
    let by_name = || {
        let found = !proto.exists() && includes.iter().any(|i| i.join(proto).is_file());
        found
            .then(|| relative(&normalize(proto), Path::new("")))
            .flatten()
    };
    lexical().or_else(canonical).or_else(by_name)
}

/// `path` relative to `base`, as a `/`-separated name.
fn relative(path: &Path, base: &Path) -> Option<String> {
    let rest = path.strip_prefix(base).ok()?;
    let parts: Option<Vec<&str>> = rest
        .components()
        .map(|component| match component {
            Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    parts.filter(|parts| !parts.is_empty()).map(|p| p.join("/"))
}

/// `path` without `.` components.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|component| !matches!(component, Component::CurDir))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_relative_to_the_first_matching_include() {
        let includes = [PathBuf::from("other"), PathBuf::from("./proto")];
        assert_eq!(
            virtual_name(Path::new("proto/sub/greeter.proto"), &includes).as_deref(),
            Some("sub/greeter.proto")
        );
        assert_eq!(
            virtual_name(Path::new("elsewhere/x.proto"), &includes),
            None
        );
    }
}
