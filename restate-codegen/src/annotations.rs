//! The annotation protos this crate ships, so users import them without an include path of
//! their own.

use std::fs;
use std::io;
use std::path::Path;

/// An embedded proto file.
struct ProtoFile {
    /// The import path, e.g. `restate/options.proto`.
    path: &'static str,
    /// The file contents.
    contents: &'static str,
}

/// The shipped files: this crate's options and the Go SDK's, under their import paths.
const FILES: [ProtoFile; 2] = [
    ProtoFile {
        path: "restate/options.proto",
        contents: include_str!("../proto/restate/options.proto"),
    },
    ProtoFile {
        path: "dev/restate/sdk/go.proto",
        contents: include_str!("../proto/dev/restate/sdk/go.proto"),
    },
];

/// Whether `name` (a proto file name as protoc gives it) is one of the shipped files, for which
/// no Rust is generated unless they are compiled explicitly.
pub(crate) fn is_annotation_file(name: &str) -> bool {
    FILES.iter().any(|file| file.path == name)
}

/// Writes the shipped files under `dir`, which then serves as an include directory.
pub(crate) fn write_to(dir: &Path) -> io::Result<()> {
    for file in &FILES {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, file.contents)?;
    }
    Ok(())
}
