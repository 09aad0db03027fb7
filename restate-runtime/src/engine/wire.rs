//! The service protocol's messages as Restate's side writes and reads them (protocol version 6,
//! the one restate-server 1.7.12 pins): the simulator and the replay check speak them to an
//! endpoint. Framed as on the wire: a big-endian header of type (u16), flags (u16) and length
//! (u32), then the Protobuf payload. Field numbers are the protocol's.

// The replay check alone uses a few of the messages the simulator needs.
#![cfg_attr(not(feature = "test-support"), allow(dead_code))]
// Public for `restate-test` (through `test_support`); without that feature, crate-internal.
// The messages mirror the protocol's own (`service-protocol/protocol.proto`): same names, same
// field numbers; their meaning is documented there.
#![allow(missing_docs)]
#![cfg_attr(not(feature = "test-support"), allow(unreachable_pub))]

use bytes::{Buf, BufMut, Bytes, BytesMut};
use prost::Message;

/// The content type of the protocol version the simulator speaks.
pub const CONTENT_TYPE: &str = "application/vnd.restate.invocation.v6";

/// The content type of protocol version 7, whose start message carries the invocation's scope,
/// limit key and idempotency key.
pub const CONTENT_TYPE_V7: &str = "application/vnd.restate.invocation.v7";

/// Message types.
pub mod ty {
    pub const START: u16 = 0x0000;
    pub const SUSPENSION: u16 = 0x0001;
    pub const ERROR: u16 = 0x0002;
    pub const END: u16 = 0x0003;
    pub const PROPOSE_RUN_COMPLETION: u16 = 0x0005;
    pub const INPUT: u16 = 0x0400;
    pub const OUTPUT: u16 = 0x0401;
    pub const SET_STATE: u16 = 0x0403;
    pub const CLEAR_STATE: u16 = 0x0404;
    pub const CLEAR_ALL_STATE: u16 = 0x0405;
    pub const GET_EAGER_STATE: u16 = 0x0407;
    pub const GET_EAGER_STATE_KEYS: u16 = 0x0408;
    pub const GET_PROMISE: u16 = 0x0409;
    pub const GET_PROMISE_COMPLETION: u16 = 0x8009;
    pub const PEEK_PROMISE: u16 = 0x040A;
    pub const PEEK_PROMISE_COMPLETION: u16 = 0x800A;
    pub const COMPLETE_PROMISE: u16 = 0x040B;
    pub const COMPLETE_PROMISE_COMPLETION: u16 = 0x800B;
    pub const SLEEP: u16 = 0x040C;
    pub const SLEEP_COMPLETION: u16 = 0x800C;
    pub const CALL: u16 = 0x040D;
    pub const CALL_COMPLETION: u16 = 0x800D;
    pub const CALL_INVOCATION_ID_COMPLETION: u16 = 0x800E;
    pub const ONE_WAY_CALL: u16 = 0x040E;
    pub const RUN: u16 = 0x0411;
    pub const SEND_SIGNAL: u16 = 0x0410;
    pub const ATTACH_INVOCATION: u16 = 0x0412;
    pub const ATTACH_INVOCATION_COMPLETION: u16 = 0x8012;
    pub const GET_INVOCATION_OUTPUT: u16 = 0x0413;
    pub const GET_INVOCATION_OUTPUT_COMPLETION: u16 = 0x8013;
    pub const COMPLETE_AWAKEABLE: u16 = 0x0414;
    pub const SIGNAL: u16 = 0xFBFF;
    pub const RUN_COMPLETION: u16 = 0x8011;
}

/// Whether a message type is a command, which the SDK sends and the journal keeps.
pub fn is_command(ty: u16) -> bool {
    ty & 0xFC00 == 0x0400
}

/// Whether a message type is a command (journaled, sent by the SDK) or a notification
/// (journaled, sent by the server): both are journal entries.
pub fn is_journal_entry(ty: u16) -> bool {
    is_command(ty) || ty & 0x8000 != 0
}

/// One framed message.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub ty: u16,
    pub payload: Bytes,
}

impl Frame {
    pub fn new(ty: u16, message: &impl Message) -> Self {
        Self {
            ty,
            payload: Bytes::from(message.encode_to_vec()),
        }
    }

    pub fn write(&self, out: &mut BytesMut) {
        out.put_u16(self.ty);
        out.put_u16(0);
        out.put_u32(u32::try_from(self.payload.len()).expect("a message under 4 GiB"));
        out.put_slice(&self.payload);
    }

