//! A lighter HTTP/1 path for a connection that opens with a long-lived stream (issue 16, P3:
//! at most 10 KB of server memory per idle SSE observer).
//!
//! hyper's HTTP/1 server keeps an 8 KiB read buffer and an 8 KiB write buffer for a
//! connection's whole life (`max_buf_size` cannot go below 8192): most of what an idle observer
//! costs. When a plain-TCP connection's first request is a stream (`GET`, a path
//! [`crate::sse::is_stream`] names, HTTP/1.1, no body, no upgrade) and its whole head arrived in the first
//! read, this path answers it itself:
//!
//! - the head is parsed with httparse from a buffer on the stack of one poll;
//! - the request goes through the same router as every other (authentication, access checks,
//!   stream caps, metrics, the access log);
//! - the response is written straight to the socket, chunked: what the body has ready at once
//!   goes out in one write (the head with a replay's frames, a terminal frame with the body's
//!   end).
//!
//! When the response is over the connection waits for its next request the same way, holding
//! no buffer (keep-alive), unless either side asked to close: a stream is served here again,
//! anything else goes on to hyper from its first byte. Everything else (TLS, another method or
//! path, a head split over reads, a request body) is hyper's from the first byte: this path
//! only peeks until it decides.

use std::future::poll_fn;
use std::io::{self, Write as _};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::SystemTime;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version, header};
use http_body::Body as _;
use tokio::io::{AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::ReadHalf;
use tokio_util::sync::CancellationToken;

use super::service::{Shared, route};
use super::timers::ConnClock;
use crate::sse::is_stream;

/// The largest head this path parses (bytes); a longer one goes to hyper.
const MAX_HEAD: usize = 4096;

/// The most header fields this path parses; more go to hyper.
const MAX_HEADERS: usize = 48;

/// Serves `tcp`'s requests for as long as each is a stream this path takes (see the module
/// doc), and gives back the connection for hyper to serve from where it is: from its first
/// byte when this path took none of its requests, else from the first request it did not
/// take. `None`: the connection is to close (either side asked to, the client went away, or
/// `shutdown` was cancelled while it waited for a request's first byte). `clock` counts each
/// request as in flight from its parsed head to its response's end.
pub(super) async fn serve_first(
    shared: &Shared,
    clock: &Arc<ConnClock>,
    shutdown: &CancellationToken,
    mut tcp: TcpStream,
    peer: IpAddr,
) -> Option<TcpStream> {
    loop {
        let head = tokio::select! {
            head = poll_fn(|cx| take_head(&tcp, cx)) => head,
            () = shutdown.cancelled() => return None,
        };
        let mut request = match head {
            Head::Stream(request) => request,
            Head::Other => return Some(tcp),
            Head::Gone => return None,
        };
        let in_flight = clock.request_started();
        let client = shared.proxies.client_addr(peer, request.headers());
        request.extensions_mut().insert(client);
        let close = wants_close(request.headers());
        let response = route(shared.router.clone(), request).await;
        let close = close || wants_close(response.headers());
        let served = respond(&mut tcp, response).await;
        drop(in_flight);
        if served.is_err() || close {
            return None;
        }
    }
}

/// What a connection's first bytes held.
#[allow(clippy::large_enum_variant)] // returned once per connection, never stored
enum Head {
    /// A stream this path takes; its head has been read off the socket.
    Stream(Request<Body>),
    /// Anything else; nothing has been read.
    Other,
    /// The client closed, or the socket failed.
    Gone,
}

/// Waits for the connection's first bytes and, when they start with a stream this path takes,
/// reads exactly its head. The bytes go through a buffer on the stack of one poll, so a
/// connection waiting for its first request holds none (a heap buffer freed between polls
/// leaves holes among the long-lived streams' memory that the allocator cannot give back: P7).
fn take_head(tcp: &TcpStream, cx: &mut Context<'_>) -> Poll<Head> {
    let mut buf = [0u8; MAX_HEAD];
    let mut peeked = ReadBuf::new(&mut buf);
    match ready!(tcp.poll_peek(cx, &mut peeked)) {
        Ok(0) | Err(_) => return Poll::Ready(Head::Gone),
        Ok(_) => {}
    }
    let Some((len, request)) = parse(peeked.filled()) else { return Poll::Ready(Head::Other) };
    // The head is in the socket's receive buffer already: these reads do not wait.
    let mut read = 0;
    while read < len {
        match tcp.try_read(&mut buf[read..len]) {
            Ok(0) | Err(_) => return Poll::Ready(Head::Gone),
            Ok(n) => read += n,
        }
    }
    Poll::Ready(Head::Stream(request))
}

/// The request, and its head's length in bytes, when `bytes` start with a whole head this path
/// takes; `None` sends the connection to hyper (which also gives a malformed head its 400).
fn parse(bytes: &[u8]) -> Option<(usize, Request<Body>)> {
    // Most connections open with something else (a create, a list): those skip the parse.
    if !bytes.starts_with(b"GET /") {
        return None;
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut head = httparse::Request::new(&mut fields);
    let httparse::Status::Complete(len) = head.parse(bytes).ok()? else { return None };
    let target = head.path?;
    let path = target.split('?').next().unwrap_or(target);
    if head.method? != "GET" || head.version? != 1 || !is_stream(path) {
        return None;
    }
    let mut headers = HeaderMap::with_capacity(head.headers.len());
    for field in head.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let value = HeaderValue::from_bytes(field.value).ok()?;
        let takes_a_body_or_more = if name == header::CONTENT_LENGTH {
            value.as_bytes() != b"0"
        } else {
            name == header::TRANSFER_ENCODING || name == header::EXPECT || name == header::UPGRADE
        };
        if takes_a_body_or_more {
            return None;
        }
        headers.append(name, value);
    }
    let mut request = Request::new(Body::empty());
    *request.method_mut() = Method::GET;
    *request.uri_mut() = Uri::try_from(target).ok()?;
    *request.version_mut() = Version::HTTP_11;
    *request.headers_mut() = headers;
    Some((len, request))
}

/// Whether `headers` carry `Connection: close`.
fn wants_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|token| token.trim().eq_ignore_ascii_case("close")))
}

