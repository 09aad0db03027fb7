//! The services the benchmark serves, written twice: with this repository's toolchain
//! (`restate-codegen` + `restate-runtime`) and with the official `restate-sdk` crate.
//!
//! Both implementations do the same work per invocation, take the same JSON request shapes, and
//! serve from the same binary (`bench endpoint ours|official`), each in a process of its own.

use std::sync::atomic::{AtomicUsize, Ordering};

pub mod official;
pub mod ours;

/// The code `restate-codegen` generated from `proto/bench.proto`.
pub mod proto {
    restate_runtime::include_proto!("bench");
}

/// Ingress paths of the benchmarked handlers.
pub mod names {
    pub const OURS_GREETER_JSON: &str = "bench.Greeter/SayHello";
    pub const OURS_GREETER_PROTO: &str = "bench.GreeterProto/SayHello";
    pub const OFFICIAL_GREETER: &str = "OfficialGreeter/SayHello";
    /// Objects take their key between the service and the handler name.
    pub const OURS_COUNTER_JSON: (&str, &str) = ("bench.Counter", "Add");
    pub const OURS_COUNTER_PROTO: (&str, &str) = ("bench.CounterProto", "Add");
    pub const OFFICIAL_COUNTER: (&str, &str) = ("OfficialCounter", "Add");
    pub const OURS_WAITER: (&str, &str) = ("bench.Waiter", "Wait");
    /// Workflows take their id between the service and the handler name.
    pub const OURS_STEPS: (&str, &str) = ("bench.Steps", "Run");
    pub const OFFICIAL_STEPS: (&str, &str) = ("OfficialSteps", "Run");
    pub const OURS_BIG_STATE: (&str, &str) = ("bench.BigState", "Touch");
    pub const OFFICIAL_BIG_STATE: (&str, &str) = ("OfficialBigState", "Touch");
    pub const OFFICIAL_WAITER: (&str, &str) = ("OfficialWaiter", "Wait");
}

/// Waiter handlers currently parked on their awakeable in this process.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// How many waiter handlers of this process are waiting on their awakeable right now.
pub fn waiting() -> usize {
    WAITING.load(Ordering::SeqCst)
}

/// Counts a waiter handler as in flight while it lives.
pub(crate) struct InFlight(());

impl InFlight {
    pub(crate) fn enter() -> Self {
        WAITING.fetch_add(1, Ordering::SeqCst);
        Self(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        WAITING.fetch_sub(1, Ordering::SeqCst);
    }
}
