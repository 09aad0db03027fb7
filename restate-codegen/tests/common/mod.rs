//! What several tests share: the real `buf`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The buf release the tests run.
pub(crate) const BUF_VERSION: &str = "1.75.0";

/// The buf binary: `BUF_BIN`, else the pinned npm package under the target directory.
pub(crate) fn buf() -> &'static Path {
    static BUF: OnceLock<PathBuf> = OnceLock::new();
    BUF.get_or_init(|| {
        if let Some(path) = std::env::var_os("BUF_BIN") {
            return PathBuf::from(path);
        }
        let prefix = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("buf-{BUF_VERSION}"));
        let binary = prefix.join("node_modules/.bin/buf");
        if !binary.exists() {
            let status = Command::new("npm")
                .args([
                    "install",
                    "--no-save",
                    "--no-audit",
                    "--no-fund",
                    "--prefix",
                ])
                .arg(&prefix)
                .arg(format!("@bufbuild/buf@{BUF_VERSION}"))
                .status()
                .expect("npm runs (Node.js is needed, as for restate-server)");
            assert!(status.success(), "npm install @bufbuild/buf failed");
        }
        binary
    })
}
