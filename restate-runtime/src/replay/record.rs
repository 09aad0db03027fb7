//! Recorded invocations and the file that carries them: JSON Lines, one invocation per line.
//!
//! Each line is an object:
//!
//! ```json
//! {"format":1,"id":"inv_1…","service":"approval.Approval","handler":"Run","key":"a1",
//!  "status":"suspended","deployment":"dp_…","protocol_version":6,"journal_version":2,
//!  "random_seed":"1234","entries":[{"type":"Command: Input","name":"","raw":"CjgK…"}],
//!  "state":[{"key":"status","value":"IndhaXRpbmci"}]}
//! ```
//!
//! - `format` is this file format's version, 1; readers refuse lines of a format they do not
//!   know, and later versions only add optional fields.
//! - `entries` is the journal in index order: each entry's type as restate-server's `sys_journal`
//!   names it (`Command: Run`, `Notification: Sleep`, `Notification: Signal`, ...), its name,
//!   and `raw`, the protocol message (standard base64, padding optional).
//! - `state` is the invocation's object or workflow state (keys as text, values in base64); empty
//!   for plain services.
//! - `protocol_version` and `deployment` are what the invocation is pinned to (`null` before its
//!   first attempt); `journal_version` is the server's journal format (2 since Restate 1.6).
//! - `random_seed` (a decimal string: JSON numbers lose precision past 2^53) is the seed the
//!   invocation's attempts get; absent, the check derives it from `id` as Restate does.

use std::io::{BufRead, Write};

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ReplayError;

/// The version of the file format this crate writes, and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// An invocation recorded from a restate-server: what the check needs to replay it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedInvocation {
    /// The file format's version ([`FORMAT_VERSION`]).
    pub format: u32,
    /// The invocation id, `inv_1…`.
    pub id: String,
    /// The target service.
    pub service: String,
    /// The target handler.
    pub handler: String,
    /// The object's or workflow's key; empty for plain services.
    #[serde(default)]
    pub key: String,
    /// The invocation's status when it was recorded (`running`, `suspended`, `backing-off`,
    /// `paused`, `completed`, ...).
    pub status: String,
    /// The deployment the invocation is pinned to.
    #[serde(default)]
    pub deployment: Option<String>,
    /// The service protocol version the invocation is pinned to.
    #[serde(default)]
    pub protocol_version: Option<u32>,
    /// The server's journal format: 2 holds protocol messages.
    pub journal_version: u32,
    /// The random seed of the invocation's attempts, if known.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "seed_to_text",
        deserialize_with = "seed_from_text"
    )]
    pub random_seed: Option<u64>,
    /// The journal, in index order.
    pub entries: Vec<RecordedEntry>,
    /// The state the invocation's next attempt gets.
    #[serde(default)]
    pub state: Vec<RecordedState>,
}

/// One journal entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedEntry {
    /// The entry's type as `sys_journal` names it, e.g. `Command: Run`.
    #[serde(rename = "type")]
    pub entry_type: String,
    /// The entry's name, if the handler gave one (a `run`'s name, say).
    #[serde(default)]
    pub name: String,
    /// The entry's protocol message.
    #[serde(with = "base64_bytes")]
    pub raw: Bytes,
}

/// One state entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedState {
    /// The state key.
    pub key: String,
    /// The value, as stored (the codec's bytes).
    #[serde(with = "base64_bytes")]
    pub value: Bytes,
}

impl RecordedInvocation {
    /// The entry at journal index `index`, described for people: `Command: Run "charge"`.
    pub fn describe_entry(&self, index: usize) -> Option<String> {
        self.entries.get(index).map(|entry| {
            if entry.name.is_empty() {
                entry.entry_type.clone()
            } else {
                format!("{} \"{}\"", entry.entry_type, entry.name)
            }
        })
    }
}

/// Writes `invocations` to `out`, one JSON object per line.
pub fn write_recorded(
    mut out: impl Write,
    invocations: &[RecordedInvocation],
) -> Result<(), ReplayError> {
    for invocation in invocations {
        serde_json::to_writer(&mut out, invocation)
            .map_err(|e| ReplayError::File(e.to_string()))?;
        out.write_all(b"\n")
            .map_err(|e| ReplayError::File(e.to_string()))?;
    }
    out.flush().map_err(|e| ReplayError::File(e.to_string()))
}

