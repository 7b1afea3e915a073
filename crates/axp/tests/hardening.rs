//! Issue 12, the listener: timeouts, the connection cap, shutdown with a half-sent request, an
//! unread request body, and TLS, against the real binary on loopback. Timeouts are set to 1–2 s here; each assertion
//! allows a generous bound (seconds to tens of seconds) and never times anything.

use std::process::Stdio;
use std::time::{Duration, Instant};

use axp_test_util::binary::{Refused, ServeCommand, ServeProcess};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long anything here may take before the test fails.
const BOUND: Duration = Duration::from_secs(20);

/// `axp serve` on port 0 with `env` and `args`, in its own data directory; killed when dropped.
struct Axp {
    process: ServeProcess,
    _dir: tempfile::TempDir,
}

impl Axp {
    fn start(env: &[(&str, &str)], args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let process = ServeCommand::new(env!("CARGO_BIN_EXE_axp"), dir.path()).args(args).envs(env).start();
        Self { process, _dir: dir }
    }

    fn key(&self) -> String {
        self.process.admin_key()
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.process.addr()).await.expect("connect")
    }
}

/// Reads until the peer closes; `true` when it closed (EOF or reset) within `bound`.
async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut sink = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut sink)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// One response head read off a raw connection: status, lower-cased head, and the bytes read
/// past the head (the start of the body).
async fn read_head(stream: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n =
            tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("a response in time").unwrap();
        assert!(n > 0, "closed before a response: {:?}", String::from_utf8_lossy(&buf));
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    (head[9..12].parse().unwrap(), head, buf.split_off(head_end))
}

/// One response read off a raw connection: status, lower-cased head, body (of its
/// `Content-Length`, none without one).
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let (status, head, mut body) = read_head(stream).await;
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    let mut chunk = [0u8; 4096];
    while body.len() < length {
        let n = tokio::time::timeout(BOUND, stream.read(&mut chunk)).await.expect("a body in time").unwrap();
        assert!(n > 0, "closed inside the body");
        body.extend_from_slice(&chunk[..n]);
    }
    (status, head, String::from_utf8_lossy(&body[..length]).into_owned())
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nhost: axp\r\n\r\n";

#[tokio::test]
async fn slowloris_partial_headers_are_closed_within_the_header_timeout() {
    let axp = Axp::start(&[("AXP_HEADER_READ_TIMEOUT_SECONDS", "1")], &[]);
    let mut slow = axp.connect().await;
    slow.write_all(b"GET /health HTTP/1.1\r\nhost: axp\r\n").await.unwrap();
    // A byte now and then does not extend the deadline.
    slow.write_all(b"x-a: 1\r\n").await.unwrap();
    assert!(closed_within(&mut slow, BOUND).await, "partial headers held open");
    // A connection that sends nothing at all is closed too.
    let mut silent = axp.connect().await;
    assert!(closed_within(&mut silent, BOUND).await, "a silent connection held open");
    // Others are served meanwhile.
    let mut ok = axp.connect().await;
    ok.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut ok).await.0, 200);
}

#[tokio::test]
async fn a_slow_body_gets_408_with_the_envelope() {
    let axp = Axp::start(&[("AXP_BODY_READ_TIMEOUT_SECONDS", "1")], &[]);
    let mut slow = axp.connect().await;
    let head = format!(
        "POST /v1/intents HTTP/1.1\r\nhost: axp\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n",
        axp.key()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(b"{\"intent_type\":").await.unwrap();
    let (status, head, body) = read_response(&mut slow).await;
    assert_eq!(status, 408, "{head}{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("body"), "{body}");
    assert!(closed_within(&mut slow, BOUND).await, "the connection stays open after a 408");
}

/// A request answered without its body being read (here: no such route) leaves the connection
/// usable, also when the body arrives only after the answer: the official SDKs reuse pooled
/// connections, and a close there shows up as "server disconnected" on their next call.
#[tokio::test]
async fn an_answer_that_did_not_read_the_body_keeps_the_connection() {
    let axp = Axp::start(&[], &[]);
    let mut conn = axp.connect().await;
    let head = format!(
        "POST /v1/no-such-route HTTP/1.1\r\nhost: axp\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n",
        axp.key()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let (status, _, body) = read_response(&mut conn).await;
    assert_eq!(status, 404, "{body}");
    conn.write_all(b"{}").await.unwrap();
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200, "the next request on the connection is answered");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let axp =
        Axp::start(&[("AXP_IDLE_TIMEOUT_SECONDS", "1"), ("AXP_HEADER_READ_TIMEOUT_SECONDS", "30")], &[]);
    let mut conn = axp.connect().await;
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200);
    // The connection is kept alive for a second request...
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200);
    // ...and closed once idle.
    assert!(closed_within(&mut conn, BOUND).await, "an idle keep-alive connection held open");

    // So is one whose stream ended (it waits for its next request on the stream path).
    let key = axp.key();
    let id = create_intent(&mut axp.connect().await, &key).await;
    let mut conn = axp.connect().await;
    let stream = format!(
        "GET /v1/intents/{id}/events/stream?since=0&wait_seconds=1 HTTP/1.1\r\nhost: axp\r\nx-api-key: {key}\r\n\r\n"
    );
    conn.write_all(stream.as_bytes()).await.unwrap();
    let (status, head, rest) = read_head(&mut conn).await;
    assert_eq!(status, 200, "{head}");
    assert!(read_chunked(&mut conn, rest).await.contains("event: stream.timeout\n"));
    assert!(closed_within(&mut conn, BOUND).await, "an idle connection after a stream held open");
}

