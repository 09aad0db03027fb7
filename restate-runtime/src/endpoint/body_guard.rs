//! What keeps request bodies from holding the endpoint's memory: a budget for the bytes all
//! invocation attempts hold at once, and a watch on bodies that stop in the middle of a
//! message.
//!
//! An attempt holds what its request sent: the state machine buffers a message until it is
//! whole, then keeps the journal and state it decoded. [`BodyBudget`] counts those bytes across
//! attempts; an attempt whose next bytes would pass it is ended with a retryable error, and
//! what it held is dropped. [`FrameProgress`] follows the protocol's message frames (an 8-byte
//! header, then as many bytes as it announces) so the attempt knows when it waits in the middle
//! of one: Restate never pauses there, so a body that does is a stalled client, ended after the
//! stall timeout. Between messages a body may stay quiet as long as the invocation runs
//! (streaming, Restate sends completions when they come).

use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes that attempts in flight may hold together.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    limit: usize,
    held: AtomicUsize,
}

impl BodyBudget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            held: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget; `false` (and nothing taken) when they do not fit.
    pub(crate) fn take(&self, bytes: usize) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&after| after <= self.limit)
            })
            .is_ok()
    }

    /// Gives `bytes` back.
    pub(crate) fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// The bytes held now.
    pub(crate) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }

    /// Whether `bytes` more would fit now.
    pub(crate) fn fits(&self, bytes: usize) -> bool {
        self.held().saturating_add(bytes) <= self.limit
    }
}

/// A message frame's header: type (u16), flags (u16), length (u32), big-endian.
const FRAME_HEADER: usize = 8;

/// Where a request body stands among the protocol's message frames.
#[derive(Debug, Default)]
pub(crate) struct FrameProgress {
    /// Header bytes of the next frame read so far, and the header itself.
    header: [u8; FRAME_HEADER],
    header_read: usize,
    /// Bytes of the current frame's message still to come.
    remaining: u64,
    /// Whether a whole frame arrived yet (before that, the attempt waits for its start).
    started: bool,
}

impl FrameProgress {
    /// Follows the frames through `chunk`, the next bytes of the body.
    pub(crate) fn advance(&mut self, mut chunk: &[u8]) {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let skipped = usize::try_from(self.remaining)
                    .map_or(chunk.len(), |remaining| remaining.min(chunk.len()));
                self.remaining -= skipped as u64;
                chunk = &chunk[skipped..];
                if self.remaining == 0 {
                    self.started = true;
                }
                continue;
            }
            let wanted = FRAME_HEADER - self.header_read;
            let taken = wanted.min(chunk.len());
            self.header[self.header_read..self.header_read + taken]
                .copy_from_slice(&chunk[..taken]);
            self.header_read += taken;
            chunk = &chunk[taken..];
            if self.header_read == FRAME_HEADER {
                self.header_read = 0;
                let length = u32::from_be_bytes([
                    self.header[4],
                    self.header[5],
                    self.header[6],
                    self.header[7],
                ]);
                self.remaining = u64::from(length);
                if self.remaining == 0 {
                    self.started = true;
                }
            }
        }
    }

    /// Whether the body is in the middle of a message, or has not sent a whole one yet: the
    /// places where a client that goes quiet has stalled.
    pub(crate) fn mid_message(&self) -> bool {
        !self.started || self.header_read > 0 || self.remaining > 0
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn frame(length: u32) -> Vec<u8> {
        let mut frame = vec![0, 1, 0, 0];
        frame.extend_from_slice(&length.to_be_bytes());
        frame.extend(std::iter::repeat_n(7u8, length as usize));
        frame
    }

    #[test]
    fn a_budget_refuses_what_does_not_fit_and_takes_back_what_is_released() {
        let budget = BodyBudget::new(100);
        assert!(budget.take(60));
        assert!(!budget.take(41));
        assert!(budget.take(40));
        assert!(!budget.fits(1));
        budget.release(60);
        assert_eq!(budget.held(), 40);
        assert!(budget.fits(60));
        assert!(budget.take(60));
        assert!(!budget.take(usize::MAX));
    }

    #[test]
    fn a_body_is_mid_message_until_its_first_frame_is_whole_and_inside_every_frame() {
        let mut progress = FrameProgress::default();
        assert!(progress.mid_message());
        let first = frame(10);
        progress.advance(&first[..5]);
        assert!(progress.mid_message());
        progress.advance(&first[5..12]);
        assert!(progress.mid_message());
        progress.advance(&first[12..]);
        assert!(!progress.mid_message());
        // A frame announcing 4 GiB - 1 stays open however much follows.
        progress.advance(&[0, 3, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        progress.advance(&[0; 4096]);
        assert!(progress.mid_message());
    }

    proptest! {
        /// However a run of whole frames is cut into chunks, the body ends between messages.
        #[test]
        fn whole_frames_in_any_chunks_end_between_messages(
            lengths in proptest::collection::vec(0u32..300, 1..8),
            cuts in proptest::collection::vec(1usize..64, 1..40),
        ) {
            let bytes: Vec<u8> = lengths.iter().flat_map(|&length| frame(length)).collect();
            let mut progress = FrameProgress::default();
            let (mut at, mut cut) = (0, cuts.iter().cycle());
            while at < bytes.len() {
                let end = (at + cut.next().unwrap()).min(bytes.len());
                progress.advance(&bytes[at..end]);
                at = end;
            }
            prop_assert!(!progress.mid_message());
        }
    }
}
