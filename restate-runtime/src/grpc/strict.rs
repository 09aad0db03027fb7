//! What the gateway lets through to its gRPC services: gRPC calls and nothing else, with their
//! request bodies bounded.
//!
//! Before a request reaches tonic: HTTP/2 with the content type `application/grpc` or
//! `application/grpc+proto` (or, with gRPC-Web switched on, `application/grpc-web…` over any
//! HTTP version); anything else is answered 415 (or 505 for gRPC over HTTP/1.x) and never
//! reaches Restate. The request body is then watched as it is read:
//! - a message that announces more than the gateway's message limit (4 MiB by default) is
//!   refused before it is read
//!   (`RESOURCE_EXHAUSTED`);
//! - a call that sends one message (all but reflection's streams) and carries a second is
//!   refused (`INTERNAL`, as gRPC servers answer a client that breaks the unary protocol);
//! - the bytes of the messages being received come out of one budget for all calls; a call
//!   that would pass it is refused (`RESOURCE_EXHAUSTED`) and drops what it held; a message's
//!   bytes are given back once it is whole (tonic decodes it then);
//! - a body that stops for the stall timeout is ended (`DEADLINE_EXCEEDED`): a one-message
//!   call's anywhere before its end, a stream's in the middle of a message (between messages
//!   it may stay quiet).
//!
//! Through gRPC-Web, tonic-web turns these statuses into `INTERNAL` (it reports any error of the
//! body it translates so); plain gRPC callers see them as written.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Version, header};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Full};
use tonic::Status;

use crate::endpoint::BodyBudget;

/// The largest message a call may carry unless the gateway says otherwise: tonic's default.
#[cfg(test)]
pub(crate) const MAX_MESSAGE: usize = 4 * 1024 * 1024;

/// The path prefix of gRPC reflection, whose calls stream messages both ways; every other call
/// the gateway serves (the forwarded services, health) sends one message and ends its body.
const REFLECTION: &str = "/grpc.reflection.";

/// The gateway's rules for requests.
#[derive(Debug)]
pub(crate) struct Strictness {
    pub(crate) grpc_web: bool,
    pub(crate) budget: Arc<BodyBudget>,
    pub(crate) stall_timeout: Duration,
    /// The largest message a call may send.
    pub(crate) max_message: usize,
}

impl Strictness {
    /// The request with its body watched, or the answer that refuses it.
    pub(crate) fn admit<B>(
        self: &Arc<Self>,
        request: Request<B>,
    ) -> Result<Request<GuardedBody<B>>, Refusal> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let web = self.grpc_web && content_type.starts_with("application/grpc-web");
        let grpc = matches!(content_type, "application/grpc" | "application/grpc+proto");
        if !web && !grpc {
            return Err(Refusal::NotGrpc);
        }
        if grpc && request.version() < Version::HTTP_2 {
            return Err(Refusal::NotHttp2);
        }
        let unary = !request.uri().path().starts_with(REFLECTION);
        // gRPC-Web text bodies are base64: their messages are not read here.
        let framed = !content_type.starts_with("application/grpc-web-text");
        let rules = Arc::clone(self);
        Ok(request.map(|inner| GuardedBody {
            inner,
            rules,
            held: 0,
            messages: framed.then(MessageFrames::default),
            unary,
            stall: None,
            progress: 0,
            seen: 0,
            failed: false,
        }))
    }
}

/// Why a request was not let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a gRPC content type.
    NotGrpc,
    /// gRPC over HTTP/1.x.
    NotHttp2,
}

impl Refusal {
    /// The plain-text answer.
    pub(crate) fn response(self) -> Response<Full<Bytes>> {
        let (status, message) = match self {
            Refusal::NotGrpc => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "only gRPC calls (content type application/grpc or application/grpc+proto) are served here",
            ),
            Refusal::NotHttp2 => (
                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                "gRPC is served over HTTP/2",
            ),
        };
        let mut response = Response::new(Full::new(Bytes::from_static(message.as_bytes())));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
    }
}

/// The answer to a request: the refusal, or what the services answered.
pub(crate) type Answer<B> = Response<Either<B, Full<Bytes>>>;

/// Turns a refusal into an [`Answer`].
pub(crate) fn refused<B>(refusal: Refusal) -> Answer<B> {
    refusal.response().map(Either::Right)
}

