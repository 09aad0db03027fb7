// A shared handler of a virtual object gets an `ObjectSharedContext`, which cannot write state.

use counter::counter::{Counter, CounterValue};
use restate_runtime::{HandlerError, ObjectSharedContext};

struct WritesInSharedHandler;

impl Counter for WritesInSharedHandler {
    async fn get(&self, ctx: ObjectSharedContext) -> Result<CounterValue, HandlerError> {
        ctx.set("count", &1i64);
        Ok(CounterValue { value: 1 })
    }
}

fn main() {}
