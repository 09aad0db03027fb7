//! The endpoint processes: `bench endpoint ours|official` serves one implementation; the runner
//! starts each as a child process so its CPU time and memory can be read from `/proc`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use restate_proto_bench::{official, ours};

/// Which implementation an endpoint process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdk {
    Ours,
    Official,
}

/// How an endpoint process logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    /// No subscriber installed: what logging costs when nothing listens.
    None,
    /// As users run the examples: ours through `Endpoint::serve_from_env` (its stderr logging,
    /// `RUST_LOG` or `info`, the replay filter), the official SDK with
    /// `tracing_subscriber::fmt::init()` as its README suggests (`RUST_LOG` or errors only).
    Default,
}

impl Logging {
    fn arg(self) -> &'static str {
        match self {
            Logging::None => "no-logging",
            Logging::Default => "default-logging",
        }
    }

    /// How the report names it.
    pub fn label(self) -> &'static str {
        match self {
            Logging::None => "no subscriber",
            Logging::Default => "default logging",
        }
    }
}

impl Sdk {
    fn arg(self) -> &'static str {
        match self {
            Sdk::Ours => "ours",
            Sdk::Official => "official",
        }
    }
}

/// Serves one implementation on a free loopback port until SIGTERM (then exits at once, so a
/// profiler wrapped around the process writes its data) or until killed, logging as `logging`
/// says (`default-logging` or `no-logging`). Prints
/// `<endpoint port> <stats port> <pid>` on stdout once listening (the pid is the one to measure
/// and signal, also when a wrapper such as strace runs the process as its child); a connection to the stats port is
/// answered with the number of waiter handlers in flight.
pub fn serve(which: &str, logging: &str) -> io::Result<()> {
    let logged = match logging {
        "default-logging" => true,
        "no-logging" => false,
        other => {
            return Err(io::Error::other(format!(
                "unknown logging {other}; expected default-logging or no-logging"
            )));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let stats = TcpListener::bind("127.0.0.1:0")?;
        println!(
            "{} {} {}",
            listener.local_addr()?.port(),
            stats.local_addr()?.port(),
            std::process::id()
        );
        io::stdout().flush()?;
        std::thread::spawn(move || {
            for mut connection in stats.incoming().flatten() {
                let _ = writeln!(connection, "{}", restate_proto_bench::waiting());
            }
        });
        let serving = async {
            match which {
                "ours" if logged => {
                    // Exactly as the example binaries run: `serve_from_env` on `$PORT`.
                    drop(listener);
                    // SAFETY: no other thread of this process reads the environment now.
                    unsafe { std::env::set_var("PORT", port.to_string()) };
                    ours::endpoint().serve_from_env().await
                }
                "ours" => {
                    ours::endpoint()
                        .serve_with_shutdown(listener, std::future::pending())
                        .await
                }
                "official" => {
                    if logged {
                        tracing_subscriber::fmt::init();
                    }
                    restate_sdk::http_server::HttpServer::new(official::endpoint())
                        .serve_with_cancel(listener, std::future::pending::<()>())
                        .await;
                    Ok(())
                }
                other => Err(io::Error::other(format!(
                    "unknown endpoint {other}; expected ours or official"
                ))),
            }
        };
        tokio::select! {
            result = serving => result,
            () = restate_runtime::shutdown_signal() => std::process::exit(0),
        }
    })
}

/// A running endpoint process, stopped on drop.
pub struct EndpointProcess {
    child: Child,
    pub sdk: Sdk,
    pub logging: Logging,
    pub pid: u32,
    pub url: String,
    stats_port: u16,
}

impl EndpointProcess {
    /// Starts `bench endpoint <sdk> <logging>` and waits until it listens. With
    /// `BENCH_ENDPOINT_WRAPPER` set (e.g. `valgrind --tool=callgrind`), the process runs under
    /// that command; `{sdk}` in it becomes `ours` or `official`, with `-logged` added for
    /// default logging.
    pub fn start(sdk: Sdk, logging: Logging) -> io::Result<Self> {
        Self::start_as(sdk, logging, "")
    }

    /// As [`EndpointProcess::start`], with `suffix` added to the name `{sdk}` stands for (to
    /// tell apart the profiles of endpoints that serve the same SDK).
    pub fn start_as(sdk: Sdk, logging: Logging, suffix: &str) -> io::Result<Self> {
        Self::start_wrapped(
            sdk,
            logging,
            suffix,
            std::env::var("BENCH_ENDPOINT_WRAPPER").ok(),
        )
    }

    /// As [`EndpointProcess::start_as`], under the command `wrapper` (if any) instead of the
    /// one in `BENCH_ENDPOINT_WRAPPER`.
    pub fn start_wrapped(
        sdk: Sdk,
        logging: Logging,
        suffix: &str,
        wrapper: Option<String>,
    ) -> io::Result<Self> {
        let name = match logging {
            Logging::None => format!("{}{suffix}", sdk.arg()),
            Logging::Default => format!("{}-logged{suffix}", sdk.arg()),
        };
        let mut command = wrapped(wrapper, &name)?;
        command
            .args(["endpoint", sdk.arg(), logging.arg()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        die_with_parent(&mut command);
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let mut words = line.split_whitespace();
        let mut number = || words.next().and_then(|w| w.parse::<u32>().ok());
        let (Some(port), Some(stats_port), Some(pid)) = (number(), number(), number()) else {
            let _ = child.kill();
            return Err(io::Error::other(format!(
                "the {} endpoint did not report its ports (got {line:?})",
                sdk.arg()
            )));
        };
        let stats_port = u16::try_from(stats_port).map_err(io::Error::other)?;
        Ok(Self {
            pid,
            child,
            sdk,
            logging,
            url: format!("http://127.0.0.1:{port}"),
            stats_port,
        })
    }

    /// How many waiter handlers of this endpoint are parked on their awakeable.
    pub fn waiting(&self) -> io::Result<usize> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.stats_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        answer
            .trim()
            .parse()
            .map_err(|_| io::Error::other(format!("unreadable stats answer {answer:?}")))
    }
}

impl Drop for EndpointProcess {
    fn drop(&mut self) {
        stop(&mut self.child, self.pid);
    }
}

/// This executable, run under the command in the environment variable `wrapper_var` if it is
/// set (e.g. `valgrind --tool=callgrind`), with `{sdk}` in that command replaced by `sdk`.
pub(crate) fn wrapped_self(wrapper_var: &str, sdk: &str) -> io::Result<Command> {
    wrapped(std::env::var(wrapper_var).ok(), sdk)
}

/// This executable, run under `wrapper` if given, with `{sdk}` in it replaced by `sdk`.
pub(crate) fn wrapped(wrapper: Option<String>, sdk: &str) -> io::Result<Command> {
    let exe = std::env::current_exe()?;
    let wrapper = wrapper.unwrap_or_default().replace("{sdk}", sdk);
    let mut words = wrapper.split_whitespace();
    Ok(match words.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(words).arg(exe);
            command
        }
        None => Command::new(exe),
    })
}

/// Stops a child process whose own pid (under any wrapper) is `pid`: SIGTERM first, so a
/// wrapping profiler gets to write its data; SIGKILL after a minute.
pub(crate) fn stop(child: &mut Child, pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The child dies with the runner, even if the runner is killed.
pub(crate) fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and changes only the child's own attributes.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
