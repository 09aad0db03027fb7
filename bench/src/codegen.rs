//! Codegen: restate-codegen against tonic-build on one large generated proto (50 services of
//! 20 rpcs, about 1,000 messages) — the wall time of generating, and the compile time of what
//! each generated.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const SERVICES: usize = 50;
pub const RPCS: usize = 20;
const PACKAGE: &str = "benchgen";

/// What the codegen comparison measured.
#[derive(Debug, Clone)]
pub struct CodegenResult {
    pub messages: usize,
    pub ours_generate: Vec<Duration>,
    /// The same with the contract lock checked (the lock holds the same contract).
    pub ours_locked_generate: Vec<Duration>,
    pub tonic_generate: Vec<Duration>,
    /// Generation timed inside a build script, as users run it: a fresh process each time,
    /// the generator compiled without optimizations (Cargo's default for build scripts).
    pub ours_build_script: Vec<Duration>,
    pub tonic_build_script: Vec<Duration>,
    pub ours_lines: usize,
    pub tonic_lines: usize,
    /// Rebuild times of the output, per profile.
    pub compiles: Vec<ProfileCompiles>,
}

/// The Cargo profiles the generated code is compiled in.
pub const PROFILES: [Profile; 2] = [Profile::Dev, Profile::Release];

/// A Cargo profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    Dev,
    Release,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
        }
    }
}

/// The rebuild times of both outputs in one profile.
#[derive(Debug, Clone)]
pub struct ProfileCompiles {
    pub profile: Profile,
    pub ours: Vec<Duration>,
    pub tonic: Vec<Duration>,
}

