//! Several `restate-server` nodes forming one cluster on loopback.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::install::server_binary;
use crate::process::fresh_data_dir;
use crate::server::{STARTUP_TIMEOUT, ServerPorts};
use crate::{RestateServer, TestError};

/// A Restate cluster on loopback: several `restate-server` nodes, each with its own ports, data
/// directory and name, all running every role. The first node provisions the cluster; logs and
/// partitions are replicated to two nodes by default, so a cluster of three keeps serving when
/// one node dies. Stopped on drop.
///
/// ```no_run
/// # async fn example() -> Result<(), restate_test::TestError> {
/// use restate_test::RestateCluster;
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
    /// [`RestateServerBuilder::env`](crate::RestateServerBuilder::env).
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
            .map(|_| ServerPorts::free())
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
