//! What the schedule service takes, answers and keeps, as JSON (the service's codec).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::codec::{Codec, CodecError, Payload};

/// Makes serde types payloads in JSON; an empty body is the default value.
macro_rules! json_payload {
    ($($ty:ty),* $(,)?) => {$(
        impl Payload for $ty {
            fn encode_payload(&self, _codec: Codec) -> Result<Bytes, CodecError> {
                Ok(Bytes::from(serde_json::to_vec(self)?))
            }

            fn decode_payload(_codec: Codec, bytes: &[u8]) -> Result<Self, CodecError> {
                if bytes.is_empty() {
                    return Ok(Self::default());
                }
                Ok(serde_json::from_slice(bytes)?)
            }
        }
    )*};
}

json_payload!(
    StartSchedule,
    ScheduleInfo,
    ScheduleList,
    Fire,
    ScheduleState
);

/// What a schedule calls, and when: the request of `Schedule/Start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StartSchedule {
    /// The cron expression, in UTC: five fields, or six with seconds first.
    pub cron: String,
    /// The service to call, as Restate knows it.
    pub target_service: String,
    /// The handler to call.
    pub target_handler: String,
    /// The object key or workflow id, for keyed targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_key: Option<String>,
    /// The JSON body of each request; `{}` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
}

impl StartSchedule {
    /// Calls `service`/`handler` whenever `cron` comes due, with an empty JSON object.
    pub fn new(
        cron: impl Into<String>,
        service: impl Into<String>,
        handler: impl Into<String>,
    ) -> Self {
        Self {
            cron: cron.into(),
            target_service: service.into(),
            target_handler: handler.into(),
            target_key: None,
            payload: None,
        }
    }

    /// Addresses the object or workflow `key`.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.target_key = Some(key.into());
        self
    }

    /// Sends `payload` as each request's body.
    pub fn payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Some(payload);
        self
    }
}

/// A schedule as it stands: the answer of `Start`, `Stop` and `Describe`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleInfo {
    /// The schedule's name (its object key).
    pub name: String,
    /// What it calls and when; `None` for a schedule never started.
    pub definition: Option<StartSchedule>,
    /// Whether it is started (and not stopped since).
    pub active: bool,
    /// When it comes due next, in milliseconds since the Unix epoch, while active.
    pub next_fire_at_millis: Option<u64>,
    /// How many requests it has sent the target.
    pub fires: u64,
}

/// The names of the started schedules: the answer of `ScheduleIndex/List`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ScheduleList {
    /// The names, sorted.
    pub names: Vec<String>,
}

/// The delayed request a schedule sends itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Fire {
    pub(crate) generation: u64,
    pub(crate) due: u64,
}

/// What a schedule keeps in its state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ScheduleState {
    pub(crate) definition: Option<StartSchedule>,
    pub(crate) active: bool,
    /// Bumped by every start and stop: a timer of an older generation does nothing.
    pub(crate) generation: u64,
    pub(crate) next_fire_at_millis: Option<u64>,
    /// The invocation id of the pending timer, to cancel it.
    pub(crate) pending_fire: Option<String>,
    pub(crate) fires: u64,
}
