//! A minimal HTTP/1.1 client over one keep-alive TCP connection.
//!
//! Load generation on a 2-core machine shares the CPU with the server under test, so the client
//! must cost as little as possible: requests are pre-rendered bytes, responses are parsed just
//! enough to find the status, the body length (`content-length` or chunked) and the body.
//! [`SseStream`] reads a streaming (chunked) response frame by frame and stamps each frame with
//! the instant its last byte was read.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Renders one request. `headers` are written as given; `content-length` is added when there
/// is a body (or the method is POST).
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(128 + body.len());
    out.extend_from_slice(method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || method == "POST" {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A JSON POST with an API key and optional extra headers.
pub fn post_json(path: &str, key: &str, extra: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut headers = vec![("x-api-key", key), ("content-type", "application/json")];
    headers.extend_from_slice(extra);
    request("POST", path, &headers, body)
}

/// A GET with an API key (empty key: none).
pub fn get(path: &str, key: &str) -> Vec<u8> {
    if key.is_empty() {
        request("GET", path, &[], b"")
    } else {
        request("GET", path, &[("x-api-key", key)], b"")
    }
}

/// A complete response.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The header block, as received (without the status line).
    pub head: String,
    /// The (de-chunked) body.
    pub body: Vec<u8>,
    /// When the last byte of the response was read.
    pub at: Instant,
}

impl Response {
    /// The first header called `name` (case-insensitive), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        header_in(&self.head, name)
    }

    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn header_in<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.split("\r\n").find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The parsed status line and headers of a response.
#[derive(Debug, Clone)]
pub struct Head {
    /// HTTP status code.
    pub status: u16,
    /// Header block without the status line.
    pub head: String,
    /// `content-length`, when given.
    pub content_length: Option<usize>,
    /// `transfer-encoding: chunked`.
    pub chunked: bool,
    /// The server will close the connection after this response.
    pub close: bool,
}

/// One keep-alive connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Set when the server said `connection: close` or the connection failed.
    pub closed: bool,
}

/// Most bytes accepted in a response head or body (a safety bound, not a protocol limit).
const MAX_RESPONSE: usize = 64 * 1024 * 1024;

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Conn {
    /// Connects with `TCP_NODELAY`.
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buf: Vec::with_capacity(1024), closed: false })
    }

    /// Connects, retrying refused connections for up to `within` (a restarting server).
    pub async fn connect_retry(addr: SocketAddr, within: Duration) -> io::Result<Self> {
        let deadline = Instant::now() + within;
        loop {
            match Self::connect(addr).await {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    /// The local port of the connection (for matching it in `ss` output).
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// Writes raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let r = self.stream.write_all(bytes).await;
        if r.is_err() {
            self.closed = true;
        }
        r
    }

    /// Sends a pre-rendered request and reads the whole response.
    pub async fn send(&mut self, request: &[u8]) -> io::Result<Response> {
        self.write(request).await?;
        self.read_response().await
    }

    async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.len() > MAX_RESPONSE {
            return Err(bad("response too large"));
        }
        self.buf.reserve(4096);
        let n = self.stream.read_buf(&mut self.buf).await?;
        if n == 0 {
            self.closed = true;
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed by the server"));
        }
        Ok(n)
    }

    /// Reads a status line and headers.
    pub async fn read_head(&mut self) -> io::Result<Head> {
        let mut searched: usize = 0;
        let end = loop {
            if let Some(p) = find(&self.buf[searched.saturating_sub(3)..], b"\r\n\r\n") {
                break searched.saturating_sub(3) + p;
            }
            searched = self.buf.len();
            if let Err(e) = self.fill().await {
                self.closed = true;
                return Err(e);
            }
        };
        let raw = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf.drain(..end + 4);
        let (status_line, head) = raw.split_once("\r\n").unwrap_or((raw.as_str(), ""));
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line: {status_line}")))?;
        let content_length = header_in(head, "content-length").and_then(|v| v.parse().ok());
        let chunked =
            header_in(head, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let close = header_in(head, "connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
            || status_line.starts_with("HTTP/1.0");
        Ok(Head { status, head: head.to_owned(), content_length, chunked, close })
    }

    /// Reads one complete response (head and body).
    pub async fn read_response(&mut self) -> io::Result<Response> {
        let head = self.read_head().await?;
        let body = if head.chunked {
            self.read_chunked().await?
        } else if let Some(n) = head.content_length {
            while self.buf.len() < n {
                self.fill().await?;
            }
            self.buf.drain(..n).collect()
        } else if head.status == 204 || head.status == 304 || (100..200).contains(&head.status) {
            Vec::new()
        } else {
            // Body until close.
            while self.fill().await.is_ok() {}
            self.closed = true;
            std::mem::take(&mut self.buf)
        };
        if head.close {
            self.closed = true;
        }
        Ok(Response { status: head.status, head: head.head, body, at: Instant::now() })
    }

    async fn read_chunked(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(p) = find(&self.buf, b"\r\n") {
                    break p;
                }
                self.fill().await?;
            };
            let size_str = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_str.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad(format!("bad chunk size {size_str:?}")))?;
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                self.fill().await?;
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }

    /// Turns this connection, whose response head has just been read, into an SSE reader.
    pub fn into_sse(self, head: &Head) -> SseStream {
        SseStream {
            conn: self,
            chunked: head.chunked,
            state: Chunk::Size,
            text: Vec::with_capacity(512),
            done: false,
        }
    }
}

/// Position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One SSE frame.
#[derive(Debug, Clone)]
pub struct SseFrame {
    /// `id:` field.
    pub id: Option<String>,
    /// `event:` field.
    pub event: Option<String>,
    /// `data:` lines joined with `\n`.
    pub data: String,
    /// When the read that completed this frame returned.
    pub at: Instant,
}

