//! `protoc-gen-restate-rust` run by the vendored protoc writes exactly what
//! `restate_codegen::compile` writes with the same options.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

const PLUGIN: &str = env!("CARGO_BIN_EXE_protoc-gen-restate-rust");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files in `dir`, by name.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// Runs protoc with the plugin on `proto` (include directory `include`) with `parameter`.
fn protoc_with_plugin(
    proto: &Path,
    include: &Path,
    parameter: &str,
    out: &Path,
) -> Result<(), String> {
    fs::create_dir_all(out).unwrap();
    let protoc = protoc_bin_vendored::protoc_bin_path().unwrap();
    let well_known = protoc_bin_vendored::include_path().unwrap();
    let output = Command::new(protoc)
        .arg(format!("--plugin=protoc-gen-restate-rust={PLUGIN}"))
        .arg(format!("--restate-rust_out={}", out.display()))
        .arg(format!("--restate-rust_opt={parameter}"))
        .arg("-I")
        .arg(include)
        .arg("-I")
        .arg(root().join("restate-codegen/proto"))
        .arg("-I")
        .arg(well_known)
        .arg(proto)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// What `compile` writes for `proto` (importing from `include`), configured by `configure`.
fn compiled(
    proto: &Path,
    include: &Path,
    configure: impl FnOnce(restate_codegen::Builder) -> restate_codegen::Builder,
) -> Vec<(String, String)> {
    let out = tempfile::tempdir().unwrap();
    configure(restate_codegen::configure())
        .out_dir(out.path())
        .emit_rerun_if_changed(false)
        .compile(&[proto], &[include])
        .unwrap();
    files(out.path())
}

fn same_as_compile(
    example: &str,
    parameter: &str,
    configure: impl FnOnce(restate_codegen::Builder) -> restate_codegen::Builder,
) {
    let include = root().join(format!("build-examples/{example}/proto"));
    let proto = include.join(format!("{example}.proto"));
    let dir = tempfile::tempdir().unwrap();
    let plugin_out = dir.path().join("plugin");
    protoc_with_plugin(&proto, &include, parameter, &plugin_out).unwrap();
    let (plugin, compiled) = (files(&plugin_out), compiled(&proto, &include, configure));
    assert!(!compiled.is_empty());
    assert_eq!(
        plugin.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        compiled.iter().map(|(name, _)| name).collect::<Vec<_>>()
    );
    for ((name, ours), (_, theirs)) in plugin.iter().zip(&compiled) {
        assert!(
            ours == theirs,
            "{example} with `{parameter}`: {name} differs"
        );
    }
}

#[test]
fn the_plugin_writes_what_compile_writes() {
    for example in ["greeter", "counter", "approval"] {
        same_as_compile(example, "grpc_gateway", |b| b.grpc_gateway(true));
        same_as_compile(example, "", |b| b);
    }
    same_as_compile(
        "greeter",
        "codec=protobuf,serde_impls,require_service_type=false,ignore_unknown_json_fields",
        |b| {
            b.default_codec(restate_codegen::Codec::Protobuf)
                .serde_impls(true)
                .ignore_unknown_json_fields(true)
        },
    );
}

#[test]
fn errors_reach_protoc_as_the_build_reports_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("bad.proto"),
        "syntax = \"proto3\";\npackage bad;\nimport \"restate/options.proto\";\n\
         message M { string m = 1; }\n\
         service W { rpc Get(stream M) returns (M); }\n",
    )
    .unwrap();
    let error = protoc_with_plugin(
        &dir.path().join("bad.proto"),
        dir.path(),
        "",
        &dir.path().join("out"),
    )
    .unwrap_err();
    assert!(error.contains("bad.proto"), "{error}");
    assert!(error.contains("bad.W"), "{error}");
    let error = protoc_with_plugin(
        &dir.path().join("bad.proto"),
        dir.path(),
        "colour=blue",
        &dir.path().join("out"),
    )
    .unwrap_err();
    assert!(error.contains("unknown option `colour`"), "{error}");
}

