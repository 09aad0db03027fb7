//! The attempt number and journal length, read from the start message Restate opens every
//! attempt with.
//!
//! The state machine reads that message too but does not expose its counts, so the first frame
//! is scanned on its way in, chunk by chunk: the two varint fields wanted are read, everything
//! else (the object's state, which can be large) is skipped without being kept. The scan holds a
//! few bytes of state whatever the message's size, and gives up quietly on anything that is not
//! a well-formed start message.

/// A message frame's header: type (u16), flags (u16), length (u32), big-endian.
const FRAME_HEADER: usize = 8;
/// The start message's type.
const START_MESSAGE: u16 = 0x0000;
/// The start message's fields read here.
const KNOWN_ENTRIES: u64 = 3;
const RETRY_COUNT_SINCE_LAST_STORED_ENTRY: u64 = 7;

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

/// Scans an attempt's first request bytes for the start message.
#[derive(Debug)]
pub(crate) struct StartPeek {
    phase: Phase,
    known_entries: u32,
    retry_count: u32,
}

impl Default for StartPeek {
    fn default() -> Self {
        Self {
            phase: Phase::Header {
                bytes: [0; FRAME_HEADER],
                read: 0,
            },
            known_entries: 0,
            retry_count: 0,
        }
    }
}

#[derive(Debug)]
enum Phase {
    /// Reading the frame header.
    Header {
        bytes: [u8; FRAME_HEADER],
        read: usize,
    },
    /// Inside the message body, `remaining` bytes of it left.
    Body { remaining: usize, item: Item },
    /// Read, or given up on.
    Done,
}

/// Where the scan is within the body.
#[derive(Debug)]
enum Item {
    /// A field's tag.
    Tag(Varint),
    /// The varint value of field `field`.
    Value { field: u64, value: Varint },
    /// The length of a length-delimited field.
    Length(Varint),
    /// Bytes of a field not read.
    Skip(usize),
}

/// A varint being read, a byte at a time.
#[derive(Debug, Default)]
struct Varint {
    value: u64,
    shift: u32,
}

impl Varint {
    /// Adds `byte`; the value once complete, or `Err` for more than ten bytes.
    fn push(&mut self, byte: u8) -> Result<Option<u64>, ()> {
        // The tenth byte holds the last bit of 64: more does not fit, as prost also says.
        if self.shift >= 64 || (self.shift == 63 && byte > 1) {
            return Err(());
        }
        self.value |= u64::from(byte & 0x7f) << self.shift;
        self.shift += 7;
        Ok((byte & 0x80 == 0).then_some(self.value))
    }
}

impl StartPeek {
    /// Scans the next request chunk; returns what the start message says once it is complete.
    pub(crate) fn next_chunk(&mut self, mut chunk: &[u8]) -> Option<StartInfo> {
        if let Phase::Header { read: 0, .. } = self.phase {
            // The usual case: the whole message in the first chunk, read in place.
            if let Some(info) = read_whole(chunk) {
                self.phase = Phase::Done;
                return info;
            }
        }
        while !chunk.is_empty() {
            match &mut self.phase {
                Phase::Done => return None,
                Phase::Header { bytes, read } => {
                    let take = (FRAME_HEADER - *read).min(chunk.len());
                    bytes[*read..*read + take].copy_from_slice(&chunk[..take]);
                    *read += take;
                    chunk = &chunk[take..];
                    if *read == FRAME_HEADER {
                        let ty = u16::from_be_bytes([bytes[0], bytes[1]]);
                        let length = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
                        if ty != START_MESSAGE {
                            self.phase = Phase::Done;
                            return None;
                        }
                        let remaining = usize::try_from(length).unwrap_or(usize::MAX);
                        if remaining == 0 {
                            return self.finish();
                        }
                        self.phase = Phase::Body {
                            remaining,
                            item: Item::Tag(Varint::default()),
                        };
                    }
                }
                Phase::Body { remaining, item } => {
                    if let Item::Skip(left) = item {
                        // Skipped in bulk: the state of a large object passes without a copy.
                        let take = (*left).min(chunk.len()).min(*remaining);
                        *left -= take;
                        *remaining -= take;
                        chunk = &chunk[take..];
                        if *left == 0 {
                            *item = Item::Tag(Varint::default());
                        }
                    } else {
                        let byte = chunk[0];
                        chunk = &chunk[1..];
                        *remaining -= 1;
                        if self.step(byte).is_err() {
                            self.phase = Phase::Done;
                            return None;
                        }
                    }
                    match &self.phase {
                        Phase::Body {
                            remaining: 0,
                            item: Item::Tag(Varint { shift: 0, .. }),
                        } => return self.finish(),
                        // The body ended inside a field: not a well-formed message.
                        Phase::Body { remaining: 0, .. } => {
                            self.phase = Phase::Done;
                            return None;
                        }
                        _ => {}
                    }
                }
            }
        }
        None
    }

