//! A server plus an endpoint served on loopback and registered with it.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use restate_runtime::Endpoint;

use crate::server::RestateServerBuilder;
use crate::{RestateServer, TestError};

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
