//! The HTTP server: hyper serving HTTP/2 cleartext (h2c) and HTTP/1.1 on one port, with a
//! graceful shutdown on SIGTERM and Ctrl-C.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::connection::{ConnectionSettings, serve_connection};
use super::{Endpoint, Limits};

/// How long in-flight invocations get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often an idle HTTP/2 connection is pinged, and how long the answer may take before the
/// connection is closed.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// The port [`Endpoint::serve_from_env`] serves on when `PORT` is not set.
const DEFAULT_PORT: u16 = 9080;

impl Endpoint {
    /// The `main` of an endpoint binary: serves on `0.0.0.0:$PORT` (9080 when `PORT` is not
    /// set) until SIGTERM or Ctrl-C. With the `tracing-subscriber` feature (on by default) it
    /// also logs to stderr, filtered by `RUST_LOG` (`info` when unset), unless the program
    /// installed a subscriber of its own.
    ///
    /// ```no_run
    /// # fn endpoint() -> restate_runtime::Endpoint { unimplemented!() }
    /// #[tokio::main]
    /// async fn main() -> std::io::Result<()> {
    ///     endpoint().serve_from_env().await
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// When `PORT` is not a port number, or the address cannot be bound.
    pub async fn serve_from_env(self) -> std::io::Result<()> {
        init_logging();
        let port = port_from_env("PORT", DEFAULT_PORT)?;
        self.serve(SocketAddr::from(([0, 0, 0, 0], port))).await
    }

    /// Serves the endpoint on `addr` until SIGTERM or Ctrl-C.
    pub async fn serve(self, addr: SocketAddr) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_with_shutdown(listener, shutdown_signal()).await
    }

    /// Serves the endpoint on `listener` until `shutdown` resolves, then lets open connections
    /// finish for a grace period of 10 seconds before closing them.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.serve_with_grace(listener, shutdown, SHUTDOWN_GRACE)
            .await
    }

    /// As [`Endpoint::serve_with_shutdown`], with the grace period given.
    pub async fn serve_with_grace(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> std::io::Result<()> {
        tracing::info!(address = %listener.local_addr()?, "serving Restate endpoint");
        let limits = self.limits();
        let service = service_fn(move |request: hyper::Request<Incoming>| {
            let endpoint = self.clone();
            async move { Ok::<_, std::convert::Infallible>(endpoint.handle(request).await) }
        });
        serve_http(listener, shutdown, grace, limits, service).await
    }
}

/// Serves `service`, cloned for each connection, over HTTP/2 cleartext and HTTP/1.1 on
/// `listener` until `shutdown` resolves; then lets open connections finish for `grace` before
/// closing them.
pub(crate) async fn serve_http<S, B>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
    limits: Limits,
    service: S,
) -> std::io::Result<()>
where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Clients that stall or vanish do not hold connections forever.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE)
        .keep_alive_timeout(KEEP_ALIVE)
        .max_concurrent_streams(limits.max_concurrent_streams);
    let (stop, stopping) = watch::channel(false);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // E.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                keep_alive(&stream);
                let settings = ConnectionSettings {
                    builder: builder.clone(),
                    service: service.clone(),
                    first_bytes_timeout: limits.header_read_timeout,
                    idle_timeout: limits.idle_timeout,
                    stopping: stopping.clone(),
                };
                connections.spawn(serve_connection(stream, remote, settings, slot));
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    tracing::info!("shutting down");
    // New clients are refused at once instead of waiting out the grace period.
    drop(listener);
    stop.send_replace(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the grace period; closing them");
    }
    connections.abort_all();
    Ok(())
}

/// How long an idle TCP connection goes before the OS checks that its peer is still there.
const TCP_KEEP_ALIVE: Duration = Duration::from_secs(60);

/// Lets the OS notice peers that vanished without closing (a host gone, a cable pulled).
fn keep_alive(stream: &tokio::net::TcpStream) {
    let keepalive = socket2::TcpKeepalive::new().with_time(TCP_KEEP_ALIVE);
    if let Err(error) = socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive) {
        tracing::debug!(%error, "cannot enable TCP keep-alive");
    }
}

/// With the `tracing-subscriber` feature, logs to stderr, filtered by `RUST_LOG` (`info` when
/// unset), unless the program installed a subscriber of its own.
pub(crate) fn init_logging() {
    #[cfg(feature = "tracing-subscriber")]
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;

        let level = level_filter(std::env::var("RUST_LOG").ok()).boxed();
        let keep_replayed =
            std::env::var("RESTATE_LOG_REPLAYED").is_ok_and(|value| value == "true");
        let replay = (!keep_replayed).then_some(crate::telemetry::ReplayLayer);
        // Colours only for a person watching (and not for one who set NO_COLOR): escape codes
        // cost work on every line and every span, and a log collector reading a pipe has no
        // use for them.
        let fmt = tracing_subscriber::fmt::layer()
            .fmt_fields(crate::telemetry::PlainFields)
            .with_writer(std::io::stderr)
            .with_ansi(
                std::io::IsTerminal::is_terminal(&std::io::stderr())
                    && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty()),
            );
        // Global filters, the level first, then the replay filter on what it let through: with
        // one layer that logs, per-layer filters would only add a look-up of the span's filter
        // state each time a span is entered or left.
        // A subscriber the program set up itself stays.
        let _ = tracing_subscriber::registry()
            .with(level)
            .with(replay)
            .with(fmt)
            .try_init();
    }
}

