//! A real HTTP receiver on `127.0.0.1:0` for push and webhook tests: it records every request
//! and answers from a script (then 200 `{}`), so tests can make an endpoint fail N times, hang,
//! redirect or answer with a result.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status with an empty JSON object.
    Status(u16),
    /// This status with `Retry-After: <seconds>`.
    RetryAfter(u16, u64),
    /// This status with this JSON body.
    Json(u16, serde_json::Value),
    /// A redirect to this location (which must not be followed).
    Redirect(&'static str),
    /// Never answers (the sender's attempt times out).
    Hang,
}

/// One request received.
#[derive(Clone, Debug)]
pub struct Received {
    /// Its headers.
    pub headers: HeaderMap,
    /// Its raw body.
    pub body: Bytes,
}

impl Received {
    /// A header as a string ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Clone)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: mpsc::UnboundedSender<Received>,
}

/// The receiver. Stops when dropped.
pub struct Receiver {
    /// `http://127.0.0.1:<port>/hook`.
    pub url: String,
    script: Arc<Mutex<VecDeque<Reply>>>,
    seen: mpsc::UnboundedReceiver<Received>,
    task: tokio::task::JoinHandle<()>,
}

async fn handle(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let _ = shared.seen.send(Received { headers, body });
    let reply = shared.script.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
    let status = |s: u16| StatusCode::from_u16(s).expect("a valid status");
    match reply {
        None => (StatusCode::OK, axum::Json(serde_json::json!({}))).into_response(),
        Some(Reply::Status(s)) => (status(s), axum::Json(serde_json::json!({}))).into_response(),
        Some(Reply::RetryAfter(s, secs)) => {
            (status(s), [(header::RETRY_AFTER, secs.to_string())]).into_response()
        }
        Some(Reply::Json(s, v)) => (status(s), axum::Json(v)).into_response(),
        Some(Reply::Redirect(to)) => (StatusCode::FOUND, [(header::LOCATION, to)]).into_response(),
        Some(Reply::Hang) => std::future::pending().await,
    }
}

impl Receiver {
    /// Starts a receiver answering `script` in order, then 200 `{}` forever.
    pub async fn start(script: impl IntoIterator<Item = Reply>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("local addr"));
        let script = Arc::new(Mutex::new(script.into_iter().collect::<VecDeque<_>>()));
        let (tx, seen) = mpsc::unbounded_channel();
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(handle))
            .with_state(Shared { script: script.clone(), seen: tx });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, script, seen, task }
    }

    /// Appends replies to the script.
    pub fn then(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap_or_else(|e| e.into_inner()).extend(replies);
    }

    /// The next request; panics if none arrives within 30 s.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(30), self.seen.recv())
            .await
            .expect("the receiver got a request within 30 s")
            .expect("the receiver is running")
    }

    /// A request received already, if any, without waiting.
    pub fn try_next(&mut self) -> Option<Received> {
        self.seen.try_recv().ok()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