    /// Reads one body byte into the current item.
    fn step(&mut self, byte: u8) -> Result<(), ()> {
        let Phase::Body { item, .. } = &mut self.phase else {
            return Err(());
        };
        match item {
            Item::Tag(tag) => {
                if let Some(tag) = tag.push(byte)? {
                    let field = tag >> 3;
                    *item = match tag & 0x7 {
                        0 => Item::Value {
                            field,
                            value: Varint::default(),
                        },
                        1 => Item::Skip(8),
                        2 => Item::Length(Varint::default()),
                        5 => Item::Skip(4),
                        // Groups, or no wire type at all.
                        _ => return Err(()),
                    };
                }
            }
            Item::Value { field, value } => {
                if let Some(value) = value.push(byte)? {
                    let value = u32::try_from(value).unwrap_or(u32::MAX);
                    match *field {
                        KNOWN_ENTRIES => self.known_entries = value,
                        RETRY_COUNT_SINCE_LAST_STORED_ENTRY => self.retry_count = value,
                        _ => {}
                    }
                    *item = Item::Tag(Varint::default());
                }
            }
            Item::Length(length) => {
                if let Some(length) = length.push(byte)? {
                    *item = match usize::try_from(length) {
                        Ok(0) => Item::Tag(Varint::default()),
                        Ok(length) => Item::Skip(length),
                        Err(_) => return Err(()),
                    };
                }
            }
            Item::Skip(_) => return Err(()),
        }
        Ok(())
    }

    fn finish(&mut self) -> Option<StartInfo> {
        self.phase = Phase::Done;
        Some(StartInfo {
            attempt: self.retry_count.saturating_add(1),
            known_entries: self.known_entries,
        })
    }
}

