//! The gRPC gateway case: `bench gateway <ingress>` serves the generated gateway of
//! `bench.Greeter` in a process of its own, so its CPU time can be read from `/proc`; the load
//! calls it with a plain tonic client, as any gRPC user would.
//!
//! For scale, `bench tonic-alone <µs>` serves `bench.Greeter` with tonic alone: a server that
//! answers each call itself after `<µs>` microseconds, chosen so that the same callers call it
//! at the rate they called the gateway. Its CPU per call is what tonic's server side costs on
//! this machine at that rate, which any gateway built on tonic spends before it forwards
//! anything. If anything it is low: it runs while Restate is idle, and replies falling due in the
//! same millisecond of tokio's timer share a wake-up.

use std::future::Future;
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use restate_proto_bench::proto::greeter_server::{Greeter, GreeterServer};
use restate_proto_bench::proto::{GreeterGateway, HelloRequest, HelloResponse};
use restate_runtime::grpc::Gateway;
use tonic::transport::Channel;

use crate::load::Measurement;
use crate::procfs;

/// The gRPC path of the greeter's one rpc.
const SAY_HELLO: &str = "/bench.Greeter/SayHello";

/// Serves the gateway on a free loopback port until SIGTERM; prints `<port> <pid>` once
/// listening. One thread, as the gateway examples run it: a gateway only moves bytes.
pub fn serve(ingress: &str) -> io::Result<()> {
    serve_on_one_thread(|listener| {
        Gateway::builder(ingress)
            .add::<GreeterGateway>()
            .build()
            .serve_with_shutdown(listener, std::future::pending())
    })
}

/// Serves `bench.Greeter` with tonic alone, answering each call after `delay`, on a free
/// loopback port until SIGTERM; prints `<port> <pid>` once listening. One thread, as the
/// gateway runs.
pub fn serve_tonic_alone(delay: Duration) -> io::Result<()> {
    serve_on_one_thread(|listener| async move {
        tonic::transport::Server::builder()
            .add_service(GreeterServer::new(AnswerAfter(delay)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await
            .map_err(io::Error::other)
    })
}

/// Runs `serve` on a free loopback port on a one-thread runtime, after printing `<port> <pid>`;
/// exits on SIGTERM.
fn serve_on_one_thread<F: Future<Output = io::Result<()>>>(
    serve: impl FnOnce(tokio::net::TcpListener) -> F,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        println!("{} {}", listener.local_addr()?.port(), std::process::id());
        io::stdout().flush()?;
        tokio::select! {
            result = serve(listener) => result,
            () = restate_runtime::shutdown_signal() => std::process::exit(0),
        }
    })
}

/// The greeter answering by itself, after a fixed delay.
struct AnswerAfter(Duration);

#[tonic::async_trait]
impl Greeter for AnswerAfter {
    async fn say_hello(
        &self,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloResponse>, tonic::Status> {
        tokio::time::sleep(self.0).await;
        Ok(tonic::Response::new(HelloResponse {
            message: format!("Hello, {}!", request.get_ref().name),
        }))
    }
}

/// A running gRPC server process (the gateway, or tonic alone), stopped on drop.
pub struct GatewayProcess {
    child: Child,
    pub pid: u32,
    pub url: String,
}

impl GatewayProcess {
    /// Starts `bench gateway <ingress>` and waits until it listens.
    pub fn start(ingress: &str) -> io::Result<Self> {
        Self::start_with("gateway", ingress)
    }

    /// As [`GatewayProcess::start`], under the command `wrapper` instead of the one in
    /// `BENCH_GATEWAY_WRAPPER`.
    pub fn start_wrapped(ingress: &str, wrapper: String) -> io::Result<Self> {
        Self::spawn(
            crate::endpoint::wrapped(Some(wrapper), "gateway")?,
            "gateway",
            ingress,
        )
    }

    /// Starts `bench tonic-alone <µs>` (see the module's documentation) and waits until it
    /// listens.
    pub fn start_tonic_alone(delay: Duration) -> io::Result<Self> {
        Self::start_with("tonic-alone", &delay.as_micros().to_string())
    }

    /// Starts `bench <subcommand> <argument>`, under `BENCH_GATEWAY_WRAPPER` with `{sdk}`
    /// standing for the subcommand.
    fn start_with(subcommand: &str, argument: &str) -> io::Result<Self> {
        let command = crate::endpoint::wrapped_self("BENCH_GATEWAY_WRAPPER", subcommand)?;
        Self::spawn(command, subcommand, argument)
    }

