//! Finding the `restate-server` binary: `RESTATE_SERVER_BIN`, or the pinned npm package,
//! installed once into the cargo target directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::TestError;

/// The restate-server version the harness installs.
pub const RESTATE_SERVER_VERSION: &str = "1.7.12";

/// Finds the restate-server binary: `RESTATE_SERVER_BIN`, else the pinned npm package cached in
/// the cargo target directory, installed on first use.
pub fn server_binary() -> Result<PathBuf, TestError> {
    if let Some(binary) = std::env::var_os("RESTATE_SERVER_BIN") {
        return Ok(PathBuf::from(binary));
    }
    let install_dir = cache_dir()?.join(format!("restate-server-{RESTATE_SERVER_VERSION}"));
    let binary = install_dir.join(package_binary_path()?);
    if binary.exists() {
        return Ok(binary);
    }
    let package = format!("@restatedev/restate-server@{RESTATE_SERVER_VERSION}");
    npm_install(&[&package], &install_dir)?;
    if binary.exists() {
        Ok(binary)
    } else {
        Err(TestError::Install(format!(
            "restate-server {RESTATE_SERVER_VERSION}: npm installed the package, but {} is missing",
            binary.display()
        )))
    }
}

/// Installs the npm `packages` (e.g. `"@bufbuild/buf@1.75.0"`) into `dir`, as `npm install
/// --prefix` does, through a sibling temporary directory renamed into place: concurrent test
/// binaries never see a half-installed `dir`, and one that finishes second keeps the first's.
/// For tests that need other tools from the npm registry, as the harness needs restate-server.
///
/// # Errors
///
/// When npm cannot run (Node.js is needed) or the install fails.
pub fn npm_install(packages: &[&str], dir: &Path) -> Result<(), TestError> {
    let failed = |reason: String| TestError::Install(format!("{packages:?}: {reason}"));
    let parent = dir.parent().expect("the install dir has a parent");
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".npm-install-")
        .tempdir_in(parent)?;
    let output = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(staging.path())
        .args(packages)
        .output()
        .map_err(|e| failed(format!("cannot run npm (is Node.js installed?): {e}")))?;
    if !output.status.success() {
        return Err(failed(format!(
            "npm install failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let staged = staging.keep();
    if std::fs::rename(&staged, dir).is_err() {
        // Another process finished first; its copy is as good as ours.
        let _ = std::fs::remove_dir_all(&staged);
    }
    Ok(())
}

/// Where the platform package puts the binary, relative to the install prefix.
fn package_binary_path() -> Result<PathBuf, TestError> {
    let platform = match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => "linux-x64",
        ("linux", "aarch64") => "linux-arm64",
        ("macos", "x86_64") => "darwin-x64",
        ("macos", "aarch64") => "darwin-arm64",
        (os, arch) => {
            return Err(TestError::Install(format!(
                "restate-server: no package for {os}/{arch}; set RESTATE_SERVER_BIN"
            )));
        }
    };
    Ok(PathBuf::from(format!(
        "node_modules/@restatedev/restate-server-{platform}/bin/restate-server"
    )))
}

/// `$CARGO_TARGET_DIR/restate`, or the `target/restate` directory above the running executable.
pub(crate) fn cache_dir() -> Result<PathBuf, TestError> {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return Ok(PathBuf::from(dir).join("restate"));
    }
    let exe = std::env::current_exe()?;
    let target = exe
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "target"))
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    Ok(target.join("restate"))
}