#[test]
fn buf_generate_writes_the_checked_in_example_and_what_compile_writes() {
    let example = root().join("build-examples/greeter-buf");
    let dir = tempfile::tempdir().unwrap();
    // buf finds the plugin on PATH, as after `cargo install restate-codegen --features gateway`.
    let plugin_dir = Path::new(PLUGIN).parent().unwrap();
    let path = std::env::join_paths(std::iter::once(plugin_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let output = Command::new(common::buf())
        .current_dir(&example)
        .env("PATH", path)
        .args(["generate", "--output"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let generated = fs::read_to_string(dir.path().join("src/gen/helloworld.rs")).unwrap();
    let checked_in = fs::read_to_string(example.join("src/gen/helloworld.rs")).unwrap();
    assert!(
        generated == checked_in,
        "build-examples/greeter-buf/src/gen is stale: run `buf generate` there"
    );

    let include = root().join("build-examples/greeter/proto");
    let compiled = compiled(&include.join("greeter.proto"), &include, |b| {
        b.grpc_gateway(true)
    });
    assert!(
        compiled == [("helloworld.rs".to_owned(), generated)],
        "buf generate and build.rs write different code"
    );
}

/// Runs `buf generate` (strategy all, `parameter`) on a module of these files and returns what it
/// wrote to `out`.
fn buf_generate(module: &[(&str, String)], parameter: &str) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    for (name, contents) in module {
        let path = dir.path().join("proto").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    fs::write(
        dir.path().join("buf.yaml"),
        "version: v2\nmodules:\n  - path: proto\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("buf.gen.yaml"),
        format!(
            "version: v2\nplugins:\n  - local: {PLUGIN}\n    out: out\n    strategy: all\n    \
             opt: [{parameter}]\n"
        ),
    )
    .unwrap();
    let output = Command::new(common::buf())
        .current_dir(dir.path())
        .arg("generate")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    files(&dir.path().join("out"))
}

#[test]
fn buf_on_a_module_holding_the_annotation_protos_writes_what_compile_writes() {
    let options =
        fs::read_to_string(root().join("restate-codegen/proto/restate/options.proto")).unwrap();
    let counter =
        fs::read_to_string(root().join("build-examples/counter/proto/counter.proto")).unwrap();
    let generated = buf_generate(
        &[
            ("counter.proto", counter),
            ("restate/options.proto", options),
        ],
        "grpc_gateway",
    );
    let include = root().join("build-examples/counter/proto");
    let compiled = compiled(&include.join("counter.proto"), &include, |b| {
        b.grpc_gateway(true)
    });
    assert_eq!(
        generated.iter().map(|(name, _)| name).collect::<Vec<_>>(),
        ["counter.rs"],
        "no code for the annotation protos"
    );
    assert!(
        generated == compiled,
        "buf and build.rs write different code"
    );
}

#[test]
fn imported_source_only_custom_options_are_left_out_as_compile_leaves_them() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("dep.proto"),
        "syntax = \"proto3\";\npackage dep;\nimport \"google/protobuf/descriptor.proto\";\n\
         extend google.protobuf.MessageOptions {\n  \
           string doc_only = 50777 [retention = RETENTION_SOURCE];\n  \
           string kept = 50778;\n}\n\
         message Note { option (doc_only) = \"for people\"; option (kept) = \"for code\"; \
         string text = 1; }\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("main.proto"),
        "syntax = \"proto3\";\npackage main;\nimport \"dep.proto\";\n\
         service Notes { rpc Add(dep.Note) returns (dep.Note); }\n",
    )
    .unwrap();
    let (main, plugin_out) = (dir.path().join("main.proto"), dir.path().join("plugin"));
    protoc_with_plugin(&main, dir.path(), "grpc_gateway", &plugin_out).unwrap();
    let (plugin, compiled) = (
        files(&plugin_out),
        compiled(&main, dir.path(), |b| b.grpc_gateway(true)),
    );
    assert_eq!(plugin.len(), 2, "main.rs and dep.rs");
    assert!(plugin == compiled, "the plugin and compile differ");
}

#[test]
fn files_of_protobuf_editions_are_refused_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("ed.proto"),
        "edition = \"2023\";\npackage ed;\nmessage M { string m = 1; }\n\
         service S { rpc Do(M) returns (M); }\n",
    )
    .unwrap();
    let error = protoc_with_plugin(
        &dir.path().join("ed.proto"),
        dir.path(),
        "",
        &dir.path().join("out"),
    );
    if let Err(error) = &error {
        assert!(
            !error.contains("status code 101"),
            "the plugin crashed: {error}"
        );
    }
    let compiled = restate_codegen::configure()
        .out_dir(dir.path())
        .emit_rerun_if_changed(false)
        .compile(&[dir.path().join("ed.proto")], &[dir.path()]);
    // Either both read it or both refuse it, neither by crashing.
    assert_eq!(error.is_ok(), compiled.is_ok(), "{error:?} / {compiled:?}");
}