/// The level filter of the default logger, as a global filter.
#[cfg(feature = "tracing-subscriber")]
type BoxedFilter = Box<dyn tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync>;

/// The level filter of the default logger.
#[cfg(feature = "tracing-subscriber")]
#[derive(Debug)]
enum LevelFilter {
    /// Targets and levels alone: no work when spans are entered and left.
    Targets(Box<tracing_subscriber::filter::Targets>),
    /// Span and field filters too, at the price of a lock on every span entered and left.
    Env(Box<tracing_subscriber::EnvFilter>),
}

#[cfg(feature = "tracing-subscriber")]
impl LevelFilter {
    fn boxed(self) -> BoxedFilter {
        match self {
            LevelFilter::Targets(targets) => targets,
            LevelFilter::Env(env_filter) => env_filter,
        }
    }
}

/// The level filter of `RUST_LOG` (`info` when unset), with the invocation span enabled whatever
/// the level asked for: events carry its fields, and the replay filter reads it.
///
/// Directives of targets and levels alone (`info`, `warn,my_crate=debug`) become a `Targets`
/// filter; anything else (span or field filters) an `EnvFilter`.
#[cfg(feature = "tracing-subscriber")]
fn level_filter(directives: Option<String>) -> LevelFilter {
    use tracing_subscriber::filter::Targets;

    let directives = directives.unwrap_or_else(|| "info".to_owned());
    // The EnvFilter skips empty directives (`info,`); `Targets` would read one as `error`.
    let pieces: Vec<&str> = directives
        .split(',')
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .collect();
    let plain = !pieces.is_empty() && !directives.contains(['[', '{', '(', '/']);
    if let Some(targets) = plain
        .then(|| pieces.join(",").parse::<Targets>().ok())
        .flatten()
    {
        return LevelFilter::Targets(Box::new(targets.with_target(
            crate::telemetry::INVOCATION_TARGET,
            tracing::level_filters::LevelFilter::INFO,
        )));
    }
    let env_filter = tracing_subscriber::EnvFilter::try_new(&directives)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive(
            format!("{}=info", crate::telemetry::INVOCATION_TARGET)
                .parse()
                .expect("a valid directive"),
        );
    LevelFilter::Env(Box::new(env_filter))
}

/// The port in the environment variable `variable`, or `default` when it is not set.
pub(crate) fn port_from_env(variable: &str, default: u16) -> std::io::Result<u16> {
    match std::env::var(variable) {
        Ok(port) => port.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{variable} is not a port number: {port}"),
            )
        }),
        Err(_) => Ok(default),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(all(test, feature = "tracing-subscriber"))]
mod tests {
    use tracing::Level;

    use super::{LevelFilter, level_filter};

    #[test]
    fn plain_directives_filter_by_target_with_the_invocation_span_on() {
        for directives in [
            None,
            Some("warn"),
            Some("off,my_crate=debug"),
            Some("warn, ,"),
        ] {
            let LevelFilter::Targets(targets) = level_filter(directives.map(str::to_owned)) else {
                panic!("a Targets filter for {directives:?}");
            };
            assert!(targets.would_enable(crate::telemetry::INVOCATION_TARGET, &Level::INFO));
            assert!(!targets.would_enable(crate::telemetry::INVOCATION_TARGET, &Level::DEBUG));
        }
        let LevelFilter::Targets(targets) = level_filter(Some("warn,my_crate=debug".to_owned()))
        else {
            panic!("a Targets filter");
        };
        assert!(targets.would_enable("my_crate::module", &Level::DEBUG));
        assert!(!targets.would_enable("other", &Level::INFO));
        assert!(targets.would_enable("other", &Level::WARN));
        let LevelFilter::Targets(targets) = level_filter(None) else {
            panic!("a Targets filter");
        };
        assert!(targets.would_enable("other", &Level::INFO));
        // An empty directive is skipped, as the EnvFilter skips it, not read as `error`.
        let LevelFilter::Targets(targets) = level_filter(Some("info,".to_owned())) else {
            panic!("a Targets filter");
        };
        assert!(targets.would_enable("other", &Level::INFO));
    }

    #[test]
    fn span_and_field_directives_keep_the_env_filter() {
        for directives in [
            "info,[invocation{service=ops.Steps}]=debug",
            "not a directive=x=y",
            "",
        ] {
            let filter = level_filter(Some(directives.to_owned()));
            assert!(matches!(filter, LevelFilter::Env(_)), "{directives}");
        }
    }
}