/// The median of some durations.
pub fn median(durations: &[Duration]) -> Duration {
    let mut sorted = durations.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// Writes the proto: per service one response message and per rpc one request message, plus a
/// few shared messages and an enum, with fields of most kinds (scalars, bytes, enums, nested and
/// repeated messages, maps, oneofs, optionals, a well-known type). Returns the message count.
pub fn write_proto(path: &Path) -> io::Result<usize> {
    let mut proto = String::new();
    let mut messages = 0;
    writeln!(proto, "syntax = \"proto3\";\n\npackage {PACKAGE};\n").unwrap();
    proto.push_str("import \"google/protobuf/timestamp.proto\";\n\n");
    proto.push_str(
        "// Lifecycle of a record.\n\
         enum Status {\n  STATUS_UNSPECIFIED = 0;\n  STATUS_ACTIVE = 1;\n  STATUS_SUSPENDED = 2;\n  STATUS_CLOSED = 3;\n}\n\n\
         // An amount of money.\n\
         message Money {\n  string currency = 1;\n  int64 units = 2;\n  int32 nanos = 3;\n}\n\n\
         // A postal address.\n\
         message Address {\n  string line1 = 1;\n  string line2 = 2;\n  string city = 3;\n  string postal_code = 4;\n  string country = 5;\n}\n\n\
         // Which page of a listing to return.\n\
         message PageRequest {\n  uint32 size = 1;\n  string token = 2;\n}\n\n\
         // Where a listing continues.\n\
         message PageInfo {\n  string next_token = 1;\n  uint64 total = 2;\n}\n\n\
         // Who changed a record, and when.\n\
         message Audit {\n  google.protobuf.Timestamp created = 1;\n  google.protobuf.Timestamp updated = 2;\n  string by = 3;\n}\n\n\
         // A key and a value.\n\
         message Tag {\n  string key = 1;\n  string value = 2;\n}\n\n",
    );
    messages += 6;
    for s in 0..SERVICES {
        writeln!(
            proto,
            "// Service number {s} of the generated benchmark proto."
        )
        .unwrap();
        writeln!(proto, "service Service{s:02} {{").unwrap();
        for m in 0..RPCS {
            writeln!(proto, "  // Operation {m} of service {s}.").unwrap();
            writeln!(
                proto,
                "  rpc Op{m:02}(S{s:02}Op{m:02}Request) returns (S{s:02}Result);"
            )
            .unwrap();
        }
        proto.push_str("}\n\n");

        writeln!(proto, "// What the operations of service {s} answer.").unwrap();
        writeln!(
            proto,
            "message S{s:02}Result {{\n  string id = 1;\n  Status status = 2;\n  repeated Tag tags = 3;\n  Audit audit = 4;\n  map<string, int64> counters = 5;\n  bytes payload = 6;\n  PageInfo page = 7;\n}}\n"
        )
        .unwrap();
        messages += 1;
        for m in 0..RPCS {
            writeln!(proto, "// The request of operation {m} of service {s}.").unwrap();
            writeln!(proto, "message S{s:02}Op{m:02}Request {{").unwrap();
            proto.push_str("  string id = 1;\n  int64 amount = 2;\n  bool flag = 3;\n  double ratio = 4;\n  repeated string labels = 5;\n");
            match m % 4 {
                0 => proto.push_str("  Money price = 6;\n  Address address = 7;\n  Status status = 8;\n"),
                1 => proto.push_str("  PageRequest page = 6;\n  optional string note = 7;\n  map<string, string> attributes = 8;\n"),
                2 => proto.push_str("  oneof choice {\n    string text = 6;\n    int32 number = 7;\n    Money money = 8;\n  }\n  bytes blob = 9;\n"),
                _ => proto.push_str("  repeated Tag tags = 6;\n  google.protobuf.Timestamp at = 7;\n  uint32 attempt = 8;\n  float weight = 9;\n"),
            }
            proto.push_str("}\n\n");
            messages += 1;
        }
    }
    std::fs::create_dir_all(path.parent().expect("the proto has a directory"))?;
    std::fs::write(path, proto)?;
    Ok(messages)
}

fn fresh_dir(path: &Path) -> io::Result<()> {
    let _ = std::fs::remove_dir_all(path);
    std::fs::create_dir_all(path)
}

fn time_ours(proto: &Path, out: &Path, lock: Option<&Path>) -> io::Result<Duration> {
    fresh_dir(out)?;
    let started = Instant::now();
    let builder = restate_codegen::configure()
        .out_dir(out)
        .emit_rerun_if_changed(false);
    let builder = match lock {
        Some(lock) => builder.contract_lock(lock),
        None => builder,
    };
    builder.compile(&[proto], &[proto.parent().unwrap()])?;
    Ok(started.elapsed())
}

fn time_tonic(proto: &Path, out: &Path) -> io::Result<Duration> {
    fresh_dir(out)?;
    let include = protoc_bin_vendored::include_path().map_err(io::Error::other)?;
    let started = Instant::now();
    tonic_prost_build::configure()
        .out_dir(out)
        .emit_rerun_if_changed(false)
        .compile_protos(
            &[proto.to_path_buf()],
            &[proto.parent().unwrap().to_path_buf(), include],
        )?;
    Ok(started.elapsed())
}

fn count_lines(path: &Path) -> io::Result<usize> {
    Ok(std::fs::read_to_string(path)?.lines().count())
}

/// Runs the whole comparison in `work` (kept between runs, so the dependencies of the
/// throwaway crates are compiled once).
pub fn run(work: &Path, generate_runs: usize, compile_runs: usize) -> io::Result<CodegenResult> {
    let proto = work.join("proto").join(format!("{PACKAGE}.proto"));
    let messages = write_proto(&proto)?;
    let (ours_out, tonic_out) = (work.join("out-ours"), work.join("out-tonic"));

    // One untimed run each first: protoc's first start, page cache; the locked run writes
    // the lock.
    let lock = work.join("restate-contract.lock");
    let _ = std::fs::remove_file(&lock);
    time_ours(&proto, &ours_out, None)?;
    time_ours(&proto, &ours_out, Some(&lock))?;
    time_tonic(&proto, &tonic_out)?;
    let (mut ours_generate, mut ours_locked_generate, mut tonic_generate) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..generate_runs {
        ours_generate.push(time_ours(&proto, &ours_out, None)?);
        ours_locked_generate.push(time_ours(&proto, &ours_out, Some(&lock))?);
        tonic_generate.push(time_tonic(&proto, &tonic_out)?);
    }
    let (mut ours_build_script, mut tonic_build_script) = (Vec::new(), Vec::new());
    if generate_runs > 0 {
        eprintln!(
            "  generating in build scripts (the first time also builds the generators unoptimized)..."
        );
        let ours_script = BuildScript::new(work, &proto, Generator::Ours)?;
        let tonic_script = BuildScript::new(work, &proto, Generator::Tonic)?;
        // One untimed run each first, as above.
        ours_script.run(0)?;
        tonic_script.run(0)?;
        for run in 1..=generate_runs {
            ours_build_script.push(ours_script.run(run)?);
            tonic_build_script.push(tonic_script.run(run)?);
        }
    }
    let generated = format!("{PACKAGE}.rs");
    let ours_lines = count_lines(&ours_out.join(&generated))?;
    let tonic_lines = count_lines(&tonic_out.join(&generated))?;
    eprintln!("  generated: restate-codegen {ours_lines} lines, tonic-build {tonic_lines} lines");
    if compile_runs > 0 {
        eprintln!("  compiling them (the first time also builds their dependencies)...");
    }

    let runtime_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../restate-runtime");
    let runtime_path = runtime_path.canonicalize()?;
    let ours_crate = Crate {
        dir: work.join("crate-ours"),
        target: work.join("target-ours"),
        // All the generated code needs.
        dependencies: format!(
            "restate-runtime = {{ path = {:?} }}\n",
            runtime_path.display().to_string()
        ),
        generated: ours_out.join(&generated),
    };
    let tonic_crate = Crate {
        dir: work.join("crate-tonic"),
        target: work.join("target-tonic"),
        dependencies:
            "tonic = \"0.14\"\ntonic-prost = \"0.14\"\nprost = \"0.14\"\nprost-types = \"0.14\"\n"
                .to_owned(),
        generated: tonic_out.join(&generated),
    };
    let mut compiles = Vec::new();
    if compile_runs > 0 {
        ours_crate.write()?;
        tonic_crate.write()?;
        for profile in PROFILES {
            ours_crate.build(profile)?;
            tonic_crate.build(profile)?;
            let mut times = ProfileCompiles {
                profile,
                ours: Vec::new(),
                tonic: Vec::new(),
            };
            for _ in 0..compile_runs {
                times.ours.push(ours_crate.rebuild(profile)?);
                times.tonic.push(tonic_crate.rebuild(profile)?);
            }
            compiles.push(times);
        }
    }
    Ok(CodegenResult {
        messages,
        ours_generate,
        ours_locked_generate,
        tonic_generate,
        ours_build_script,
        tonic_build_script,
        ours_lines,
        tonic_lines,
        compiles,
    })
}

/// Which generator a build script runs.
#[derive(Debug, Clone, Copy)]
enum Generator {
    Ours,
    Tonic,
}

/// A throwaway crate whose build script runs one generator on the proto and writes how long
/// the call took: generation as users run it.
struct BuildScript {
    dir: PathBuf,
    target: PathBuf,
    elapsed: PathBuf,
}

impl BuildScript {
    fn new(work: &Path, proto: &Path, generator: Generator) -> io::Result<Self> {
        let name = match generator {
            Generator::Ours => "ours",
            Generator::Tonic => "tonic",
        };
        let dir = work.join(format!("build-script-{name}"));
        std::fs::create_dir_all(dir.join("src"))?;
        let codegen_path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../restate-codegen")
            .canonicalize()?;
        let dependency = match generator {
            Generator::Ours => format!(
                "restate-codegen = {{ path = {:?} }}",
                codegen_path.display().to_string()
            ),
            Generator::Tonic => "tonic-prost-build = \"0.14\"".to_owned(),
        };
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"generate-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [workspace]\n\n[build-dependencies]\n{dependency}\nprotoc-bin-vendored = \"3\"\n"
            ),
        )?;
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
        if !dir.join("Cargo.lock").exists() && lock.exists() {
            std::fs::copy(lock, dir.join("Cargo.lock"))?;
        }
        std::fs::write(dir.join("src").join("lib.rs"), "")?;
        let call = match generator {
            Generator::Ours => {
                "restate_codegen::configure().out_dir(&out).emit_rerun_if_changed(false)\n\
                 .compile(&[&proto], &[proto.parent().unwrap()]).unwrap();"
            }
            Generator::Tonic => {
                "let include = protoc_bin_vendored::include_path().unwrap();\n\
                 let started = std::time::Instant::now();\n\
                 tonic_prost_build::configure().out_dir(&out).emit_rerun_if_changed(false)\n\
                 .compile_protos(&[proto.clone()], &[proto.parent().unwrap().to_path_buf(), include]).unwrap();"
            }
        };
        let start = match generator {
            Generator::Ours => "let started = std::time::Instant::now();",
            Generator::Tonic => "",
        };
        let elapsed = dir.join("elapsed-ns");
        std::fs::write(
            dir.join("build.rs"),
            format!(
                "fn main() {{\n\
                 println!(\"cargo:rerun-if-env-changed=BENCH_GENERATION_RUN\");\n\
                 // SAFETY: a build script runs on one thread.\n\
                 unsafe {{ std::env::set_var(\"PROTOC\", protoc_bin_vendored::protoc_bin_path().unwrap()) }};\n\
                 let proto = std::path::PathBuf::from({proto:?});\n\
                 let out = std::path::PathBuf::from(std::env::var(\"OUT_DIR\").unwrap());\n\
                 {start}\n{call}\n\
                 std::fs::write({elapsed:?}, started.elapsed().as_nanos().to_string()).unwrap();\n\
                 }}\n",
                proto = proto.display().to_string(),
                elapsed = elapsed.display().to_string(),
            ),
        )?;
        Ok(Self {
            target: work.join(format!("target-build-script-{name}")),
            dir,
            elapsed,
        })
    }

    /// Runs the build script once more (run number `run` makes Cargo run it again) and reads
    /// how long the generator took in it.
    fn run(&self, run: usize) -> io::Result<Duration> {
        let _ = std::fs::remove_file(&self.elapsed);
        let crate_ = Crate {
            dir: self.dir.clone(),
            target: self.target.clone(),
            dependencies: String::new(),
            generated: PathBuf::new(),
        };
        crate_.build_with(Profile::Dev, &[("BENCH_GENERATION_RUN", run.to_string())])?;
        let nanos: u64 = std::fs::read_to_string(&self.elapsed)?
            .trim()
            .parse()
            .map_err(io::Error::other)?;
        Ok(Duration::from_nanos(nanos))
    }
}

