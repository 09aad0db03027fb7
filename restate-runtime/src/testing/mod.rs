//! A test harness with a real `restate-server`: no Docker, no mock.
//!
//! [`RestateServer::start`] finds (or installs from the npm registry, once) the pinned
//! `restate-server` binary, starts it on free loopback ports with a temporary data directory, and
//! waits until it is healthy. [`TestEnvironment::start`] adds an endpoint served on a free
//! port and registered with that server. Dropping either stops everything.
//!
//! ```no_run
//! # fn endpoint() -> restate_runtime::Endpoint { unimplemented!() }
//! use restate_runtime::testing::TestEnvironment;
//!
//! let env = TestEnvironment::start(endpoint()).expect("restate-server starts");
//! let url = format!("{}/helloworld.Greeter/SayHello", env.ingress_url());
//! // POST to `url` with any HTTP client.
//! ```
//!
//! Set `RESTATE_SERVER_BIN` to use a binary of your own instead of the pinned package.

use std::io;
use std::net::{SocketAddr, TcpListener as StdTcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::Endpoint;

pub mod sim;

/// The restate-server version the harness installs.
pub const RESTATE_SERVER_VERSION: &str = "1.7.12";

/// How long the server gets to become healthy.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// What can go wrong while setting up a test environment.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The restate-server binary could not be found or installed.
    #[error("cannot install restate-server {RESTATE_SERVER_VERSION}: {0}")]
    Install(String),
    /// The server process could not be started or did not become healthy.
    #[error("restate-server did not start: {0}")]
    Start(String),
    /// The server process exited while starting.
    #[error("restate-server exited while starting: {0}")]
    Exited(String),
    /// Registering the endpoint with the server failed.
    #[error("cannot register the endpoint: {0}")]
    Register(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// A running `restate-server` on loopback, stopped on drop.
#[derive(Debug)]
pub struct RestateServer {
    child: Option<Child>,
    node_name: String,
    data_dir: PathBuf,
    ingress_url: String,
    admin_url: String,
    ports: ServerPorts,
    binary: PathBuf,
    env: Vec<(String, String)>,
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
            let ports = ServerPorts {
                ingress: free_port()?,
                admin: free_port()?,
                fabric: free_port()?,
            };
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

#[derive(Debug, Clone, Copy)]
struct ServerPorts {
    ingress: u16,
    admin: u16,
    fabric: u16,
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

    async fn register_deployment(&self, endpoint_url: &str, http1: bool) -> Result<(), TestError> {
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
    fn launch(&mut self) -> Result<(), TestError> {
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
    fn is_healthy(&mut self) -> Result<bool, TestError> {
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

    fn not_healthy(&self) -> TestError {
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

/// A Restate cluster on loopback: several `restate-server` nodes, each with its own ports, data
/// directory and name, all running every role. The first node provisions the cluster; logs and
/// partitions are replicated to two nodes by default, so a cluster of three keeps serving when
/// one node dies. Stopped on drop.
///
/// ```no_run
/// # async fn example() -> Result<(), restate_runtime::testing::TestError> {
/// use restate_runtime::testing::RestateCluster;
///
/// let mut cluster = RestateCluster::start(3)?;
/// cluster.register("http://127.0.0.1:9080").await?;
/// // Invoke through any node's ingress; kill one and go on through the others.
/// cluster.node_mut(2).kill();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct RestateCluster {
    nodes: Vec<RestateServer>,
}

/// Configures a [`RestateCluster`] before it starts.
#[derive(Debug, Clone)]
pub struct RestateClusterBuilder {
    nodes: usize,
    replication: usize,
    env: Vec<(String, String)>,
}

impl RestateClusterBuilder {
    /// How many nodes; 3 by default.
    pub fn nodes(mut self, nodes: usize) -> Self {
        self.nodes = nodes.max(1);
        self
    }

    /// On how many nodes logs and partitions are kept; 2 by default. The cluster takes writes
    /// while this many nodes run.
    pub fn replication(mut self, replication: usize) -> Self {
        self.replication = replication.max(1);
        self
    }

    /// Sets a configuration environment variable of every node; see
    /// [`RestateServerBuilder::env`].
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Starts every node on free loopback ports, and waits until each one's ingress and admin
    /// API answer.
    pub fn start(self) -> Result<RestateCluster, TestError> {
        let binary = server_binary()?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.try_start(&binary) {
                Ok(cluster) => return Ok(cluster),
                // A port taken by someone else before a node bound it: try fresh ports.
                Err(TestError::Exited(_)) if attempts < 3 => continue,
                Err(error) => return Err(error),
            }
        }
    }

    fn try_start(&self, binary: &Path) -> Result<RestateCluster, TestError> {
        static CLUSTERS: AtomicU32 = AtomicU32::new(0);
        let cluster_name = format!(
            "restate-test-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        );
        let ports = (0..self.nodes)
            .map(|_| {
                Ok(ServerPorts {
                    ingress: free_port()?,
                    admin: free_port()?,
                    fabric: free_port()?,
                })
            })
            .collect::<io::Result<Vec<_>>>()?;
        let metadata_addresses = ports
            .iter()
            .map(|p| format!("\"http://127.0.0.1:{}\"", p.fabric))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = RestateCluster { nodes: Vec::new() };
        for (index, ports) in ports.into_iter().enumerate() {
            let mut env = vec![
                ("RESTATE_CLUSTER_NAME".to_owned(), cluster_name.clone()),
                (
                    "RESTATE_AUTO_PROVISION".to_owned(),
                    (index == 0).to_string(),
                ),
                (
                    "RESTATE_DEFAULT_REPLICATION".to_owned(),
                    self.replication.to_string(),
                ),
                (
                    "RESTATE_METADATA_CLIENT__ADDRESSES".to_owned(),
                    format!("[{metadata_addresses}]"),
                ),
            ];
            env.extend(self.env.iter().cloned());
            let mut node = RestateServer {
                child: None,
                node_name: format!("node-{}", index + 1),
                data_dir: fresh_data_dir()?,
                ingress_url: format!("http://127.0.0.1:{}", ports.ingress),
                admin_url: format!("http://127.0.0.1:{}", ports.admin),
                ports,
                binary: binary.to_owned(),
                env,
            };
            node.launch()?;
            cluster.nodes.push(node);
        }
        // Nodes wait for each other to form the cluster: start them all, then wait for every
        // one, noticing any that exits (a port taken, say) on the way.
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let mut healthy = vec![false; cluster.nodes.len()];
        while healthy.contains(&false) {
            for (node, healthy) in cluster.nodes.iter_mut().zip(&mut healthy) {
                if !*healthy {
                    *healthy = node.is_healthy()?;
                }
            }
            if Instant::now() > deadline {
                let index = healthy.iter().position(|h| !h).unwrap_or_default();
                return Err(cluster.nodes[index].not_healthy());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(cluster)
    }
}

impl RestateCluster {
    /// Starts a cluster of `nodes` nodes with the default configuration; see
    /// [`RestateClusterBuilder::start`].
    pub fn start(nodes: usize) -> Result<Self, TestError> {
        Self::builder().nodes(nodes).start()
    }

    /// Configures a cluster before starting it.
    pub fn builder() -> RestateClusterBuilder {
        RestateClusterBuilder {
            nodes: 3,
            replication: 2,
            env: Vec::new(),
        }
    }

    /// The nodes, in the order they were started; the first provisioned the cluster.
    pub fn nodes(&self) -> &[RestateServer] {
        &self.nodes
    }

    /// Node `index`, e.g. to kill or restart it.
    ///
    /// # Panics
    ///
    /// If there is no such node.
    pub fn node_mut(&mut self, index: usize) -> &mut RestateServer {
        &mut self.nodes[index]
    }

    /// Registers the endpoint at `endpoint_url` through the first running node, retrying while
    /// the cluster is still settling, and waits until every running node knows the deployment.
    pub async fn register(&mut self, endpoint_url: &str) -> Result<(), TestError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        let running: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].is_running())
            .collect();
        let Some(&first) = running.first() else {
            return Err(TestError::Register(
                "no node of the cluster runs".to_owned(),
            ));
        };
        loop {
            match self.nodes[first].register(endpoint_url).await {
                Ok(()) => break,
                Err(error) if Instant::now() > deadline => return Err(error),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let client = reqwest::Client::new();
        for index in running {
            let admin_url = self.nodes[index].admin_url();
            loop {
                let deployments = client
                    .get(format!("{admin_url}/deployments"))
                    .send()
                    .await
                    .ok();
                let known = match deployments {
                    Some(response) => response
                        .text()
                        .await
                        .is_ok_and(|body| body.contains(endpoint_url)),
                    None => false,
                };
                if known {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(TestError::Register(format!(
                        "{} does not know the deployment after {STARTUP_TIMEOUT:?}",
                        self.nodes[index].node_name
                    )));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

/// A restate-server plus an endpoint registered with it, both stopped on drop.
///
/// The endpoint runs on a runtime of its own, so an environment can be created from sync code,
/// from inside an async test, or once per test binary in a `static`.
#[derive(Debug)]
pub struct TestEnvironment {
    server: RestateServer,
    runtime: Option<tokio::runtime::Runtime>,
    endpoint: Endpoint,
    endpoint_addr: SocketAddr,
    endpoint_url: String,
    serving: Option<Serving>,
}

/// The endpoint's server task and the switch that stops it.
#[derive(Debug)]
struct Serving {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<io::Result<()>>,
}

/// Configures a [`TestEnvironment`] before it starts.
#[derive(Debug)]
pub struct TestEnvironmentBuilder {
    endpoint: Endpoint,
    server: RestateServerBuilder,
    http1: bool,
}

impl TestEnvironmentBuilder {
    /// Sets a configuration environment variable of the restate-server; see
    /// [`RestateServerBuilder::env`].
    pub fn server_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.server = self.server.env(name, value);
        self
    }

    /// Registers the endpoint to be called over HTTP/1.1 (see
    /// [`RestateServer::register_http1`]) instead of HTTP/2.
    pub fn http1(mut self) -> Self {
        self.http1 = true;
        self
    }

    /// Starts the server, serves the endpoint on a free loopback port and registers it.
    pub fn start(self) -> Result<TestEnvironment, TestError> {
        TestEnvironment::start_with(self)
    }
}

impl TestEnvironment {
    /// Starts a restate-server, serves `endpoint` on a free loopback port and registers it.
    pub fn start(endpoint: Endpoint) -> Result<Self, TestError> {
        Self::builder(endpoint).start()
    }

    /// Configures an environment for `endpoint` before starting it.
    pub fn builder(endpoint: Endpoint) -> TestEnvironmentBuilder {
        TestEnvironmentBuilder {
            endpoint,
            server: RestateServer::builder(),
            http1: false,
        }
    }

    fn start_with(builder: TestEnvironmentBuilder) -> Result<Self, TestError> {
        let TestEnvironmentBuilder {
            endpoint,
            server,
            http1,
        } = builder;
        // A thread of its own: this may be called from within another runtime.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("restate-test-endpoint")
                .enable_all()
                .build()?;
            let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
            let endpoint_addr = listener.local_addr()?;
            let endpoint_url = format!("http://{endpoint_addr}");
            let serving = serve(runtime.handle(), endpoint.clone(), listener);
            let server = server.start()?;
            runtime.block_on(server.register_deployment(&endpoint_url, http1))?;
            Ok(Self {
                server,
                runtime: Some(runtime),
                endpoint,
                endpoint_addr,
                endpoint_url,
                serving: Some(serving),
            })
        })
        .join()
        .map_err(|_| TestError::Start("the setup thread panicked".to_owned()))?
    }

    /// The ingress URL: `POST {ingress_url}/{service}/{handler}` invokes a handler.
    pub fn ingress_url(&self) -> &str {
        self.server.ingress_url()
    }

    /// The admin API URL.
    pub fn admin_url(&self) -> &str {
        self.server.admin_url()
    }

    /// The URL the endpoint is served on.
    pub fn endpoint_url(&self) -> &str {
        &self.endpoint_url
    }

    /// The server, e.g. to restart it.
    pub fn server_mut(&mut self) -> &mut RestateServer {
        &mut self.server
    }

    /// Stops the endpoint, closing its connections and abandoning in-flight invocations, and
    /// serves it again on the same address, as a redeployed endpoint process would be.
    pub fn restart_endpoint(&mut self) -> Result<(), TestError> {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .handle()
            .clone();
        let previous = self.serving.take();
        let (endpoint, addr) = (self.endpoint.clone(), self.endpoint_addr);
        let serving = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    runtime.block_on(async {
                        if let Some(Serving { stop, task }) = previous {
                            let _ = stop.send(());
                            let _ = task.await;
                        }
                        tokio::net::TcpListener::bind(addr).await
                    })
                })
                .join()
                .map_err(|_| TestError::Start("the restart thread panicked".to_owned()))
        })??;
        self.serving = Some(serve(&runtime, endpoint, serving));
        Ok(())
    }
}

fn serve(
    runtime: &tokio::runtime::Handle,
    endpoint: Endpoint,
    listener: tokio::net::TcpListener,
) -> Serving {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = runtime.spawn(endpoint.serve_with_grace(
        listener,
        async {
            let _ = stopped.await;
        },
        Duration::ZERO,
    ));
    Serving { stop, task }
}

impl Drop for TestEnvironment {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

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
    install(&install_dir)?;
    if binary.exists() {
        Ok(binary)
    } else {
        Err(TestError::Install(format!(
            "npm installed the package, but {} is missing",
            binary.display()
        )))
    }
}

/// Installs the package into `dir` through a sibling temporary directory renamed into place, so
/// concurrent test binaries never see a half-installed package.
fn install(dir: &Path) -> Result<(), TestError> {
    let parent = dir.parent().expect("the install dir has a parent");
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".restate-server-install-")
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
        .arg(format!(
            "@restatedev/restate-server@{RESTATE_SERVER_VERSION}"
        ))
        .output()
        .map_err(|e| TestError::Install(format!("cannot run npm (is Node.js installed?): {e}")))?;
    if !output.status.success() {
        return Err(TestError::Install(format!(
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
                "no restate-server package for {os}/{arch}; set RESTATE_SERVER_BIN"
            )));
        }
    };
    Ok(PathBuf::from(format!(
        "node_modules/@restatedev/restate-server-{platform}/bin/restate-server"
    )))
}

/// `$CARGO_TARGET_DIR/restate`, or the `target/restate` directory above the running executable.
fn cache_dir() -> Result<PathBuf, TestError> {
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

/// A new data directory under the cache dir, named after this process. Directories left by
/// processes that no longer run are removed on the way.
fn fresh_data_dir() -> Result<PathBuf, TestError> {
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let root = cache_dir()?.join("data");
    std::fs::create_dir_all(&root)?;
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('-').next()?.parse::<u32>().ok());
            if pid.is_some_and(|pid| !process_is_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!(
        "{}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn process_is_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Asks the OS for a free loopback port.
fn free_port() -> io::Result<u16> {
    Ok(StdTcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A plain `GET` over HTTP/1.0; true on a 2xx answer.
/// `GET path` on the loopback `port`: the status and the body, if it answered.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn http_get_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && head[9] == b'2'
}

/// Spawns `command` from a thread that lives as long as the process: the parent-death signal
/// fires when the spawning *thread* ends, and callers' threads may be short-lived.
fn spawn_from_long_lived_thread(command: Command) -> io::Result<Child> {
    use std::sync::mpsc;
    use std::sync::{LazyLock, Mutex};
    type SpawnRequest = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: LazyLock<Mutex<mpsc::Sender<SpawnRequest>>> = LazyLock::new(|| {
        let (sender, receiver) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("restate-test-spawner".to_owned())
            .spawn(move || {
                for (mut command, reply) in receiver {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("a thread can be started");
        Mutex::new(sender)
    });
    let (reply, result) = mpsc::channel();
    SPAWNER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send((command, reply))
        .map_err(|_| io::Error::other("the spawner thread is gone"))?;
    result
        .recv()
        .map_err(|_| io::Error::other("the spawner thread is gone"))?
}

/// Asks a child process to stop (SIGTERM); elsewhere than on Unix, kills it.
fn terminate(child: &Child) {
    #[cfg(unix)]
    {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: sending a signal to our own child process has no memory-safety effects.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = child;
    }
}

/// Makes the server die with the test process, even when the process never drops it (a
/// `static`) or is killed.
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe and touches only the child's own attributes.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}