impl SseFrame {
    /// The data as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or(Value::Null)
    }
}

enum Chunk {
    Size,
    Data(usize),
    Crlf,
    Done,
}

/// Reads SSE frames from a streaming response.
pub struct SseStream {
    conn: Conn,
    chunked: bool,
    state: Chunk,
    text: Vec<u8>,
    done: bool,
}

impl SseStream {
    /// Opens `GET path` on a new connection and checks for a 200 `text/event-stream`.
    /// On another status, returns the full error response as `Err(Ok(response))`.
    pub async fn open(addr: SocketAddr, path: &str, key: &str) -> io::Result<Result<SseStream, Response>> {
        let mut conn = Conn::connect(addr).await?;
        conn.write(&get(path, key)).await?;
        let head = conn.read_head().await?;
        if head.status != 200 {
            let body = if let Some(n) = head.content_length {
                while conn.buf.len() < n {
                    conn.fill().await?;
                }
                conn.buf.drain(..n).collect()
            } else {
                Vec::new()
            };
            return Ok(Err(Response { status: head.status, head: head.head, body, at: Instant::now() }));
        }
        Ok(Ok(conn.into_sse(&head)))
    }

    /// Moves decoded body bytes from the connection buffer into `text`.
    fn decode(&mut self) -> io::Result<()> {
        if !self.chunked {
            self.text.append(&mut self.conn.buf);
            return Ok(());
        }
        loop {
            match self.state {
                Chunk::Size => {
                    let Some(p) = find(&self.conn.buf, b"\r\n") else {
                        return Ok(());
                    };
                    let s = String::from_utf8_lossy(&self.conn.buf[..p]).into_owned();
                    let n = usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16)
                        .map_err(|_| bad(format!("bad chunk size {s:?}")))?;
                    self.conn.buf.drain(..p + 2);
                    self.state = if n == 0 { Chunk::Done } else { Chunk::Data(n) };
                }
                Chunk::Data(n) => {
                    if self.conn.buf.is_empty() {
                        return Ok(());
                    }
                    let take = n.min(self.conn.buf.len());
                    self.text.extend(self.conn.buf.drain(..take));
                    self.state = if take == n { Chunk::Crlf } else { Chunk::Data(n - take) };
                }
                Chunk::Crlf => {
                    if self.conn.buf.len() < 2 {
                        return Ok(());
                    }
                    self.conn.buf.drain(..2);
                    self.state = Chunk::Size;
                }
                Chunk::Done => {
                    self.done = true;
                    return Ok(());
                }
            }
        }
    }

    fn parse_frame(&mut self, at: Instant) -> Option<SseFrame> {
        loop {
            let end = find(&self.text, b"\n\n")?;
            let block = String::from_utf8_lossy(&self.text[..end]).into_owned();
            self.text.drain(..end + 2);
            let mut frame = SseFrame { id: None, event: None, data: String::new(), at };
            let mut has_data = false;
            for line in block.split('\n') {
                if line.starts_with(':') {
                    continue;
                }
                let (field, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value);
                match field {
                    "id" => frame.id = Some(value.to_owned()),
                    "event" => frame.event = Some(value.to_owned()),
                    "data" => {
                        if has_data {
                            frame.data.push('\n');
                        }
                        frame.data.push_str(value);
                        has_data = true;
                    }
                    _ => {}
                }
            }
            if has_data || frame.event.is_some() {
                return Some(frame);
            }
            // A comment-only block (keepalive): look for the next frame.
        }
    }

    /// The next frame; `Ok(None)` when the server ended the stream.
    pub async fn next(&mut self) -> io::Result<Option<SseFrame>> {
        let mut at = Instant::now();
        // Body bytes may have arrived with the response head (or with the previous frame).
        self.decode()?;
        loop {
            if let Some(frame) = self.parse_frame(at) {
                return Ok(Some(frame));
            }
            if self.done {
                return Ok(None);
            }
            match self.conn.fill().await {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                Err(e) => return Err(e),
            }
            at = Instant::now();
            self.decode()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_post() {
        let r = post_json("/v1/intents", "k", &[("idempotency-key", "a")], b"{}");
        let s = String::from_utf8(r).unwrap();
        assert!(s.starts_with("POST /v1/intents HTTP/1.1\r\n"));
        assert!(s.contains("x-api-key: k\r\n"));
        assert!(s.contains("idempotency-key: a\r\n"));
        assert!(s.ends_with("content-length: 2\r\n\r\n{}"));
    }

    #[tokio::test]
    async fn frames_that_arrive_with_the_head_are_not_left_behind() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            // Head, two frames and the end of the body in one write; then the connection idles.
            let body = "id: 1\nevent: a\ndata: {}\n\nid: 2\nevent: b\ndata: {}\n\n";
            let reply = format!(
                "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
                body.len()
            );
            s.write_all(reply.as_bytes()).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let mut stream = SseStream::open(addr, "/s", "").await.unwrap().unwrap();
        for expected in [Some("a"), Some("b"), None] {
            let frame =
                tokio::time::timeout(Duration::from_secs(2), stream.next()).await.expect("no hang").unwrap();
            assert_eq!(frame.and_then(|f| f.event).as_deref(), expected);
        }
    }

    #[test]
    fn finds_headers_case_insensitively() {
        let head = "Content-Type: text/plain\r\nX-Request-Id: abc";
        assert_eq!(header_in(head, "x-request-id"), Some("abc"));
        assert_eq!(header_in(head, "missing"), None);
    }
}
