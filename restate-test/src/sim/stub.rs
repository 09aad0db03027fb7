//! Stubs: stand-ins for handlers the endpoint does not bind, answering encoded requests with a
//! test's typed closure.

use bytes::Bytes;

use restate_runtime::codegen::Codec;
use restate_runtime::test_support::wire as protocol;
use restate_runtime::{Payload, TerminalError};

/// A stub's answer to an encoded request.
type StubAnswer = Box<dyn FnMut(&[u8]) -> Result<Bytes, protocol::Failure> + Send>;

/// A stand-in for a handler that is not bound.
pub(super) struct Stub {
    answer: StubAnswer,
    /// How many requests it answered.
    pub(super) calls: usize,
}

impl std::fmt::Debug for Stub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stub")
            .field("calls", &self.calls)
            .finish_non_exhaustive()
    }
}

impl Stub {
    /// A stub answering with `answer`, its requests and answers encoded with `codec`.
    pub(super) fn new<Req, Res, F>(codec: Codec, mut answer: F) -> Self
    where
        Req: Payload,
        Res: Payload,
        F: FnMut(Req) -> Result<Res, TerminalError> + Send + 'static,
    {
        let answer = move |input: &[u8]| -> Result<Bytes, protocol::Failure> {
            let request = Req::decode_payload(codec, input).map_err(|e| {
                failure(TerminalError::new(
                    400,
                    format!("the stub cannot read its input: {e}"),
                ))
            })?;
            let response = answer(request).map_err(failure)?;
            response.encode_payload(codec).map_err(|e| {
                failure(TerminalError::new(
                    500,
                    format!("the stub cannot answer: {e}"),
                ))
            })
        };
        Self {
            answer: Box::new(answer),
            calls: 0,
        }
    }

    /// Answers the encoded request `input`, and counts it.
    pub(super) fn call(&mut self, input: &[u8]) -> Result<Bytes, protocol::Failure> {
        self.calls += 1;
        (self.answer)(input)
    }
}

/// A terminal error as the protocol carries it.
fn failure(error: TerminalError) -> protocol::Failure {
    protocol::Failure {
        code: u32::from(error.code()),
        message: error.message().to_owned(),
        metadata: error
            .metadata()
            .iter()
            .map(|(key, value)| protocol::FailureMetadata {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}
