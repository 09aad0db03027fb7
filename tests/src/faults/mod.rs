//! What the fault tests and the soak command run: services whose side effects go to a
//! [`Ledger`] file, an endpoint in a process of its own that can be killed with SIGKILL
//! ([`EndpointProcess`]), and load that checks what survived ([`load`]).
//!
//! A side effect inside `ctx.run` is journaled once it completes; one that was running when its
//! process died runs again on the retry (as in every Restate SDK). So the fault tests expect
//! durable results (balances, journaled tokens, workflow outcomes) exactly once, and repeated
//! side effects only for invocations in flight at a fault.

mod ledger;
pub mod load;
mod process;
mod scenario;
mod services;

pub use ledger::{Ledger, LedgerEntries};
pub use process::EndpointProcess;
pub use scenario::{Report, Scenario};
pub use services::{LedgerAccount, LedgerErrand, endpoint};

/// The code generated from `proto/faults.proto`.
pub mod proto {
    restate_runtime::include_proto!("faults");
}

/// Side-effect kinds in the ledger.
pub mod effects {
    /// A deposit's side effect; the id is `{account}/{deposit id}`.
    pub const DEPOSIT: &str = "deposit";
    /// An errand's first side effect; the id is the workflow key.
    pub const ERRAND_START: &str = "errand-start";
    /// An errand's last side effect, after its verdict; the id is the workflow key.
    pub const ERRAND_FINISH: &str = "errand-finish";
}

/// Ends this process when the process that started it is gone (a test binary killed, say), so
/// that no endpoint outlives its test.
fn exit_with_parent() {
    #[cfg(unix)]
    {
        let parent = std::os::unix::process::parent_id();
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_millis(500));
                if std::os::unix::process::parent_id() != parent {
                    std::process::exit(1);
                }
            }
        });
    }
}

/// Serves the fault services as the `fault-endpoint` binary does: `--port <port> --ledger
/// <file>`, on 127.0.0.1, until killed.
pub fn serve_from_args(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let (mut port, mut ledger) = (None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} wants a value"))?;
        match flag.as_str() {
            "--port" => port = Some(value.parse::<u16>().map_err(|e| format!("--port: {e}"))?),
            "--ledger" => ledger = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    let port = port.ok_or("--port is required")?;
    exit_with_parent();
    let ledger = Ledger::open(ledger.ok_or("--ledger is required")?)
        .map_err(|e| format!("cannot open the ledger: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot listen on port {port}: {e}"))?;
        endpoint(std::sync::Arc::new(ledger))
            .serve_with_shutdown(listener, std::future::pending())
            .await
            .map_err(|e| e.to_string())
    })
}
