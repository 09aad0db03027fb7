//! One accepted connection: waited on until the client announces its protocol, served by
//! hyper, and closed when it has been idle too long or the server stops.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
// Tokio's clock, as the timers that read it: a paused clock in a test moves both alike.
use tokio::time::Instant;

/// The first bytes of every HTTP/2 connection.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a connection's task needs besides its stream.
pub(super) struct ConnectionSettings<S> {
    pub(super) builder: auto::Builder<TokioExecutor>,
    pub(super) service: S,
    /// How long the client may take to send its first bytes.
    pub(super) first_bytes_timeout: Duration,
    /// How long the connection may stay open with no request in flight.
    pub(super) idle_timeout: Duration,
    /// Turns `true` when the server stops.
    pub(super) stopping: watch::Receiver<bool>,
}

/// Serves one connection to its end, holding `slot` (its place among the connections served
/// at once) until then.
pub(super) async fn serve_connection<S, B>(
    stream: TcpStream,
    remote: SocketAddr,
    settings: ConnectionSettings<S>,
    slot: OwnedSemaphorePermit,
) where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _slot = slot;
    let ConnectionSettings {
        builder,
        service,
        first_bytes_timeout,
        idle_timeout,
        mut stopping,
    } = settings;
    // Before hyper tells HTTP/1.1 from HTTP/2 it waits without a timer: a client that sends
    // nothing would hold its slot for good.
    tokio::select! {
        // A request already on its way is served (and then closed gracefully), not cut off.
        biased;
        announced = protocol_announced(&stream, first_bytes_timeout) => if !announced {
            tracing::debug!(%remote, "closing a connection that sent no request");
            return;
        },
        _ = stopping.wait_for(|stopping| *stopping) => return,
    }
    let activity = Arc::new(Activity::new());
    let service = Tracked {
        inner: service,
        activity: Arc::clone(&activity),
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    let mut connection = std::pin::pin!(connection);
    let idle_check = tokio::time::sleep(idle_timeout);
    let mut idle_check = std::pin::pin!(idle_check);
    let mut closing = false;
    loop {
        tokio::select! {
            // The connection first: hyper reads what arrived before it is asked to close.
            biased;
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%remote, %error, "connection ended with an error");
                }
                return;
            }
            () = idle_check.as_mut(), if !closing => match activity.idle_since() {
                Some(since) if since.elapsed() >= idle_timeout => {
                    tracing::debug!(%remote, "closing an idle connection");
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                since => {
                    let from = since.unwrap_or_else(Instant::now);
                    idle_check.as_mut().reset(from + idle_timeout);
                }
            },
            _ = stopping.wait_for(|stopping| *stopping), if !closing => {
                // In-flight requests finish; HTTP/2 clients get a GOAWAY.
                connection.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// Whether the client sent, within `within`, enough of its first bytes to tell HTTP/1.1 from
/// HTTP/2 (whose connections open with a 24-byte preface); `false` when it closed or stalled.
async fn protocol_announced(stream: &TcpStream, within: Duration) -> bool {
    let first_bytes = async {
        let mut buffer = [0u8; HTTP2_PREFACE.len()];
        let mut pause = Duration::from_millis(5);
        loop {
            let read = stream.peek(&mut buffer).await.ok()?;
            if read == 0 {
                return None;
            }
            if read == HTTP2_PREFACE.len() || buffer[..read] != HTTP2_PREFACE[..read] {
                return Some(());
            }
            // Part of an HTTP/2 preface: the rest is on its way (or never comes). Peeking
            // sees the same bytes until more arrive, so wait, longer each time.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    };
    matches!(
        tokio::time::timeout(within, first_bytes).await,
        Ok(Some(()))
    )
}

/// How many requests of a connection are in flight (a response counts until its body is
/// done), and since when none has been.
#[derive(Debug)]
struct Activity {
    epoch: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds from `epoch` to the end of the last request.
    idle_from: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            idle_from: AtomicU64::new(0),
        }
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(self))
    }

    /// When the connection went idle; `None` while a request is in flight.
    fn idle_since(&self) -> Option<Instant> {
        (self.in_flight.load(Ordering::SeqCst) == 0)
            .then(|| self.epoch + Duration::from_millis(self.idle_from.load(Ordering::SeqCst)))
    }
}

/// A request in flight, until dropped with its response body.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = u64::try_from(self.0.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        // Recorded before the count drops, so whoever sees no request in flight sees this end.
        self.0.idle_from.fetch_max(now, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A service whose requests are counted in an [`Activity`] until their responses end.
#[derive(Debug, Clone)]
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S, R, B> hyper::service::Service<R> for Tracked<S>
where
    S: hyper::service::Service<R, Response = hyper::Response<B>>,
{
    type Response = hyper::Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: R) -> Self::Future {
        TrackedFuture {
            in_flight: Some(self.activity.begin()),
            inner: self.inner.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response on its way, counted as in flight.
    struct TrackedFuture<F> {
        #[pin]
        inner: F,
        in_flight: Option<InFlight>,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<hyper::Response<B>, E>>,
{
    type Output = Result<hyper::Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let in_flight = this.in_flight.take();
        Poll::Ready(result.map(|response| {
            response.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// A response body, counted as in flight until hyper drops it.
    struct TrackedBody<B> {
        #[pin]
        inner: B,
        _in_flight: Option<InFlight>,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http_body_util::{Empty, Full};
    use hyper::service::Service as _;

    use super::*;

    #[tokio::test]
    async fn a_response_is_in_flight_until_its_body_is_dropped() {
        let activity = Arc::new(Activity::new());
        let service = Tracked {
            inner: hyper::service::service_fn(|_: hyper::Request<Empty<Bytes>>| async {
                Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(b"x"))))
            }),
            activity: Arc::clone(&activity),
        };
        assert!(activity.idle_since().is_some(), "a new connection is idle");

        let pending = service.call(hyper::Request::new(Empty::new()));
        assert_eq!(activity.idle_since(), None, "a request is on its way");
        let response = pending.await.unwrap();
        assert_eq!(activity.idle_since(), None, "its body is still being sent");
        let second = service
            .call(hyper::Request::new(Empty::new()))
            .await
            .unwrap();
        drop(response);
        assert_eq!(activity.idle_since(), None, "another response is in flight");
        drop(second);
        assert!(activity.idle_since().is_some(), "every response is done");
    }
}