/// What the start message at the start of `chunk` says, if the chunk holds all of it:
/// `Some(None)` when it is not a well-formed start message, `None` when the chunk ends first.
fn read_whole(chunk: &[u8]) -> Option<Option<StartInfo>> {
    let header = chunk.get(..FRAME_HEADER)?;
    if u16::from_be_bytes([header[0], header[1]]) != START_MESSAGE {
        return Some(None);
    }
    let length = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let mut body =
        chunk.get(FRAME_HEADER..FRAME_HEADER.checked_add(usize::try_from(length).ok()?)?)?;
    let (mut known_entries, mut retry_count) = (0, 0);
    while !body.is_empty() {
        let Ok(tag) = prost::encoding::decode_varint(&mut body) else {
            return Some(None);
        };
        let skip = match tag & 0x7 {
            0 => {
                let Ok(value) = prost::encoding::decode_varint(&mut body) else {
                    return Some(None);
                };
                let value = u32::try_from(value).unwrap_or(u32::MAX);
                match tag >> 3 {
                    KNOWN_ENTRIES => known_entries = value,
                    RETRY_COUNT_SINCE_LAST_STORED_ENTRY => retry_count = value,
                    _ => {}
                }
                0
            }
            1 => 8,
            2 => match prost::encoding::decode_varint(&mut body) {
                Ok(length) => usize::try_from(length).unwrap_or(usize::MAX),
                Err(_) => return Some(None),
            },
            5 => 4,
            _ => return Some(None),
        };
        let Some(rest) = body.get(skip..) else {
            return Some(None);
        };
        body = rest;
    }
    Some(Some(StartInfo {
        attempt: retry_count.saturating_add(1),
        known_entries,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A start frame: field 2 (debug id) of `padding` bytes, a state entry (field 4) of
    /// `state` bytes, field 3 = 4 known entries, then field 7 = `retry_count`.
    fn start_frame(retry_count: u32, padding: usize, state: usize) -> Vec<u8> {
        let mut body = vec![0x12];
        prost::encoding::encode_varint(padding as u64, &mut body);
        body.extend(std::iter::repeat_n(b'x', padding));
        if state > 0 {
            body.push(0x22);
            prost::encoding::encode_varint(state as u64, &mut body);
            body.extend(std::iter::repeat_n(b's', state));
        }
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
        let mut frame = start_frame(2, 10, 0);
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
        let frame = start_frame(0, 300, 20);
        for split in 1..frame.len() {
            let mut peek = StartPeek::default();
            assert_eq!(peek.next_chunk(&frame[..split]), None, "split at {split}");
            let info = peek.next_chunk(&frame[split..]);
            assert_eq!(info.map(|i| i.attempt), Some(1), "split at {split}");
            assert_eq!(peek.next_chunk(&frame), None, "read once");
        }
    }

    #[test]
    fn a_large_state_is_skipped_in_chunks() {
        let frame = start_frame(5, 10, 3 * 1024 * 1024);
        let mut peek = StartPeek::default();
        let mut found = None;
        for chunk in frame.chunks(16 * 1024) {
            if let Some(info) = peek.next_chunk(chunk) {
                found = Some(info);
            }
        }
        assert_eq!(
            found,
            Some(StartInfo {
                attempt: 6,
                known_entries: 4
            })
        );
    }

    #[test]
    fn gives_up_on_what_is_not_a_well_formed_start_message() {
        let mut other = start_frame(0, 10, 0);
        other[1] = 1;
        assert_eq!(StartPeek::default().next_chunk(&other), None);
        // A body that ends inside a field.
        assert_eq!(
            StartPeek::default().next_chunk(b"\0\0\0\0\0\0\0\x03\x12\x05a"),
            None
        );
        // A varint longer than ten bytes.
        let mut long = b"\0\0\0\0\0\0\0\x0c\x18".to_vec();
        long.extend([0xff; 11]);
        assert_eq!(StartPeek::default().next_chunk(&long), None);
        // A group.
        assert_eq!(
            StartPeek::default().next_chunk(b"\0\0\0\0\0\0\0\x01\x0b"),
            None
        );
    }

    #[test]
    fn the_whole_chunk_path_and_the_stream_agree() {
        for frame in [start_frame(0, 0, 0), start_frame(9, 40, 100)] {
            let whole = StartPeek::default().next_chunk(&frame);
            let mut peek = StartPeek::default();
            let streamed = frame.iter().find_map(|byte| peek.next_chunk(&[*byte]));
            assert!(whole.is_some());
            assert_eq!(whole, streamed);
        }
    }

    proptest::proptest! {
        #[test]
        fn the_two_paths_agree_on_any_bytes(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128),
        ) {
            let mut frame = vec![0, 0, 0, 0];
            frame.extend_from_slice(&u32::try_from(bytes.len()).unwrap().to_be_bytes());
            frame.extend_from_slice(&bytes);
            let whole = StartPeek::default().next_chunk(&frame);
            let mut peek = StartPeek::default();
            let streamed = frame.iter().find_map(|byte| peek.next_chunk(&[*byte]));
            proptest::prop_assert_eq!(whole, streamed);
        }

        #[test]
        fn never_panics_on_any_bytes_in_any_chunks(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            split in 0usize..512,
        ) {
            let mut peek = StartPeek::default();
            let split = split.min(bytes.len());
            let _ = peek.next_chunk(&bytes[..split]);
            let _ = peek.next_chunk(&bytes[split..]);
        }
    }
}