/// Reads invocations written by [`write_recorded`] (or by hand in its format); blank lines are
/// skipped, a malformed line is an error naming its number.
pub fn read_recorded(input: impl BufRead) -> Result<Vec<RecordedInvocation>, ReplayError> {
    let mut invocations = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| ReplayError::File(e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let invocation: RecordedInvocation = serde_json::from_str(&line)
            .map_err(|e| ReplayError::File(format!("line {}: {e}", number + 1)))?;
        if invocation.format > FORMAT_VERSION {
            return Err(ReplayError::File(format!(
                "line {}: format {} is newer than this check reads ({FORMAT_VERSION})",
                number + 1,
                invocation.format
            )));
        }
        invocations.push(invocation);
    }
    Ok(invocations)
}

fn seed_to_text<S: Serializer>(seed: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
    match seed {
        Some(seed) => serializer.collect_str(seed),
        None => serializer.serialize_none(),
    }
}

fn seed_from_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|text| text.parse().map_err(serde::de::Error::custom))
        .transpose()
}

mod base64_bytes {
    use base64::Engine as _;
    use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
    use base64::engine::{DecodePaddingMode, general_purpose};
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Standard base64 that reads padded and unpadded text alike.
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );

    pub(super) fn serialize<S: Serializer>(
        bytes: &Bytes,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&general_purpose::STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Bytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        LENIENT
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

/// Decodes the hex text the admin API gives binary columns in.
pub(crate) fn from_hex(text: &str) -> Result<Bytes, String> {
    if text.len() % 2 != 0 {
        return Err(format!("odd-length hex text `{text:.16}…`"));
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(format!("`{}` is not a hex digit", c as char)),
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect::<Result<Vec<u8>, String>>()
        .map(Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedInvocation {
        RecordedInvocation {
            format: FORMAT_VERSION,
            id: "inv_18chTyKUhmg15lka5F9GcIn7soLM5flo2N".to_owned(),
            service: "approval.Approval".to_owned(),
            handler: "Run".to_owned(),
            key: "a1".to_owned(),
            status: "suspended".to_owned(),
            deployment: Some("dp_12YRRcjJZXuu1zxwUthrdxT".to_owned()),
            protocol_version: Some(6),
            journal_version: 2,
            random_seed: Some(u64::MAX - 1),
            entries: vec![RecordedEntry {
                entry_type: "Command: Run".to_owned(),
                name: "count execution".to_owned(),
                raw: Bytes::from_static(b"X\x01b\x0fcount execution"),
            }],
            state: vec![RecordedState {
                key: "status".to_owned(),
                value: Bytes::from_static(b"\"waiting\""),
            }],
        }
    }

    #[test]
    fn a_file_round_trips_and_keeps_large_seeds_exact() {
        let invocations = vec![sample(), sample()];
        let mut file = Vec::new();
        write_recorded(&mut file, &invocations).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"random_seed\":\"18446744073709551614\""));
        assert_eq!(read_recorded(file.as_slice()).unwrap(), invocations);
    }

    #[test]
    fn unpadded_base64_and_missing_optional_fields_are_read() {
        let line = r#"{"format":1,"id":"inv_1x","service":"s","handler":"h","status":"running","journal_version":2,"entries":[{"type":"Command: Input","raw":"CgZzdGF0dXM"}]}"#;
        let read = read_recorded(line.as_bytes()).unwrap();
        assert_eq!(read[0].entries[0].raw.as_ref(), b"\n\x06status");
        assert_eq!(read[0].random_seed, None);
        assert!(read[0].state.is_empty());
    }

    #[test]
    fn bad_lines_and_newer_formats_are_refused_by_line_number() {
        let error = read_recorded("\n{not json}\n".as_bytes()).unwrap_err();
        assert!(error.to_string().contains("line 2"), "{error}");
        let mut newer = serde_json::to_value(sample()).unwrap();
        newer["format"] = (FORMAT_VERSION + 1).into();
        let error = read_recorded(newer.to_string().as_bytes()).unwrap_err();
        assert!(error.to_string().contains("newer"), "{error}");
    }

    #[test]
    fn hex_from_the_admin_api_decodes() {
        assert_eq!(from_hex("0a06").unwrap().as_ref(), b"\n\x06");
        assert!(from_hex("0a0").is_err());
        assert!(from_hex("zz").is_err());
    }
}
