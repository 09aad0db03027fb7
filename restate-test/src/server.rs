//! One `restate-server` process on loopback: started, probed until healthy, registered with,
//! killed and restarted.

use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::TestError;
use crate::install::server_binary;
use crate::probe::{http_get, http_get_ok};
use crate::process::{
    die_with_parent, free_port, fresh_data_dir, spawn_from_long_lived_thread, terminate,
};

/// How long a server gets to become healthy.
pub(crate) const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `restate-server` on loopback, stopped on drop.
#[derive(Debug)]
pub struct RestateServer {
    pub(crate) child: Option<Child>,
    pub(crate) node_name: String,
    pub(crate) data_dir: PathBuf,
    pub(crate) ingress_url: String,
    pub(crate) admin_url: String,
    pub(crate) ports: ServerPorts,
    pub(crate) binary: PathBuf,
    pub(crate) env: Vec<(String, String)>,
}

/// Configures a [`RestateServer`] before it starts.
#[derive(Debug, Clone, Default)]
pub struct RestateServerBuilder {
    env: Vec<(String, String)>,
}

impl RestateServerBuilder {
    /// Sets a configuration environment variable of the server, e.g.
    /// `RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT=0s` or
    /// `RESTATE_DEFAULT_RETRY_POLICY__MAX_ATTEMPTS=1`.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Starts the server on free loopback ports with a fresh data directory, and waits until its
    /// ingress and admin API answer.
    pub fn start(self) -> Result<RestateServer, TestError> {
        let binary = server_binary()?;
        // A port picked free can be taken by someone else before the server binds it; then the
        // server exits at once, and fresh ports are tried.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let ports = ServerPorts::free()?;
            let mut server = RestateServer {
                child: None,
                node_name: "restate-test".to_owned(),
                data_dir: fresh_data_dir()?,
                ingress_url: format!("http://127.0.0.1:{}", ports.ingress),
                admin_url: format!("http://127.0.0.1:{}", ports.admin),
                ports,
                binary: binary.clone(),
                env: self.env.clone(),
            };
            match server.spawn() {
                Ok(()) => return Ok(server),
                Err(TestError::Exited(_)) if attempts < 3 => continue,
                Err(error) => return Err(error),
            }
        }
    }
}

/// The loopback ports of one server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerPorts {
    pub(crate) ingress: u16,
    pub(crate) admin: u16,
    pub(crate) fabric: u16,
}

impl ServerPorts {
    /// Three ports the OS says are free.
    pub(crate) fn free() -> io::Result<Self> {
        Ok(Self {
            ingress: free_port()?,
            admin: free_port()?,
            fabric: free_port()?,
        })
    }
}

impl RestateServer {
    /// Starts a server with the default configuration; see [`RestateServerBuilder::start`].
    pub fn start() -> Result<Self, TestError> {
        Self::builder().start()
    }

    /// Configures a server before starting it.
    pub fn builder() -> RestateServerBuilder {
        RestateServerBuilder::default()
    }

    /// The ingress URL, e.g. `http://127.0.0.1:41235`.
    pub fn ingress_url(&self) -> &str {
        &self.ingress_url
    }

    /// The admin API URL.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Kills the server process (SIGKILL), as a crash would, and leaves it down; see
    /// [`RestateServer::restart`] to bring it back.
    pub fn kill(&mut self) {
        self.stop();
    }

    /// Whether the server process runs (it was neither killed nor found exited).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// The node's name in its cluster.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }

    /// Kills the server process (SIGKILL), if it runs, and starts it again on the same ports
    /// and data directory, as a crash and recovery would.
    pub fn restart(&mut self) -> Result<(), TestError> {
        let probes = self.call_probes();
        self.stop();
        self.spawn()?;
        self.wait_services_known(&probes)
    }

    /// Stops the server process gracefully (SIGTERM, then waits for it to exit) and starts it
    /// again on the same ports and data directory.
    pub fn restart_gracefully(&mut self) -> Result<(), TestError> {
        let probes = self.call_probes();
        if let Some(mut child) = self.child.take() {
            terminate(&child);
            let _ = child.wait();
        }
        self.spawn()?;
        self.wait_services_known(&probes)
    }