    /// Runs `command` (this executable, maybe wrapped) with `<subcommand> <argument>`.
    fn spawn(
        mut command: std::process::Command,
        subcommand: &str,
        argument: &str,
    ) -> io::Result<Self> {
        command
            .args([subcommand, argument])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        crate::endpoint::die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let mut words = line.split_whitespace();
        let mut number = || words.next().and_then(|w| w.parse::<u32>().ok());
        let (Ok(_), Some(port), Some(pid)) = (read, number(), number()) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::other(format!(
                "`bench {subcommand} {argument}` did not report its port (got {line:?})"
            )));
        };
        Ok(Self {
            child,
            pid,
            url: format!("http://127.0.0.1:{port}"),
        })
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        crate::endpoint::stop(&mut self.child, self.pid);
    }
}

/// What the calls through the gateway cost: the calls as usual (CPU = the endpoint's), plus the
/// gateway's own CPU time.
#[derive(Debug, Default, Clone)]
pub struct GatewayMeasurement {
    pub calls: Measurement,
    /// Gateway CPU time over the runs, in clock ticks.
    pub gateway_ticks: u64,
}

impl GatewayMeasurement {
    pub fn merge(&mut self, other: GatewayMeasurement) {
        self.calls.merge(other.calls);
        self.gateway_ticks += other.gateway_ticks;
    }

    /// Gateway CPU time per call, in microseconds.
    pub fn gateway_micros_per_call(&self) -> f64 {
        self.gateway_ticks as f64 / procfs::clock_ticks_per_second() * 1e6
            / self.calls.count() as f64
    }
}

/// Sends `count` calls of `SayHello` through the gateway at `concurrency`, each on one of as
/// many HTTP/2 connections, and reads the endpoint's and the gateway's CPU time around them.
pub async fn run(
    gateway: &GatewayProcess,
    endpoint_pid: u32,
    count: usize,
    concurrency: usize,
) -> io::Result<GatewayMeasurement> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut channels = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let channel = Channel::from_shared(gateway.url.clone())
            .map_err(io::Error::other)?
            .timeout(Duration::from_secs(60))
            .connect()
            .await
            .map_err(io::Error::other)?;
        channels.push(channel);
    }
    let (endpoint_before, gateway_before) = (
        procfs::cpu_ticks(endpoint_pid)?,
        procfs::cpu_ticks(gateway.pid)?,
    );
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for channel in channels {
        let next = Arc::clone(&next);
        workers.push(tokio::spawn(async move {
            let mut part = Measurement::default();
            let mut client = tonic::client::Grpc::new(channel);
            while next.fetch_add(1, Ordering::Relaxed) < count {
                let sent = Instant::now();
                let request = tonic::Request::new(HelloRequest {
                    name: "Ada".to_owned(),
                });
                let codec = tonic_prost::ProstCodec::<HelloRequest, HelloResponse>::default();
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(SAY_HELLO);
                let outcome = match client.ready().await {
                    Ok(()) => client.unary(request, path, codec).await,
                    Err(error) => Err(tonic::Status::unavailable(error.to_string())),
                };
                match outcome {
                    Ok(response) if response.get_ref().message == "Hello, Ada!" => {
                        part.latencies.push(sent.elapsed());
                    }
                    Ok(response) => {
                        part.errors += 1;
                        part.first_error
                            .get_or_insert(format!("unexpected answer {:?}", response.get_ref()));
                    }
                    Err(status) => {
                        part.errors += 1;
                        part.first_error.get_or_insert(status.to_string());
                    }
                }
            }
            part
        }));
    }
    let mut total = GatewayMeasurement::default();
    for worker in workers {
        total.calls.merge(worker.await.map_err(io::Error::other)?);
    }
    total.calls.wall = started.elapsed();
    let (endpoint_after, gateway_after) = (
        procfs::cpu_ticks(endpoint_pid)?,
        procfs::cpu_ticks(gateway.pid)?,
    );
    total.calls.cpu_ticks =
        (endpoint_after.0 + endpoint_after.1) - (endpoint_before.0 + endpoint_before.1);
    total.calls.cpu_system_ticks = endpoint_after.1 - endpoint_before.1;
    total.gateway_ticks =
        (gateway_after.0 + gateway_after.1) - (gateway_before.0 + gateway_before.1);
    Ok(total)
}
