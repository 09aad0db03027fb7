//! The configurable entry point: protoc, model, messages and services, in that order.

use std::env;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::generator::{Failures, RestateServiceGenerator};
use crate::model::{self, Codec};
use crate::{messages, protoc};

/// Configures code generation; made by [`configure`](crate::configure).
///
/// ```no_run
/// // build.rs
/// fn main() -> std::io::Result<()> {
///     restate_codegen::configure()
///         .default_codec(restate_codegen::Codec::Protobuf)
///         .type_attribute(".helloworld.HelloRequest", "#[derive(Eq, Hash)]")
///         .compile(&["proto/greeter.proto"], &["proto"])
/// }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Builder {
    pub(crate) out_dir: Option<PathBuf>,
    pub(crate) default_codec: Codec,
    pub(crate) extern_paths: Vec<(String, String)>,
    pub(crate) type_attributes: Vec<(String, String)>,
    pub(crate) field_attributes: Vec<(String, String)>,
    pub(crate) message_attributes: Vec<(String, String)>,
    pub(crate) emit_rerun_if_changed: bool,
    pub(crate) serde_impls: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            out_dir: None,
            default_codec: Codec::default(),
            extern_paths: Vec::new(),
            type_attributes: Vec::new(),
            field_attributes: Vec::new(),
            message_attributes: Vec::new(),
            emit_rerun_if_changed: true,
            serde_impls: false,
        }
    }
}

impl Builder {
    /// The directory the `<package>.rs` files are written to; Cargo's `OUT_DIR` by default.
    pub fn out_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(path.into());
        self
    }

    /// The payload codec of services without a `(restate.codec)` option; [`Codec::Json`] by
    /// default.
    pub fn default_codec(mut self, codec: Codec) -> Self {
        self.default_codec = codec;
        self
    }

    /// Uses existing Rust types for a proto package or type instead of generating them, as
    /// [`prost_build::Config::extern_path`] does: `extern_path(".common", "::common_protos")`.
    pub fn extern_path(
        mut self,
        proto_path: impl Into<String>,
        rust_path: impl Into<String>,
    ) -> Self {
        self.extern_paths
            .push((proto_path.into(), rust_path.into()));
        self
    }

    /// Adds an attribute to the messages and enums matching `path`, as
    /// [`prost_build::Config::type_attribute`] does.
    pub fn type_attribute(mut self, path: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.type_attributes.push((path.into(), attribute.into()));
        self
    }

    /// Adds an attribute to the fields matching `path`, as
    /// [`prost_build::Config::field_attribute`] does.
    pub fn field_attribute(
        mut self,
        path: impl Into<String>,
        attribute: impl Into<String>,
    ) -> Self {
        self.field_attributes.push((path.into(), attribute.into()));
        self
    }

    /// Adds an attribute to the messages matching `path`, as
    /// [`prost_build::Config::message_attribute`] does.
    pub fn message_attribute(
        mut self,
        path: impl Into<String>,
        attribute: impl Into<String>,
    ) -> Self {
        self.message_attributes
            .push((path.into(), attribute.into()));
        self
    }

    /// Whether to also generate proto3-JSON serde implementations (pbjson) for the messages,
    /// for your own use (say, to embed messages in other JSON); off by default. The runtime
    /// does not need them: it encodes ProtoJSON from the messages' descriptors. They make the
    /// generated code several times larger and slower to compile.
    pub fn serde_impls(mut self, enabled: bool) -> Self {
        self.serde_impls = enabled;
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for each proto file and include directory;
    /// on by default.
    pub fn emit_rerun_if_changed(mut self, enabled: bool) -> Self {
        self.emit_rerun_if_changed = enabled;
        self
    }

    /// Compiles `protos`, importing from `includes`, into one `<package>.rs` file per proto
    /// package: the messages (payloads in both codecs, through the package's embedded
    /// descriptors), and for each service of `protos` its handler trait, server wrapper,
    /// discovery definition and client (usable from a handler's context or from an ingress).
    ///
    /// The annotation protos (`restate/options.proto`, `dev/restate/sdk/go.proto`) and the
    /// well-known types need no include directory.
    ///
    /// # Errors
    ///
    /// An [`io::ErrorKind::InvalidInput`] error when protoc rejects the files or a service breaks
    /// Restate's rules (the message names file, service and rpc), and other kinds when protoc
    /// cannot run or the output cannot be written.
    pub fn compile(
        &self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        let protos: Vec<PathBuf> = protos.iter().map(|p| p.as_ref().to_owned()).collect();
        let includes: Vec<PathBuf> = includes.iter().map(|p| p.as_ref().to_owned()).collect();
        let out_dir = self.resolve_out_dir()?;
        if self.emit_rerun_if_changed {
            for path in protos.iter().chain(&includes) {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }

        let descriptors = protoc::run(&protos, &includes)?;
        let services = model::from_descriptor_set(&descriptors.bytes, &descriptors.files)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;

        let failures = Failures::default();
        let generator =
            RestateServiceGenerator::new(services, self.default_codec, Rc::clone(&failures));
        let files = messages::generate(
            self,
            &descriptors.bytes,
            &descriptors.files,
            Box::new(generator),
        )?;
        if let Some(failure) = failures.borrow().first() {
            return Err(io::Error::other(format!(
                "cannot generate service code: {failure}"
            )));
        }
        messages::write(&out_dir, &files)
    }

    fn resolve_out_dir(&self) -> io::Result<PathBuf> {
        match &self.out_dir {
            Some(dir) => Ok(dir.clone()),
            None => env::var_os("OUT_DIR").map(PathBuf::from).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "OUT_DIR is not set: call compile from build.rs, or set an out_dir",
                )
            }),
        }
    }
}
