//! The names handler code uses most, for a glob import:
//!
//! ```
//! use restate_runtime::prelude::*;
//!
//! async fn greet(ctx: &Context, name: String) -> Result<String, HandlerError> {
//!     let greeting = ctx.run("greet", move || async move { Ok(format!("Hello, {name}!")) }).await?;
//!     Ok(greeting)
//! }
//! # let _ = greet;
//! ```

pub use crate::{
    Context, DurableFuture, Endpoint, HandlerError, ObjectContext, ObjectSharedContext,
    TerminalError, WorkflowContext, WorkflowSharedContext,
};