#[tokio::test]
async fn past_the_connection_cap_429_then_served_once_a_slot_frees() {
    let axp = Axp::start(
        &[
            ("AXP_MAX_CONNECTIONS", "2"),
            ("AXP_IDLE_TIMEOUT_SECONDS", "60"),
            ("AXP_HEADER_READ_TIMEOUT_SECONDS", "60"),
        ],
        &[],
    );
    // Two kept-alive connections hold both slots (each answered once, so surely accepted).
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut conn = axp.connect().await;
        conn.write_all(HEALTH).await.unwrap();
        assert_eq!(read_response(&mut conn).await.0, 200);
        held.push(conn);
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let refused =
        http.get(format!("{}/health", axp.process.url())).send().await.expect("an answer, not a reset");
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    // A slot frees: /health answers again (the server sees the close asynchronously).
    drop(held.pop());
    let deadline = Instant::now() + BOUND;
    loop {
        match http.get(format!("{}/health", axp.process.url())).send().await.map(|r| r.status().as_u16()) {
            Ok(200) => break,
            Ok(429) | Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            other => panic!("/health after a slot freed: {other:?}"),
        }
    }
}

#[tokio::test]
async fn sigterm_with_half_sent_requests_exits_within_the_grace() {
    let mut axp = Axp::start(
        &[
            ("AXP_SHUTDOWN_GRACE_SECONDS", "2"),
            ("AXP_HEADER_READ_TIMEOUT_SECONDS", "300"),
            ("AXP_BODY_READ_TIMEOUT_SECONDS", "300"),
        ],
        &[],
    );
    let mut half_head = axp.connect().await;
    half_head.write_all(b"GET /health HTTP/1.1\r\nhost: axp\r\n").await.unwrap();
    let mut half_body = axp.connect().await;
    let head = format!(
        "POST /v1/intents HTTP/1.1\r\nhost: axp\r\nx-api-key: {}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{",
        axp.key()
    );
    half_body.write_all(head.as_bytes()).await.unwrap();
    // The server has the half-sent body's request in hand once a full request behind it on
    // another connection is answered (requests are served concurrently, so this only orders
    // the accepts; the test holds either way).
    let mut ok = axp.connect().await;
    ok.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut ok).await.0, 200);
    let sent = Instant::now();
    let status = axp.process.terminate(Duration::from_secs(2) + BOUND);
    assert!(status.success(), "axp exited with a failure after SIGTERM (took {:?})", sent.elapsed());
}

#[tokio::test]
async fn tls_serves_health_over_https() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let axp = Axp::start(
        &[],
        &["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap()],
    );
    assert!(axp.process.url().starts_with("https://"), "{}", axp.process.url());
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let health = http.get(format!("{}/health", axp.process.url())).send().await.expect("https /health");
    assert_eq!(health.status(), 200);
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = axp.connect().await;
    plain.write_all(HEALTH).await.unwrap();
    assert!(closed_within(&mut plain, BOUND).await);
}

