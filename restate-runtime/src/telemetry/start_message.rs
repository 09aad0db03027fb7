//! The attempt number and journal length, read from the start message Restate opens every
//! attempt with.
//!
//! The state machine reads that message too but does not expose its retry count, so the first
//! frame is looked at on its way in: usually it arrives whole in the first chunk and is read
//! in place; otherwise its bytes are kept until it is complete, up to a bound.

use bytes::{Buf, BytesMut};

/// A message frame's header: type (u16), flags (u16), length (u32), big-endian.
const FRAME_HEADER: usize = 8;
/// The start message's type.
const START_MESSAGE: u16 = 0x0000;
/// The most bytes kept while waiting for a start message split across chunks: one larger
/// (it carries the object's state) is not worth copying for a log field.
const MAX_KEPT: usize = 64 * 1024;

/// The start message's `known_entries` (field 3) and `retry_count_since_last_stored_entry`
/// (field 7); prost skips the rest.
#[derive(Clone, PartialEq, prost::Message)]
struct StartCounts {
    #[prost(uint32, tag = "3")]
    known_entries: u32,
    #[prost(uint32, tag = "7")]
    retry_count_since_last_stored_entry: u32,
}

/// What the start message says about an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StartInfo {
    /// 1 for the first attempt since the journal last grew, 2 for its first retry, ...
    pub(crate) attempt: u32,
    /// The journal entries Restate sends with the attempt, the input included.
    pub(crate) known_entries: u32,
}

#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
impl StartInfo {
    /// Whether this attempt starts the invocation: a journal of the input alone, never tried.
    pub(crate) fn starts_invocation(&self) -> bool {
        self.attempt == 1 && self.known_entries <= 1
    }

    /// The entries the handler replays: the journal but its input.
    pub(crate) fn replayed_entries(&self) -> u32 {
        self.known_entries.saturating_sub(1)
    }
}

/// Watches an attempt's first request bytes for the start message.
#[derive(Debug, Default)]
pub(crate) enum StartPeek {
    /// Nothing seen yet, or the bytes of an incomplete first frame.
    #[default]
    Waiting,
    Kept(BytesMut),
    /// Read, or given up on.
    Done,
}

impl StartPeek {
    /// Looks at the next request chunk; returns what the start message says once it is
    /// complete.
    pub(crate) fn next_chunk(&mut self, chunk: &[u8]) -> Option<StartInfo> {
        let mut kept = match std::mem::replace(self, StartPeek::Done) {
            StartPeek::Done => return None,
            StartPeek::Waiting => match frame_length(chunk) {
                // The usual case: the whole frame in the first chunk, read in place.
                Some(length) if chunk.len() >= length => return start_info(&chunk[..length]),
                _ => BytesMut::new(),
            },
            StartPeek::Kept(kept) => kept,
        };
        kept.extend_from_slice(chunk);
        match frame_length(&kept) {
            Some(length) if kept.len() >= length => start_info(&kept[..length]),
            Some(length) if length <= MAX_KEPT => {
                *self = StartPeek::Kept(kept);
                None
            }
            None if kept.len() < FRAME_HEADER => {
                *self = StartPeek::Kept(kept);
                None
            }
            _ => None,
        }
    }
}

/// The whole length of the first frame (header included), if `bytes` start with a start
/// message's header.
fn frame_length(mut bytes: &[u8]) -> Option<usize> {
    if bytes.len() < FRAME_HEADER {
        return None;
    }
    let ty = bytes.get_u16();
    let _flags = bytes.get_u16();
    let length = usize::try_from(bytes.get_u32()).ok()?;
    (ty == START_MESSAGE).then(|| length.saturating_add(FRAME_HEADER))
}

/// What the start message in `frame` (header included) says.
fn start_info(frame: &[u8]) -> Option<StartInfo> {
    let message = <StartCounts as prost::Message>::decode(&frame[FRAME_HEADER..]).ok()?;
    Some(StartInfo {
        attempt: message
            .retry_count_since_last_stored_entry
            .saturating_add(1),
        known_entries: message.known_entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start_frame(retry_count: u32, padding: usize) -> Vec<u8> {
        // Field 2 (debug id) as padding, field 3 (4 known entries), then field 7.
        let mut body = vec![0x12];
        prost::encoding::encode_varint(padding as u64, &mut body);
        body.extend(std::iter::repeat_n(b'x', padding));
        body.extend([0x18, 4]);
        body.push(0x38);
        prost::encoding::encode_varint(u64::from(retry_count), &mut body);
        let mut frame = Vec::new();
        frame.extend_from_slice(&START_MESSAGE.to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(&u32::try_from(body.len()).unwrap().to_be_bytes());
        frame.extend_from_slice(&body);
        frame
    }

    #[test]
    fn reads_the_attempt_from_a_whole_frame() {
        let mut frame = start_frame(2, 10);
        frame.extend_from_slice(b"next frame");
        let info = StartPeek::default().next_chunk(&frame).unwrap();
        assert_eq!(
            info,
            StartInfo {
                attempt: 3,
                known_entries: 4
            }
        );
        assert_eq!(info.replayed_entries(), 3);
        assert!(!info.starts_invocation());
    }

    #[test]
    fn reads_the_attempt_from_a_frame_split_anywhere() {
        let frame = start_frame(0, 300);
        for split in [1, 7, 8, 9, 200, frame.len() - 1] {
            let mut peek = StartPeek::default();
            assert_eq!(peek.next_chunk(&frame[..split]), None, "split at {split}");
            let info = peek.next_chunk(&frame[split..]);
            assert_eq!(info.map(|i| i.attempt), Some(1), "split at {split}");
            assert_eq!(peek.next_chunk(&frame), None, "read once");
        }
    }

    #[test]
    fn gives_up_on_what_is_not_a_start_message_or_too_large() {
        let mut other = start_frame(0, 10);
        other[1] = 1;
        assert_eq!(StartPeek::default().next_chunk(&other), None);
        let large = start_frame(0, MAX_KEPT + 1);
        let mut peek = StartPeek::default();
        assert_eq!(peek.next_chunk(&large[..100]), None);
        assert!(matches!(peek, StartPeek::Done));
        assert_eq!(
            StartPeek::default().next_chunk(b"\0\0\0\0\0\0\0\x03abc"),
            None
        );
    }
}