/// Turns the services' response into an [`Answer`].
pub(crate) fn answered<B>(response: Response<B>) -> Answer<B> {
    response.map(Either::Left)
}

/// Where a body stands among gRPC's length-prefixed messages.
#[derive(Debug, Default)]
struct MessageFrames {
    /// Prefix bytes (flag, then a big-endian u32 length) of the next message read so far.
    prefix: [u8; 5],
    prefix_read: usize,
    /// Bytes of the current message still to come.
    remaining: usize,
    /// Messages started.
    started: usize,
    /// Whether a whole message arrived yet.
    whole: bool,
}

/// What the next bytes of a body broke.
enum Breach {
    TooLarge(usize),
    SecondMessage,
}

impl MessageFrames {
    /// Follows the messages through `chunk`.
    fn advance(&mut self, mut chunk: &[u8], unary: bool, max: usize) -> Result<(), Breach> {
        while !chunk.is_empty() {
            if self.remaining > 0 {
                let skipped = self.remaining.min(chunk.len());
                self.remaining -= skipped;
                chunk = &chunk[skipped..];
                self.whole |= self.remaining == 0;
                continue;
            }
            if self.prefix_read == 0 && unary && self.started == 1 {
                return Err(Breach::SecondMessage);
            }
            let taken = (5 - self.prefix_read).min(chunk.len());
            self.prefix[self.prefix_read..self.prefix_read + taken]
                .copy_from_slice(&chunk[..taken]);
            self.prefix_read += taken;
            chunk = &chunk[taken..];
            if self.prefix_read == 5 {
                self.prefix_read = 0;
                self.started += 1;
                let length = u32::from_be_bytes([
                    self.prefix[1],
                    self.prefix[2],
                    self.prefix[3],
                    self.prefix[4],
                ]) as usize;
                if length > max {
                    return Err(Breach::TooLarge(length));
                }
                self.remaining = length;
                self.whole |= length == 0;
            }
        }
        Ok(())
    }

    /// Whether the body is inside a message, or has not sent a whole one yet.
    fn mid_message(&self) -> bool {
        !self.whole || self.prefix_read > 0 || self.remaining > 0
    }
}

/// A request body on its way to tonic, held to the gateway's rules.
pub(crate) struct GuardedBody<B> {
    inner: B,
    rules: Arc<Strictness>,
    /// Bytes taken from the budget, given back when the body is dropped.
    held: usize,
    /// `None` for bodies whose messages are not read here (gRPC-Web text).
    messages: Option<MessageFrames>,
    unary: bool,
    /// Runs while a pause would be a stall; `seen` is `progress` (data frames received) when it
    /// was (re)armed.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    progress: usize,
    seen: usize,
    failed: bool,
}

impl<B> GuardedBody<B> {
    /// Whether a pause now is a stall: a one-message call's body anywhere before its end, a
    /// stream's inside a message (or before its first).
    fn must_progress(&self) -> bool {
        self.unary
            || self
                .messages
                .as_ref()
                .is_none_or(MessageFrames::mid_message)
    }

    /// Ends the body with `status`, which tonic answers the call with.
    fn fail(&mut self, status: Status) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = true;
        self.stall = None;
        Poll::Ready(Some(Err(Box::new(status))))
    }

    /// Whether the body has waited inside a message for the stall timeout.
    fn stalled(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.must_progress() {
            self.stall = None;
            return false;
        }
        let timeout = self.rules.stall_timeout;
        let timer = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        if self.seen != self.progress {
            self.seen = self.progress;
            timer.as_mut().reset(tokio::time::Instant::now() + timeout);
        }
        timer.as_mut().poll(cx).is_ready()
    }
}

