//! Test support: descriptor sets compiled by the real protoc from proto sources held in memory.

use std::fs;
use std::path::PathBuf;

use crate::model::{self, Service};
use crate::protoc::{self, Descriptors};

/// Compiles `files` (name and contents, written to one include directory) with protoc; the
/// files named in `listed` are the ones compiled, the others are only there to be imported.
pub(crate) fn descriptors(files: &[(&str, &str)], listed: &[&str]) -> Descriptors {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, contents) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().expect("a parent directory")).expect("a directory");
        fs::write(&path, contents).expect("a proto file");
    }
    let protos: Vec<PathBuf> = listed.iter().map(|name| dir.path().join(name)).collect();
    match protoc::run(&protos, &[dir.path().to_owned()]) {
        Ok(descriptors) => descriptors,
        Err(error) => panic!("protoc rejected the test protos: {error}"),
    }
}

/// The model of one proto file named `greeter.proto`.
pub(crate) fn model(proto: &str) -> Result<Vec<Service>, model::Error> {
    let descriptors = descriptors(&[("greeter.proto", proto)], &["greeter.proto"]);
    model::from_descriptor_set(&descriptors.bytes, &descriptors.files)
}

/// The one problem the model of `proto` has, as its message says it.
pub(crate) fn single_problem(proto: &str) -> String {
    match model(proto) {
        Ok(services) => panic!("expected a problem, got {services:?}"),
        Err(model::Error::Invalid(diagnostics)) if diagnostics.len() == 1 => {
            diagnostics[0].to_string()
        }
        Err(error) => panic!("expected one problem, got: {error}"),
    }
}
