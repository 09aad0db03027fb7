//! The protocol engine: one invocation's state machine (`CoreVM` of `restate-sdk-shared-core`,
//! the one every official SDK uses), the progress loop that drives it, and the durable futures
//! the contexts hand out. Nothing here knows about services, contexts or HTTP.

pub(crate) mod driver;
pub(crate) mod durable;
#[cfg(any(feature = "test-support", feature = "replay-check", test))]
pub mod wire;

#[cfg(feature = "test-support")]
pub use driver::VIRTUAL_NOW;
pub(crate) use driver::{
    Driver, DriverState, Run, RunClosure, execute_run, now_since_unix_epoch, panic_message,
    time_after,
};
pub use durable::{Completions, DurableFuture, all_settled, any, join_all, race, select};
pub(crate) use durable::{sleep, unexpected};