/// A throwaway crate that includes one generator's output.
struct Crate {
    dir: PathBuf,
    target: PathBuf,
    dependencies: String,
    generated: PathBuf,
}

impl Crate {
    /// Writes the crate; the first build of each profile also builds its dependencies.
    fn write(&self) -> io::Result<()> {
        let src = self.dir.join("src");
        std::fs::create_dir_all(&src)?;
        std::fs::write(
            self.dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"generated-code\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
                 [workspace]\n\n[dependencies]\n{}",
                self.dependencies
            ),
        )?;
        // Start from the benchmark's lock file: the same versions, no registry look-ups for
        // what it already pins.
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock");
        if !self.dir.join("Cargo.lock").exists() && lock.exists() {
            std::fs::copy(lock, self.dir.join("Cargo.lock"))?;
        }
        std::fs::copy(&self.generated, src.join(format!("{PACKAGE}.rs")))?;
        std::fs::write(
            src.join("lib.rs"),
            format!(
                "#![allow(clippy::all, dead_code, unused)]\n\npub mod {PACKAGE} {{\n    include!(\"{PACKAGE}.rs\");\n}}\n"
            ),
        )?;
        Ok(())
    }

    /// Touches the crate's source and times a rebuild of only the crate.
    fn rebuild(&self, profile: Profile) -> io::Result<Duration> {
        let lib = self.dir.join("src").join("lib.rs");
        std::fs::File::options()
            .write(true)
            .open(&lib)?
            .set_modified(std::time::SystemTime::now())?;
        self.build(profile)
    }

    fn build(&self, profile: Profile) -> io::Result<Duration> {
        self.build_with(profile, &[])
    }

    /// Builds the crate with `env` set for Cargo and build scripts.
    fn build_with(&self, profile: Profile, env: &[(&str, String)]) -> io::Result<Duration> {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command
            .arg("build")
            .arg("--quiet")
            .args(["--profile", profile.name()])
            .arg("--manifest-path")
            .arg(self.dir.join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", &self.target)
            .envs(env.iter().map(|(name, value)| (name, value)));
        // `cargo run` describes the benchmark's own package in the environment; none of it
        // belongs to this build.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name == "OUT_DIR"
                || name.starts_with("CARGO_PKG_")
                || name.starts_with("CARGO_MANIFEST_")
                || name.starts_with("CARGO_BIN_")
                || name.starts_with("CARGO_CRATE_")
                || name == "CARGO_PRIMARY_PACKAGE"
            {
                command.env_remove(name.as_ref());
            }
        }
        let started = Instant::now();
        let output = command.output()?;
        let elapsed = started.elapsed();
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "building {} failed:\n{}",
                self.dir.display(),
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(elapsed)
    }
}
