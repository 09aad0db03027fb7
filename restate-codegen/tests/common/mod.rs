//! What several tests share: the real `buf`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The buf release the tests run.
pub(crate) const BUF_VERSION: &str = "1.75.0";

/// The buf binary: `BUF_BIN`, else the pinned npm package under the target directory, installed
/// on first use (into a staging directory renamed into place, so that a test binary running at
/// the same time never sees half an install).
pub(crate) fn buf() -> &'static Path {
    static BUF: OnceLock<PathBuf> = OnceLock::new();
    BUF.get_or_init(|| {
        if let Some(path) = std::env::var_os("BUF_BIN") {
            return PathBuf::from(path);
        }
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let prefix = parent.join(format!("buf-{BUF_VERSION}"));
        let binary = prefix.join("node_modules/.bin/buf");
        if !runs(&binary) {
            std::fs::create_dir_all(parent).unwrap();
            let staging = tempfile::Builder::new()
                .prefix(".buf-install-")
                .tempdir_in(parent)
                .unwrap();
            let status = Command::new("npm")
                .args([
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                ])
                .arg(staging.path())
                .arg(format!("@bufbuild/buf@{BUF_VERSION}"))
                .status()
                .expect("npm runs (Node.js is needed, as for restate-server)");
            assert!(status.success(), "npm install @bufbuild/buf failed");
            let staged = staging.keep();
            let _ = std::fs::remove_dir_all(&prefix);
            if std::fs::rename(&staged, &prefix).is_err() {
                // Another test binary finished first; its copy is as good as ours.
                let _ = std::fs::remove_dir_all(&staged);
            }
            assert!(
                runs(&binary),
                "buf {BUF_VERSION} does not run after npm install"
            );
        }
        binary
    })
}

/// Whether `binary` is the pinned buf and runs (an interrupted install leaves a wrapper without
/// its platform package).
fn runs(binary: &Path) -> bool {
    Command::new(binary)
        .arg("--version")
        .output()
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).trim() == BUF_VERSION)
}