    pub fn decode<M: Message + Default>(&self) -> Result<M, prost::DecodeError> {
        M::decode(self.payload.clone())
    }
}

/// The frames of a response body; an error names a truncated frame.
pub fn read_frames(mut body: Bytes) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    while body.has_remaining() {
        if body.remaining() < 8 {
            return Err("a truncated frame header".to_owned());
        }
        let ty = body.get_u16();
        let _flags = body.get_u16();
        let length = body.get_u32() as usize;
        if body.remaining() < length {
            return Err(format!("a truncated frame of type {ty:#06x}"));
        }
        frames.push(Frame {
            ty,
            payload: body.split_to(length),
        });
    }
    Ok(frames)
}

#[derive(Clone, PartialEq, Message)]
pub struct StartMessage {
    #[prost(bytes = "bytes", tag = "1")]
    pub id: Bytes,
    #[prost(string, tag = "2")]
    pub debug_id: String,
    #[prost(uint32, tag = "3")]
    pub known_entries: u32,
    #[prost(message, repeated, tag = "4")]
    pub state_map: Vec<StateEntry>,
    #[prost(bool, tag = "5")]
    pub partial_state: bool,
    #[prost(string, tag = "6")]
    pub key: String,
    #[prost(uint32, tag = "7")]
    pub retry_count_since_last_stored_entry: u32,
    #[prost(uint64, tag = "8")]
    pub duration_since_last_stored_entry: u64,
    #[prost(uint64, tag = "9")]
    pub random_seed: u64,
    /// Since protocol version 7, as the three below.
    #[prost(string, optional, tag = "10")]
    pub scope: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub limit_key: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub idempotency_key: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct StateEntry {
    #[prost(bytes = "bytes", tag = "1")]
    pub key: Bytes,
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

#[derive(Clone, PartialEq, Message)]
pub struct Header {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Value {
    #[prost(bytes = "bytes", tag = "1")]
    pub content: Bytes,
}

#[derive(Clone, PartialEq, Message)]
pub struct Failure {
    #[prost(uint32, tag = "1")]
    pub code: u32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<FailureMetadata>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FailureMetadata {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct Void {}

#[derive(Clone, PartialEq, Message)]
pub struct InputCommand {
    #[prost(message, repeated, tag = "1")]
    pub headers: Vec<Header>,
    #[prost(message, optional, tag = "14")]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OutputResult {
    #[prost(message, tag = "14")]
    Value(Value),
    #[prost(message, tag = "15")]
    Failure(Failure),
}

#[derive(Clone, PartialEq, Message)]
pub struct OutputCommand {
    #[prost(oneof = "OutputResult", tags = "14, 15")]
    pub result: Option<OutputResult>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ErrorMessage {
    #[prost(uint32, tag = "1")]
    pub code: u32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(uint32, optional, tag = "4")]
    pub related_command_index: Option<u32>,
    #[prost(string, optional, tag = "5")]
    pub related_command_name: Option<String>,
    #[prost(uint32, optional, tag = "6")]
    pub related_command_type: Option<u32>,
    #[prost(uint64, optional, tag = "8")]
    pub next_retry_delay: Option<u64>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ProposedResult {
    #[prost(bytes = "bytes", tag = "14")]
    Value(Bytes),
    #[prost(message, tag = "15")]
    Failure(Failure),
}

#[derive(Clone, PartialEq, Message)]
pub struct ProposeRunCompletion {
    #[prost(uint32, tag = "1")]
    pub result_completion_id: u32,
    #[prost(oneof = "ProposedResult", tags = "14, 15")]
    pub result: Option<ProposedResult>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SetStateCommand {
    #[prost(bytes = "bytes", tag = "1")]
    pub key: Bytes,
    #[prost(message, optional, tag = "3")]
    pub value: Option<Value>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ClearStateCommand {
    #[prost(bytes = "bytes", tag = "1")]
    pub key: Bytes,
}

#[derive(Clone, PartialEq, Message)]
pub struct SleepCommand {
    #[prost(uint64, tag = "1")]
    pub wake_up_time: u64,
    #[prost(uint32, tag = "11")]
    pub result_completion_id: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct CallCommand {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(string, tag = "2")]
    pub handler_name: String,
    #[prost(bytes = "bytes", tag = "3")]
    pub parameter: Bytes,
    #[prost(message, repeated, tag = "4")]
    pub headers: Vec<Header>,
    #[prost(string, tag = "5")]
    pub key: String,
    #[prost(string, optional, tag = "6")]
    pub idempotency_key: Option<String>,
    #[prost(uint32, tag = "10")]
    pub invocation_id_notification_idx: u32,
    #[prost(uint32, tag = "11")]
    pub result_completion_id: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct OneWayCallCommand {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(string, tag = "2")]
    pub handler_name: String,
    #[prost(bytes = "bytes", tag = "3")]
    pub parameter: Bytes,
    #[prost(uint64, tag = "4")]
    pub invoke_time: u64,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, tag = "6")]
    pub key: String,
    #[prost(string, optional, tag = "7")]
    pub idempotency_key: Option<String>,
    #[prost(uint32, tag = "10")]
    pub invocation_id_notification_idx: u32,
}

/// The result of a notification: fields 4 to 6 and 16 of the protocol's notification template.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum NotificationResult {
    #[prost(message, tag = "4")]
    Void(Void),
    #[prost(message, tag = "5")]
    Value(Value),
    #[prost(message, tag = "6")]
    Failure(Failure),
    #[prost(string, tag = "16")]
    InvocationId(String),
}

/// A notification completing `completion_id`.
#[derive(Clone, PartialEq, Message)]
pub struct Notification {
    #[prost(uint32, tag = "1")]
    pub completion_id: u32,
    #[prost(oneof = "NotificationResult", tags = "4, 5, 6, 16")]
    pub result: Option<NotificationResult>,
}

/// `GetPromiseCommandMessage` and `PeekPromiseCommandMessage`.
#[derive(Clone, PartialEq, Message)]
pub struct PromiseCommand {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(uint32, tag = "11")]
    pub result_completion_id: u32,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PromiseCompletion {
    #[prost(message, tag = "2")]
    Value(Value),
    #[prost(message, tag = "3")]
    Failure(Failure),
}

#[derive(Clone, PartialEq, Message)]
pub struct CompletePromiseCommand {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(oneof = "PromiseCompletion", tags = "2, 3")]
    pub completion: Option<PromiseCompletion>,
    #[prost(uint32, tag = "11")]
    pub result_completion_id: u32,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum AwakeableResult {
    #[prost(message, tag = "2")]
    Value(Value),
    #[prost(message, tag = "3")]
    Failure(Failure),
}

#[derive(Clone, PartialEq, Message)]
pub struct CompleteAwakeableCommand {
    #[prost(string, tag = "1")]
    pub awakeable_id: String,
    #[prost(oneof = "AwakeableResult", tags = "2, 3")]
    pub result: Option<AwakeableResult>,
}

/// Which signal: an index (awakeables; 1 is the built-in cancellation) or a name.
#[derive(Clone, PartialEq, Eq, Hash, prost::Oneof)]
pub enum SignalId {
    #[prost(uint32, tag = "2")]
    Idx(u32),
    #[prost(string, tag = "3")]
    Name(String),
}

/// A signal to an invocation: an awakeable's completion, a named signal, or cancellation.
#[derive(Clone, PartialEq, Message)]
pub struct SignalNotification {
    #[prost(oneof = "SignalId", tags = "2, 3")]
    pub signal_id: Option<SignalId>,
    #[prost(oneof = "NotificationResult", tags = "4, 5, 6, 16")]
    pub result: Option<NotificationResult>,
}

/// `SendSignalCommandMessage`: a signal for another invocation.
#[derive(Clone, PartialEq, Message)]
pub struct SendSignalCommand {
    #[prost(string, tag = "1")]
    pub target_invocation_id: String,
    #[prost(oneof = "SignalId", tags = "2, 3")]
    pub signal_id: Option<SignalId>,
    #[prost(oneof = "NotificationResult", tags = "4, 5, 6, 16")]
    pub result: Option<NotificationResult>,
}

#[derive(Clone, PartialEq, Message)]
pub struct WorkflowTarget {
    #[prost(string, tag = "1")]
    pub workflow_name: String,
    #[prost(string, tag = "2")]
    pub workflow_key: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct IdempotentRequestTarget {
    #[prost(string, tag = "1")]
    pub service_name: String,
    #[prost(string, optional, tag = "2")]
    pub service_key: Option<String>,
    #[prost(string, tag = "3")]
    pub handler_name: String,
    #[prost(string, tag = "4")]
    pub idempotency_key: String,
}

/// Whose result an attach or output command asks for.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum InvocationTarget {
    #[prost(string, tag = "1")]
    InvocationId(String),
    #[prost(message, tag = "3")]
    Idempotent(IdempotentRequestTarget),
    #[prost(message, tag = "4")]
    Workflow(WorkflowTarget),
}

/// `AttachInvocationCommandMessage` and `GetInvocationOutputCommandMessage`.
#[derive(Clone, PartialEq, Message)]
pub struct InvocationTargetCommand {
    #[prost(oneof = "InvocationTarget", tags = "1, 3, 4")]
    pub target: Option<InvocationTarget>,
    #[prost(uint32, tag = "11")]
    pub result_completion_id: u32,
}

/// The name restate-server's `sys_journal` gives entries of type `ty`, e.g. `Command: Run`.
pub fn entry_type_name(ty: u16) -> String {
    let name = match ty {
        0x0400 => "Input",
        0x0401 => "Output",
        0x0402 | 0x8002 => "GetLazyState",
        0x0403 => "SetState",
        0x0404 => "ClearState",
        0x0405 => "ClearAllState",
        0x0406 | 0x8006 => "GetLazyStateKeys",
        0x0407 => "GetEagerState",
        0x0408 => "GetEagerStateKeys",
        0x0409 | 0x8009 => "GetPromise",
        0x040A | 0x800A => "PeekPromise",
        0x040B | 0x800B => "CompletePromise",
        0x040C | 0x800C => "Sleep",
        0x040D | 0x800D => "Call",
        0x800E => "CallInvocationId",
        0x040E => "OneWayCall",
        0x0410 => "SendSignal",
        0x0411 | 0x8011 => "Run",
        0x0412 | 0x8012 => "AttachInvocation",
        0x0413 | 0x8013 => "GetInvocationOutput",
        0x0414 => "CompleteAwakeable",
        0xFBFF => "Signal",
        _ => return format!("{ty:#06x}"),
    };
    if is_command(ty) {
        format!("Command: {name}")
    } else {
        format!("Notification: {name}")
    }
}

/// The message type of entries `sys_journal` names `name` (see [`entry_type_name`]).
#[cfg_attr(not(feature = "replay-check"), allow(dead_code))]
pub fn entry_type_code(name: &str) -> Option<u16> {
    let (kind, name) = name.split_once(": ")?;
    let command = match name {
        "Input" => 0x0400,
        "Output" => 0x0401,
        "GetLazyState" => 0x0402,
        "SetState" => 0x0403,
        "ClearState" => 0x0404,
        "ClearAllState" => 0x0405,
        "GetLazyStateKeys" => 0x0406,
        "GetEagerState" => 0x0407,
        "GetEagerStateKeys" => 0x0408,
        "GetPromise" => 0x0409,
        "PeekPromise" => 0x040A,
        "CompletePromise" => 0x040B,
        "Sleep" => 0x040C,
        "Call" => 0x040D,
        "OneWayCall" => 0x040E,
        "SendSignal" => 0x0410,
        "Run" => 0x0411,
        "AttachInvocation" => 0x0412,
        "GetInvocationOutput" => 0x0413,
        "CompleteAwakeable" => 0x0414,
        "CallInvocationId" if kind == "Notification" => return Some(0x800E),
        "Signal" if kind == "Notification" => return Some(ty::SIGNAL),
        _ => return None,
    };
    match kind {
        "Command" => Some(command),
        // A completion's number is its command's, moved from 0x04.. to 0x80...
        "Notification" => {
            let completion = command & 0x03FF | 0x8000;
            entry_type_name(completion)
                .starts_with("Notification")
                .then_some(completion)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_type_names_and_codes_agree() {
        let codes = (0x0400..=0x0414).chain(0x8000..=0x8014).chain([ty::SIGNAL]);
        let mut named = 0;
        for code in codes {
            let name = entry_type_name(code);
            if name.starts_with("0x") {
                assert_eq!(entry_type_code(&name), None);
            } else {
                assert_eq!(entry_type_code(&name), Some(code), "{name}");
                named += 1;
            }
        }
        assert_eq!(named, 32);
        assert_eq!(entry_type_code("Command: Signal"), None);
        assert_eq!(entry_type_code("Notification: Input"), None);
        assert_eq!(entry_type_code("Run"), None);
    }
}