/// The dashboard's session cookie is `Secure` when the server serves TLS (`docs/dashboard.md`).
#[tokio::test]
async fn the_dashboard_cookie_is_secure_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("cert.pem"), files.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).unwrap();
    let axp = Axp::start(
        &[],
        &["--tls-cert", cert_path.to_str().unwrap(), "--tls-key", key_path.to_str().unwrap()],
    );
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let url = axp.process.url();
    let link: serde_json::Value = http
        .post(format!("{url}/v1/ui/login-links"))
        .header("x-api-key", axp.process.admin_key())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let opened = http.get(format!("{url}{}", link["login_path"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    let cookie = opened.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[test]
fn tls_needs_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let Err(Refused { status, stderr }) = ServeCommand::new(env!("CARGO_BIN_EXE_axp"), dir.path())
        .env("AXP_TLS_CERT", "/nonexistent/cert.pem")
        .env_remove(["AXP_TLS_KEY"])
        .stderr(Stdio::piped())
        .try_start()
    else {
        panic!("axp served with a certificate and no key");
    };
    assert!(!status.success());
    assert!(stderr.contains("AXP_TLS_CERT"), "{stderr}");
}

/// A chunked body read off a raw connection, starting with `buf` (the bytes read past its head):
/// the chunks' data joined, read up to and including the last (zero-length) chunk, so the
/// connection is at the next response.
async fn read_chunked(stream: &mut TcpStream, mut buf: Vec<u8>) -> String {
    let mut chunk = [0u8; 4096];
    let mut data = Vec::new();
    let mut at = 0;
    loop {
        // Each chunk: `<hex length>\r\n<data>\r\n`; the last has length 0 and no data.
        let parsed = buf[at..].windows(2).position(|w| w == b"\r\n").and_then(|eol| {
            let len = usize::from_str_radix(std::str::from_utf8(&buf[at..at + eol]).ok()?, 16).ok()?;
            (buf.len() >= at + eol + 2 + len + 2).then_some((eol, len))
        });
        match parsed {
            Some((eol, 0)) => {
                assert_eq!(&buf[at + eol + 2..at + eol + 4], b"\r\n", "the last chunk ends the body");
                return String::from_utf8(data).unwrap();
            }
            Some((eol, len)) => {
                data.extend_from_slice(&buf[at + eol + 2..at + eol + 2 + len]);
                assert_eq!(&buf[at + eol + 2 + len..at + eol + 4 + len], b"\r\n", "a chunk ends with CRLF");
                at += eol + 4 + len;
            }
            None => {
                let n = tokio::time::timeout(BOUND, stream.read(&mut chunk))
                    .await
                    .expect("a chunk in time")
                    .unwrap();
                assert!(n > 0, "closed inside a chunked body: {:?}", String::from_utf8_lossy(&buf));
                buf.extend_from_slice(&chunk[..n]);
            }
        }
    }
}

/// Creates an intent over a raw connection with `key`; its id.
async fn create_intent(conn: &mut TcpStream, key: &str) -> String {
    let body = r#"{"intent_type":"hardening.stream.v1","to_agent":"worker","payload":{}}"#;
    let request = format!(
        "POST /v1/intents HTTP/1.1\r\nhost: axp\r\nx-api-key: {key}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let (status, _, body) = read_response(conn).await;
    assert!(status == 200 || status == 201, "{status} {body}");
    serde_json::from_str::<Value>(&body).unwrap()["intent_id"].as_str().unwrap().to_owned()
}

/// Issue 16 (P3): a connection whose first request is an SSE stream is answered by the light
/// path (`listener::stream_path`): the same framing, authentication and errors as through
/// hyper, and the connection then serves its next requests (keep-alive: a stream on the same
/// path again, anything else through hyper) or closes on request.
#[tokio::test]
async fn a_connection_that_opens_with_a_stream_is_served_then_kept_alive() {
    let axp = Axp::start(&[], &[]);
    let key = axp.key();
    let id = create_intent(&mut axp.connect().await, &key).await;
    let stream = |key: &str, id: &str, extra: &str| {
        format!(
            "GET /v1/intents/{id}/events/stream?since=0&wait_seconds=1 HTTP/1.1\r\nhost: axp\r\nx-api-key: {key}\r\n{extra}\r\n"
        )
    };

    // The stream: chunked SSE, the intent's first event, `stream.timeout` at the window's end.
    let mut conn = axp.connect().await;
    conn.write_all(stream(&key, &id, "").as_bytes()).await.unwrap();
    let (status, head, rest) = read_head(&mut conn).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(head.contains("transfer-encoding: chunked") && head.contains("\r\ndate: "), "{head}");
    let body = read_chunked(&mut conn, rest).await;
    assert!(body.contains("event: intent.created\n"), "{body}");
    assert!(body.contains("event: stream.timeout\n"), "{body}");
    // The same connection serves a next stream, from where the first ended, then another request.
    let next = stream(&key, &id, "").replace("since=0", "since=1");
    conn.write_all(next.as_bytes()).await.unwrap();
    let (status, head, rest) = read_head(&mut conn).await;
    assert_eq!(status, 200, "{head}");
    let body = read_chunked(&mut conn, rest).await;
    assert!(
        !body.contains("event: intent.created\n") && body.contains("event: intent.submitted\n"),
        "{body}"
    );
    conn.write_all(HEALTH).await.unwrap();
    assert_eq!(read_response(&mut conn).await.0, 200, "keep-alive after the stream");

    // Errors come as the ordinary JSON envelope with a length; the connection stays usable.
    for (key, id, expected) in
        [("", id.as_str(), 401), (key.as_str(), "00000000-0000-4000-8000-000000000000", 404)]
    {
        let mut conn = axp.connect().await;
        conn.write_all(stream(key, id, "").as_bytes()).await.unwrap();
        let (status, head, body) = read_response(&mut conn).await;
        assert_eq!(status, expected, "{head}{body}");
        assert!(head.contains("content-length:"), "{head}");
        assert!(serde_json::from_str::<Value>(&body).unwrap()["error"]["code"].is_string(), "{body}");
        conn.write_all(HEALTH).await.unwrap();
        assert_eq!(read_response(&mut conn).await.0, 200, "keep-alive after a {expected}");
    }

    // `Connection: close` is honoured: the stream ends and so does the connection.
    let mut conn = axp.connect().await;
    conn.write_all(stream(&key, &id, "connection: close\r\n").as_bytes()).await.unwrap();
    let (status, _, rest) = read_head(&mut conn).await;
    assert_eq!(status, 200);
    assert!(read_chunked(&mut conn, rest).await.contains("event: stream.timeout\n"));
    assert!(closed_within(&mut conn, BOUND).await, "Connection: close held open");
}
