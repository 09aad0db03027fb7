//! The fault endpoint in a process of its own, so that a test can kill it with SIGKILL.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a started endpoint process gets to accept connections.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// An endpoint process serving the fault services on a fixed loopback port, killed on drop.
#[derive(Debug)]
pub struct EndpointProcess {
    command: PathBuf,
    args: Vec<String>,
    port: u16,
    ledger: PathBuf,
    child: Option<Child>,
}

impl EndpointProcess {
    /// Starts `binary` (the `fault-endpoint` binary, or any program taking its flags after
    /// `args`) on a free port, recording side effects in `ledger`, and waits until it accepts
    /// connections.
    pub fn start(
        binary: impl Into<PathBuf>,
        args: &[&str],
        ledger: impl Into<PathBuf>,
    ) -> io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut process = Self {
            command: binary.into(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            port,
            ledger: ledger.into(),
            child: None,
        };
        process.spawn()?;
        Ok(process)
    }

    /// The URL to register with Restate.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The ledger file the process records side effects in; its log is beside it, with the
    /// extension `log`.
    pub fn ledger(&self) -> &Path {
        &self.ledger
    }

    /// Kills the process with SIGKILL, mid-invocation or not, and waits for it to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the process and starts a new one on the same port and ledger, as a crashed
    /// endpoint brought back by its supervisor.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        self.spawn()
    }

    fn spawn(&mut self) -> io::Result<()> {
        // Its logs go next to the ledger, appended across restarts.
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.ledger.with_extension("log"))?;
        let mut command = Command::new(&self.command);
        command
            .args(&self.args)
            .args(["--port", &self.port.to_string()])
            .arg("--ledger")
            .arg(&self.ledger)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut child = command
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.command.display())))?;
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_err() {
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "the endpoint process exited with {status}"
                )));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the endpoint process is not listening after {STARTUP_TIMEOUT:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for EndpointProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