/// Writes `response`: its head, then its body (with `Content-Length` when its size is known,
/// else chunked) until the body ends. What the body has ready goes out in one write with what
/// comes before it ([`take_ready`]): the head with the frames a stream replays at once, the
/// last frame with the end of the chunked body. Errors: the socket's, or the body's (the
/// connection then closes, as hyper does, so the client sees a cut response and not a complete
/// one).
async fn respond(tcp: &mut TcpStream, response: Response<Body>) -> io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let length = body.size_hint().exact();
    let chunked = length.is_none();
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(parts.status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(parts.status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        if name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            push_field(&mut out, name.as_str(), value.as_bytes());
        }
    }
    // The `Date` field is the wall clock by definition (RFC 9110 §6.6.1), as in hyper's answers.
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now();
    push_field(&mut out, "date", httpdate::fmt_http_date(now).as_bytes());
    match length {
        Some(n) => push_field(&mut out, "content-length", n.to_string().as_bytes()),
        None => push_field(&mut out, "transfer-encoding", b"chunked"),
    }
    out.extend_from_slice(b"\r\n");
    let (mut reader, mut writer) = tcp.split();
    let mut watch_reads = true;
    let mut ended = false;
    loop {
        if !ended {
            ended = poll_fn(|cx| Poll::Ready(take_ready(&mut body, cx, &mut out, chunked))).await?;
        }
        writer.write_all(&out).await?;
        if ended {
            return Ok(());
        }
        // Nothing is ready: wait for the next frame, or for the client to go away, holding no
        // buffer (an idle stream's memory is P3's target; a replay's may have been 64 KiB).
        out = Vec::new();
        let frame = loop {
            // Made outside `select!`: inside it, `Pin` resolved only through the macro's own imports.
            let next_frame = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
            tokio::select! {
                frame = next_frame => break frame,
                gone = client_gone(&mut reader), if watch_reads => {
                    if gone {
                        return Err(io::ErrorKind::ConnectionAborted.into());
                    }
                    // The client sent its next request already: it is read after this response.
                    watch_reads = false;
                }
            }
        };
        ended = push_frame(&mut out, frame, chunked)?;
    }
}

