//! The scheduler: the virtual clock, the timers due on it, and the queue of invocations ready
//! for an attempt, with the key locks that hold an object's exclusive invocations back.

use std::cmp::Reverse;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use restate_runtime::test_support::wire::{self as protocol, NotificationResult, ty};

use super::{Simulator, Status};

/// Something due at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Timer {
    /// A sleep of invocation `.0` completes `.1`.
    Sleep(usize, u32),
    /// A delayed send starts, or a failed attempt is retried.
    Wake(usize),
}

impl Simulator {
    /// The virtual time `duration` from now, in milliseconds since the Unix epoch.
    pub(super) fn after(&self, duration: Duration) -> u64 {
        self.now
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    /// Sets `timer` to fire at virtual time `due`, after the timers due then set before it.
    pub(super) fn schedule(&mut self, due: u64, timer: Timer) {
        self.timer_seq += 1;
        self.timers.push(Reverse((due, self.timer_seq, timer)));
    }

    /// Moves the clock to the next timer (never back) and fires it.
    pub(super) fn fire_next(&mut self) {
        let Some(Reverse((due, _, timer))) = self.timers.pop() else {
            return;
        };
        self.now = self.now.max(due);
        match timer {
            Timer::Sleep(index, completion_id) => {
                self.notify(
                    index,
                    completion_id,
                    NotificationResult::Void(protocol::Void {}),
                    ty::SLEEP_COMPLETION,
                );
            }
            Timer::Wake(index) => {
                if self.invocations[index].attempts == 0 {
                    self.start(index);
                } else {
                    self.make_runnable(index);
                }
            }
        }
    }

    /// Lets invocation `index` run: at once if it needs no lock or its key's lock is free,
    /// otherwise once the invocations queued before it on the key are done.
    pub(super) fn start(&mut self, index: usize) {
        let invocation = &self.invocations[index];
        if invocation.status != Status::Waiting || invocation.attempts > 0 {
            // Already started: a workflow's run requested again.
            return;
        }
        if !invocation.shared {
            let object = self
                .objects
                .entry((invocation.service.clone(), invocation.key.clone()))
                .or_default();
            if object.holder.is_some() {
                object.queue.push_back(index);
                return;
            }
            object.holder = Some(index);
        }
        self.make_runnable(index);
    }

    /// Queues invocation `index` for an attempt, unless it is done.
    pub(super) fn make_runnable(&mut self, index: usize) {
        let invocation = &mut self.invocations[index];
        if matches!(invocation.status, Status::Completed(_)) {
            return;
        }
        invocation.status = Status::Runnable;
        self.runnable.push_back(index);
    }

    /// Invocation `index` is done: if it held its key's lock, the next one queued on the key
    /// gets it and runs.
    pub(super) fn release_key(&mut self, index: usize) {
        let invocation = &self.invocations[index];
        if !invocation.shared {
            let object = self
                .objects
                .entry((invocation.service.clone(), invocation.key.clone()))
                .or_default();
            if object.holder == Some(index) {
                object.holder = object.queue.pop_front();
                if let Some(next) = object.holder {
                    self.make_runnable(next);
                }
            }
        }
    }
}

/// `time` in milliseconds since the Unix epoch, as the virtual clock counts.
pub(super) fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or_default()
}