    /// For each registered service, a read-only ingress path that names it: the output of an
    /// invocation by an idempotency key no call uses. A restarted server answers its health
    /// checks before its ingress knows the services again; these tell when it does.
    fn call_probes(&self) -> Vec<String> {
        let Some((200, body)) = http_get(self.ports.admin, "/services") else {
            return Vec::new();
        };
        let Ok(services) = serde_json::from_str::<serde_json::Value>(&body) else {
            return Vec::new();
        };
        let Some(services) = services["services"].as_array() else {
            return Vec::new();
        };
        services
            .iter()
            .filter_map(|service| {
                let name = service["name"].as_str()?;
                let handler = service["handlers"].as_array()?.first()?["name"].as_str()?;
                Some(match service["ty"].as_str() {
                    Some("Service") | None => format!(
                        "/restate/invocation/{name}/{handler}/restate-test-probe/output"
                    ),
                    Some(_) => format!(
                        "/restate/invocation/{name}/restate-test-probe/{handler}/restate-test-probe/output"
                    ),
                })
            })
            .collect()
    }

    /// Waits until the ingress no longer answers any of `probes` with "service not found".
    fn wait_services_known(&mut self, probes: &[String]) -> Result<(), TestError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        for probe in probes {
            loop {
                match http_get(self.ports.ingress, probe) {
                    Some((_, body)) if !body.contains("make sure to register") => break,
                    _ if Instant::now() > deadline => return Err(self.not_healthy()),
                    _ => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        Ok(())
    }

    /// Registers the endpoint at `endpoint_url` (e.g. `http://127.0.0.1:9080`), replacing any
    /// earlier registration of the same services.
    pub async fn register(&self, endpoint_url: &str) -> Result<(), TestError> {
        self.register_deployment(endpoint_url, false).await
    }

    /// As [`RestateServer::register`], but Restate talks to the endpoint over HTTP/1.1: one
    /// request and response per invocation attempt, so the invocation suspends whenever it
    /// waits for Restate.
    pub async fn register_http1(&self, endpoint_url: &str) -> Result<(), TestError> {
        self.register_deployment(endpoint_url, true).await
    }

    pub(crate) async fn register_deployment(
        &self,
        endpoint_url: &str,
        http1: bool,
    ) -> Result<(), TestError> {
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{}/deployments", self.admin_url))
            .json(&serde_json::json!({
                "uri": endpoint_url,
                "force": true,
                "use_http_11": http1,
            }))
            .send()
            .await
            .map_err(|e| TestError::Register(e.to_string()))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(TestError::Register(format!("{status}: {body}")));
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), TestError> {
        self.launch()?;
        self.wait_healthy()
    }

    /// Starts the process without waiting for it to become healthy; its log is appended to
    /// across restarts.
    pub(crate) fn launch(&mut self) -> Result<(), TestError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("restate-server.log"))?;
        let mut command = Command::new(&self.binary);
        command
            .arg("--no-logo")
            .args(["--listen-mode", "tcp"])
            .arg("--base-dir")
            .arg(self.data_dir.join("data"))
            .args(["--node-name", &self.node_name])
            .args(["--default-num-partitions", "4"])
            .args([
                "--bind-address",
                &format!("127.0.0.1:{}", self.ports.fabric),
            ])
            .args([
                "--advertised-address",
                &format!("http://127.0.0.1:{}", self.ports.fabric),
            ])
            .args(["--log-filter", "warn,restate=info"])
            .args(["--log-format", "compact"])
            .args(["--log-disable-ansi-codes", "true"])
            .env(
                "RESTATE_INGRESS__BIND_ADDRESS",
                format!("127.0.0.1:{}", self.ports.ingress),
            )
            .env(
                "RESTATE_ADMIN__BIND_ADDRESS",
                format!("127.0.0.1:{}", self.ports.admin),
            )
            .env("RESTATE_DISABLE_TELEMETRY", "true")
            .env("RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE", "256MiB")
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        die_with_parent(&mut command);
        self.child = Some(
            spawn_from_long_lived_thread(command)
                .map_err(|e| TestError::Start(format!("{}: {e}", self.binary.display())))?,
        );
        Ok(())
    }

    fn wait_healthy(&mut self) -> Result<(), TestError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while !self.is_healthy()? {
            if Instant::now() > deadline {
                return Err(self.not_healthy());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Whether the admin API and the ingress both answer their health checks; an error when
    /// the process exited.
    pub(crate) fn is_healthy(&mut self) -> Result<bool, TestError> {
        if let Some(status) = self
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
        {
            return Err(TestError::Exited(format!(
                "{} exited with {status}; see {}",
                self.node_name,
                self.data_dir.join("restate-server.log").display()
            )));
        }
        Ok(http_get_ok(self.ports.admin, "/health")
            && http_get_ok(self.ports.ingress, "/restate/health"))
    }

    pub(crate) fn not_healthy(&self) -> TestError {
        TestError::Start(format!(
            "{} not healthy after {STARTUP_TIMEOUT:?}; see {}",
            self.node_name,
            self.data_dir.join("restate-server.log").display()
        ))
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RestateServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