/// The end of a chunked body: its last, empty chunk.
const END: &[u8] = b"0\r\n\r\n";

/// At most this many bytes (give or take a frame) are gathered into one write.
const MAX_WRITE: usize = 64 << 10;

/// Appends to `out` the frames `body` has ready now (without waiting) while `out` holds under
/// [`MAX_WRITE`] bytes, each by [`push_frame`]; whether the body ended. A `Pending` poll leaves
/// `cx`'s waker registered, as any poll does. Errors: the body's.
fn take_ready(body: &mut Body, cx: &mut Context<'_>, out: &mut Vec<u8>, chunked: bool) -> io::Result<bool> {
    while out.len() < MAX_WRITE {
        let Poll::Ready(frame) = Pin::new(&mut *body).poll_frame(cx) else { return Ok(false) };
        if push_frame(out, frame, chunked)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Appends what the body gave to `out`: a data frame's bytes (as a chunk when `chunked`, as
/// they are otherwise; trailers and empty frames add nothing, as an empty chunk would end the
/// body), or at its end (`None`) the end of a chunked body. Whether the body ended. Errors: the
/// body's.
fn push_frame(
    out: &mut Vec<u8>,
    frame: Option<Result<http_body::Frame<axum::body::Bytes>, axum::Error>>,
    chunked: bool,
) -> io::Result<bool> {
    let Some(frame) = frame else {
        if chunked {
            out.extend_from_slice(END);
        }
        return Ok(true);
    };
    let Ok(data) = frame.map_err(io::Error::other)?.into_data() else { return Ok(false) };
    if data.is_empty() {
        return Ok(false);
    }
    if chunked {
        // Writing to a `Vec` cannot fail.
        let _ = write!(out, "{:x}\r\n", data.len());
        out.extend_from_slice(&data);
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(&data);
    }
    Ok(false)
}

/// `name: value\r\n` onto `head`.
fn push_field(head: &mut Vec<u8>, name: &str, value: &[u8]) {
    head.extend_from_slice(name.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(value);
    head.extend_from_slice(b"\r\n");
}

/// Resolves when the client's side has something to say: `true` when it closed (or the socket
/// failed), `false` when bytes of a next request arrived (left unread, for hyper).
async fn client_gone(reader: &mut ReadHalf<'_>) -> bool {
    let mut probe = [0u8; 1];
    !matches!(reader.peek(&mut probe).await, Ok(n) if n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(head: &str) -> Option<(usize, Request<Body>)> {
        parse(head.as_bytes())
    }

    #[test]
    fn a_whole_stream_head_is_taken_with_its_length_and_headers() {
        let head = "GET /v1/intents/abc/events/stream?since=2&wait_seconds=5 HTTP/1.1\r\n\
                    Host: axp\r\nAuthorization: Bearer k\r\nx-api-key: k\r\nx-api-key: k2\r\n\r\n";
        let (len, request) = parsed(&format!("{head}GET /health HTTP/1.1\r\n")).expect("taken");
        assert_eq!(len, head.len());
        assert_eq!(request.uri().path(), "/v1/intents/abc/events/stream");
        assert_eq!(request.uri().query(), Some("since=2&wait_seconds=5"));
        assert_eq!(request.headers()["authorization"], "Bearer k");
        assert_eq!(request.headers().get_all("x-api-key").iter().count(), 2);
        assert_eq!(request.version(), Version::HTTP_11);
        assert!(
            parsed("GET /v1/agents/a%2Fb/intents/stream HTTP/1.1\r\nContent-Length: 0\r\n\r\n").is_some()
        );
    }

    #[test]
    fn anything_else_goes_to_hyper() {
        for head in [
            // Not a stream, another method, HTTP/1.0, a query that only mentions the suffix.
            "GET /v1/intents/abc/events HTTP/1.1\r\n\r\n",
            "POST /v1/intents/abc/events/stream HTTP/1.1\r\n\r\n",
            "HEAD /v1/intents/abc/events/stream HTTP/1.1\r\n\r\n",
            "GET /v1/intents/abc/events/stream HTTP/1.0\r\n\r\n",
            "GET /v1/intents?x=/stream HTTP/1.1\r\n\r\n",
            // A body, an upgrade, an expectation.
            "GET /a/stream HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "GET /a/stream HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET /a/stream HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            "GET /a/stream HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            // A head not complete yet, a malformed one, an absolute-form target.
            "GET /a/stream HTTP/1.1\r\nHost: axp\r\n",
            "GET /a/stream HTTP/1.1\r\nBad Header: x\r\n\r\n",
            "GET http://axp/a/stream HTTP/1.1\r\n\r\n",
        ] {
            assert!(parsed(head).is_none(), "{head:?}");
        }
        let many: String = (0..MAX_HEADERS + 1).map(|i| format!("x-{i}: v\r\n")).collect();
        assert!(parsed(&format!("GET /a/stream HTTP/1.1\r\n{many}\r\n")).is_none());
    }

    /// What [`take_ready`] gathers from `chunks` (then the body ends, or stays pending
    /// when `then_pending`), and whether it said the body ended.
    fn gathered(chunks: &[&'static str], then_pending: bool, chunked: bool) -> (String, bool) {
        use futures::StreamExt as _;
        let chunks: Vec<_> = chunks.iter().map(|c| Ok::<_, std::convert::Infallible>(*c)).collect();
        let ready = futures::stream::iter(chunks);
        let mut body = if then_pending {
            Body::from_stream(ready.chain(futures::stream::pending()))
        } else {
            Body::from_stream(ready)
        };
        let mut out = b"head\r\n".to_vec();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let ended = take_ready(&mut body, &mut cx, &mut out, chunked).expect("no body error");
        (String::from_utf8(out).expect("text"), ended)
    }

    #[test]
    fn what_the_body_has_ready_goes_out_in_one_write_with_the_end() {
        // A terminal frame and the end of the chunked body, after the head: one write.
        let (out, ended) = gathered(&["data: a\n\n", "", "data: bc\n\n"], false, true);
        assert_eq!(out, "head\r\n9\r\ndata: a\n\n\r\na\r\ndata: bc\n\n\r\n0\r\n\r\n");
        assert!(ended);
        // A body still waiting for its next frame: the ready ones, no end.
        let (out, ended) = gathered(&["data: a\n\n"], true, true);
        assert_eq!(out, "head\r\n9\r\ndata: a\n\n\r\n");
        assert!(!ended);
        // With a known length the bytes go as they are.
        let (out, ended) = gathered(&["{\"a\":", "1}"], false, false);
        assert_eq!(out, "head\r\n{\"a\":1}");
        assert!(ended);
    }

    #[test]
    fn one_write_gathers_up_to_its_bound() {
        let frame: &'static str = "x".repeat(16 << 10).leak();
        let (out, ended) = gathered(&[frame; 10], false, true);
        assert!(!ended, "the rest waits for the next write");
        assert!(out.len() >= MAX_WRITE && out.len() < MAX_WRITE + frame.len() + 16, "{} bytes", out.len());
    }

    #[test]
    fn connection_close_is_read_from_any_of_its_tokens() {
        let mut headers = HeaderMap::new();
        assert!(!wants_close(&headers));
        headers.append(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!wants_close(&headers));
        headers.append(header::CONNECTION, HeaderValue::from_static("foo, Close"));
        assert!(wants_close(&headers));
    }
}