impl<B> Drop for GuardedBody<B> {
    fn drop(&mut self) {
        self.rules.budget.release(self.held);
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                if this.stalled(cx) {
                    let timeout = this.rules.stall_timeout;
                    return this.fail(Status::deadline_exceeded(format!(
                        "the request body made no progress in the middle of a message for {timeout:?}"
                    )));
                }
                return Poll::Pending;
            }
            Poll::Ready(None) => {
                this.stall = None;
                return Poll::Ready(None);
            }
            Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        let Some(data) = frame.data_ref() else {
            return Poll::Ready(Some(Ok(frame)));
        };
        let unary = this.unary;
        if let Some(messages) = &mut this.messages {
            let max = this.rules.max_message;
            match messages.advance(data, unary, max) {
                Ok(()) => {}
                Err(Breach::TooLarge(length)) => {
                    return this.fail(Status::resource_exhausted(format!(
                        "a message of {length} bytes is larger than the {max} bytes this gateway accepts"
                    )));
                }
                Err(Breach::SecondMessage) => {
                    return this.fail(Status::internal(
                        "a unary call carried more than one request message",
                    ));
                }
            }
        }
        if !this.rules.budget.take(data.len()) {
            return this.fail(Status::resource_exhausted(
                "the gateway holds as many request bytes as its budget allows; retry later",
            ));
        }
        this.held += data.len();
        this.progress += 1;
        // Between messages, what came is decoded (or being decoded) by tonic: given back, so
        // that a long stream holds no more than the message it is in.
        if this
            .messages
            .as_ref()
            .is_some_and(|messages| !messages.mid_message())
        {
            this.rules.budget.release(this.held);
            this.held = 0;
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    /// The rules of a gateway serving `counter.Counter`, with `budget` bytes for all bodies.
    fn rules(budget: usize) -> Arc<Strictness> {
        Arc::new(Strictness {
            grpc_web: false,
            budget: Arc::new(BodyBudget::new(budget)),
            stall_timeout: Duration::from_secs(5),
            max_message: MAX_MESSAGE,
        })
    }

    /// A gRPC request over HTTP/2 to `counter.Counter/Add` whose body is what `sender` sends,
    /// open until it is dropped.
    fn call(
        rules: &Arc<Strictness>,
    ) -> (
        futures::channel::mpsc::UnboundedSender<Bytes>,
        GuardedBody<impl Body<Data = Bytes, Error = Infallible> + Unpin>,
    ) {
        call_to(rules, "/counter.Counter/Add")
    }

    /// The same to `path`.
    fn call_to(
        rules: &Arc<Strictness>,
        path: &str,
    ) -> (
        futures::channel::mpsc::UnboundedSender<Bytes>,
        GuardedBody<impl Body<Data = Bytes, Error = Infallible> + Unpin>,
    ) {
        let (sender, receiver) = futures::channel::mpsc::unbounded::<Bytes>();
        let body = StreamBody::new(receiver.map(|chunk| Ok::<_, Infallible>(Frame::data(chunk))));
        let request = Request::post(path)
            .version(Version::HTTP_2)
            .header("content-type", "application/grpc")
            .body(body)
            .unwrap();
        let admitted = rules.admit(request).expect("a gRPC call is admitted");
        (sender, admitted.into_body())
    }

    /// The gRPC status a body ended with, if it ended with one.
    async fn status_of(body: &mut (impl Body<Error = BoxError> + Unpin)) -> Option<tonic::Code> {
        loop {
            match body.frame().await {
                Some(Ok(_)) => continue,
                Some(Err(error)) => return error.downcast_ref::<Status>().map(Status::code),
                None => return None,
            }
        }
    }

    #[tokio::test]
    async fn stalled_calls_hold_no_more_than_the_budget_and_give_it_back() {
        const BUDGET: usize = 3 * 1024 * 1024;
        let rules = rules(BUDGET);
        let mut calls = Vec::new();
        let mut refused = 0;
        // Forty calls announce a 4 MiB message, send 1 MiB of it, and stall.
        for _ in 0..40 {
            let (sender, mut body) = call(&rules);
            let mut prefix = vec![0u8];
            prefix.extend_from_slice(&(4u32 << 20).to_be_bytes());
            sender.unbounded_send(Bytes::from(prefix)).unwrap();
            sender
                .unbounded_send(Bytes::from(vec![0u8; 1 << 20]))
                .unwrap();
            let mut ended = None;
            for _ in 0..2 {
                match body.frame().await {
                    Some(Ok(_)) => {}
                    Some(Err(error)) => {
                        ended = error.downcast_ref::<Status>().map(Status::code);
                        break;
                    }
                    None => break,
                }
            }
            if ended == Some(tonic::Code::ResourceExhausted) {
                refused += 1;
            }
            assert!(rules.budget.held() <= BUDGET);
            calls.push((sender, body));
        }
        assert_eq!(
            refused,
            40 - 2,
            "two calls of 1 MiB and 5 bytes fit in 3 MiB"
        );
        drop(calls);
        assert_eq!(rules.budget.held(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_stalled_before_or_inside_its_message_ends_after_the_timeout() {
        let rules = rules(1 << 20);
        for opening in [&[][..], &[0, 0, 0][..], &[0, 0, 0, 0, 9, 1, 2][..]] {
            let (sender, mut body) = call(&rules);
            if !opening.is_empty() {
                sender
                    .unbounded_send(Bytes::copy_from_slice(opening))
                    .unwrap();
            }
            let status = tokio::time::timeout(Duration::from_secs(60), status_of(&mut body))
                .await
                .expect("the body ends");
            assert_eq!(status, Some(tonic::Code::DeadlineExceeded), "{opening:?}");
            drop(sender);
        }
        // A whole message and no end: a unary call must end its body, a stream need not.
        let (sender, mut body) = call(&rules);
        sender
            .unbounded_send(Bytes::from_static(&[0, 0, 0, 0, 1, 7]))
            .unwrap();
        assert!(body.frame().await.is_some());
        let status = tokio::time::timeout(Duration::from_secs(60), status_of(&mut body))
            .await
            .expect("the body ends");
        assert_eq!(status, Some(tonic::Code::DeadlineExceeded), "unary");
        drop(sender);
        let reflection = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
        let (sender, mut body) = call_to(&rules, reflection);
        sender
            .unbounded_send(Bytes::from_static(&[0, 0, 0, 0, 1, 7]))
            .unwrap();
        assert!(body.frame().await.is_some());
        let waited = tokio::time::timeout(Duration::from_secs(60), body.frame()).await;
        assert!(waited.is_err(), "a stream between messages is no stall");
        assert_eq!(
            rules.budget.held(),
            0,
            "a whole message's bytes are given back"
        );
        drop(sender);
    }

    #[test]
    fn only_grpc_over_http2_is_admitted() {
        let rules = rules(1 << 20);
        let request = |version, content_type: &str| {
            Request::post("/counter.Counter/Get")
                .version(version)
                .header("content-type", content_type)
                .body(Full::new(Bytes::new()))
                .unwrap()
        };
        let refused = |version, content_type| {
            rules
                .admit(request(version, content_type))
                .err()
                .map(|refusal| refusal.response().status())
        };
        assert_eq!(refused(Version::HTTP_2, "application/grpc"), None);
        assert_eq!(refused(Version::HTTP_2, "application/grpc+proto"), None);
        assert_eq!(
            refused(Version::HTTP_2, "application/json"),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            refused(Version::HTTP_11, "text/plain"),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            refused(Version::HTTP_11, "application/grpc"),
            Some(StatusCode::HTTP_VERSION_NOT_SUPPORTED)
        );
        // gRPC-Web only where it is switched on.
        assert_eq!(
            refused(Version::HTTP_11, "application/grpc-web+proto"),
            Some(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
    }

    fn message(length: u32) -> Vec<u8> {
        let mut message = vec![0];
        message.extend_from_slice(&length.to_be_bytes());
        message.extend(std::iter::repeat_n(1u8, length as usize));
        message
    }

    #[test]
    fn one_message_in_any_chunks_passes_and_a_second_is_refused() {
        let bytes = message(300);
        for cut in [1, 3, 5, 7, 100, 305] {
            let mut frames = MessageFrames::default();
            for chunk in bytes.chunks(cut) {
                assert!(frames.advance(chunk, true, MAX_MESSAGE).is_ok());
            }
            assert!(!frames.mid_message());
            assert!(matches!(
                frames.advance(&message(1), true, MAX_MESSAGE),
                Err(Breach::SecondMessage)
            ));
        }
        // A stream may carry many.
        let mut frames = MessageFrames::default();
        for _ in 0..3 {
            assert!(frames.advance(&message(10), false, MAX_MESSAGE).is_ok());
        }
    }

    #[test]
    fn an_oversize_message_is_refused_from_its_prefix() {
        let mut frames = MessageFrames::default();
        let prefix = [0, 0x7f, 0xff, 0xff, 0xff];
        assert!(matches!(
            frames.advance(&prefix, true, MAX_MESSAGE),
            Err(Breach::TooLarge(length)) if length == 0x7fff_ffff
        ));
    }
}
