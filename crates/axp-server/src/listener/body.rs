//! Request and response bodies as the listener hands them on: a whole-body read deadline on the
//! way in (issue 12: "a slow request body ... was held for more than 45 s"), what a handler left
//! unread of it (drained before the answer goes out), the in-flight mark on the way out.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axp_core::error::{ErrorBody, ErrorCode};
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::timers::InFlight;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Slowest upload rate a media byte upload is given time for: 256 KiB/s.
const UPLOAD_MIN_BYTES_PER_SECOND: u64 = 256 * 1024;

/// The body read deadline of a request, from its start: `base` for every request, and for a
/// media byte upload (`PUT /v1/media/upload/…`) `base` plus one second per
/// [`UPLOAD_MIN_BYTES_PER_SECOND`] of its `Content-Length`, or of `media_max` when it sends
/// none (chunked); a length past `media_max` gets only `base` (it is refused with 413 anyway).
/// So a 100 MiB upload gets 15 s + 400 s, while every other body keeps the short deadline.
pub(super) fn upload_deadline(
    method: &axum::http::Method,
    path: &str,
    headers: &axum::http::HeaderMap,
    base: Duration,
    media_max: u64,
) -> Duration {
    if method != axum::http::Method::PUT || !path.starts_with("/v1/media/upload/") {
        return base;
    }
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let bytes = declared.unwrap_or(media_max);
    if bytes > media_max {
        return base;
    }
    base + Duration::from_secs(bytes.div_ceil(UPLOAD_MIN_BYTES_PER_SECOND))
}

/// A request body that fails once `deadline` passes before its end. `tripped` tells the
/// service, which then answers [`timed_out`] whatever the handler made of the failed read.
///
/// Dropped before its end (a handler that answered without reading it: a 401, a 404 on the
/// path, a refusal at admission), it leaves the rest in `unread` for [`drain_unread`]: hyper
/// closes a connection whose request body is unread when the next request comes, so a client
/// reusing it would see a disconnect instead of an answer.
pub(super) struct DeadlineBody<B: Body> {
    inner: Option<B>,
    deadline: Instant,
    /// Armed on the first read that has to wait (a body that is already here needs no timer).
    sleep: Option<Pin<Box<Sleep>>>,
    tripped: Arc<AtomicBool>,
    unread: Unread<B>,
}

/// Where a [`DeadlineBody`] dropped before its end leaves the rest of the body.
pub(super) type Unread<B> = Arc<Mutex<Option<B>>>;

impl<B: Body> DeadlineBody<B> {
    pub(super) fn new(inner: B, deadline: Instant, tripped: Arc<AtomicBool>, unread: Unread<B>) -> Self {
        Self { inner: Some(inner), deadline, sleep: None, tripped, unread }
    }
}

impl<B: Body> Drop for DeadlineBody<B> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take().filter(|b| !b.is_end_stream()) {
            *self.unread.lock().unwrap_or_else(PoisonError::into_inner) = Some(inner);
        }
    }
}

/// Reads and drops what a handler left of its request body (see [`DeadlineBody`]): at most
/// `max` bytes, until the body's `deadline`. Run beside the answer, not before it (hyper writes
/// the response while it still reads the body), so a client that waits for the answer before
/// sending its body is not held up. A body that is longer or later is dropped, and hyper then
/// closes the connection.
pub(super) async fn drain_unread<B>(unread: Unread<B>, max: usize, deadline: Instant)
where
    B: Body<Data = Bytes> + Unpin,
{
    let Some(mut body) = unread.lock().unwrap_or_else(PoisonError::into_inner).take() else {
        return;
    };
    let mut left = max;
    let read = async {
        while let Some(Ok(frame)) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            let n = frame.data_ref().map_or(0, Bytes::len);
            left = left.saturating_sub(n);
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout_at(deadline, read).await;
}

/// The error a read past the body deadline gets.
#[derive(Debug)]
struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body was not received in time")
    }
}

impl std::error::Error for BodyTimedOut {}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Poll::Ready(frame) = Pin::new(inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let sleep = self.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        ready!(sleep.as_mut().poll(cx));
        self.tripped.store(true, Ordering::Release);
        Poll::Ready(Some(Err(Box::new(BodyTimedOut))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.as_ref().map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

/// 408 with the envelope (code `bad_request`) and `Connection: close`: what a request whose
/// body missed its deadline gets.
pub(super) fn timed_out(limit: Duration) -> Response {
    let message = format!("the request body was not received within {} s", limit.as_secs());
    let body = serde_json::to_vec(&ErrorBody::new(ErrorCode::BadRequest, message)).unwrap_or_default();
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A response body that keeps its request counted as in flight until hyper drops it.
pub(super) struct Tracked<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub(super) fn new(inner: B, in_flight: InFlight) -> Self {
        Self { inner, _in_flight: in_flight }
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
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
    use axum::http::{HeaderMap, HeaderValue, Method};

    use super::*;

    #[test]
    fn only_media_uploads_get_a_deadline_scaled_to_their_size() {
        let base = Duration::from_secs(15);
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("104857600"));
        let max = 100 << 20;
        let up = "/v1/media/upload/x";
        assert_eq!(upload_deadline(&Method::PUT, up, &headers, base, max), Duration::from_secs(415));
        assert_eq!(upload_deadline(&Method::POST, "/v1/intents", &headers, base, max), base);
        assert_eq!(upload_deadline(&Method::PUT, up, &headers, base, max - 1), base);
        assert_eq!(
            upload_deadline(&Method::PUT, up, &HeaderMap::new(), base, 1 << 20),
            Duration::from_secs(19)
        );
    }
}
