//! Issue 12, "stream cap": against the real binary (`axp serve` on port 0, loopback, set up over
//! HTTP), open SSE streams and waiting long-poll claims are capped per key
//! (`AXP_MAX_STREAMS_PER_KEY`) and per workspace (`AXP_MAX_STREAMS_PER_WORKSPACE`): one over
//! the cap gets 429 `rate_limit_exceeded` with an integer `Retry-After`, another key or
//! workspace is not affected, and a closed stream or finished claim gives its slot back. On
//! SIGTERM open streams end with `stream.timeout` and their resume cursor.

use std::time::Duration;

use axp_test_util::binary::{ServeCommand, ServeProcess};
use reqwest::{Method, Response};
use serde_json::{Value, json};

/// Bound on every wait for a condition (generous: a loaded CI host).
const BOUND: Duration = Duration::from_secs(30);

/// `axp serve` on a free port over a fresh data directory; killed on drop.
struct Axp {
    process: ServeProcess,
    url: String,
    admin_key: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Axp {
    /// Starts the binary with `vars` (and no stream caps from the host) and waits for its
    /// `axp listening on` line (no sleeps).
    fn start(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let process = ServeCommand::new(env!("CARGO_BIN_EXE_axp"), dir.path().join("axp-data"))
            .env_remove(["AXP_MAX_STREAMS_PER_KEY", "AXP_MAX_STREAMS_PER_WORKSPACE"])
            .envs(vars)
            .start();
        let (url, admin_key) = (process.url().to_owned(), process.admin_key());
        Self { process, url, admin_key, http: reqwest::Client::new(), _dir: dir }
    }

    /// `method path` with `body` as the admin; the JSON answer, which must be a 200.
    async fn admin(&self, method: Method, path: &str, body: Value) -> Value {
        let response = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", &self.admin_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// A new service account `name` in the admin's workspace, and its key.
    async fn key(&self, name: &str) -> String {
        let sa = self.admin(Method::POST, "/v1/service-accounts", json!({"name": name})).await;
        let id = sa["service_account"]["service_account_id"].as_str().unwrap();
        let key = self.admin(Method::POST, &format!("/v1/service-accounts/{id}/keys"), json!({})).await;
        key["key"]["token"].as_str().unwrap().to_owned()
    }

    /// The key of the owner of a new organization (another workspace).
    async fn other_workspace_key(&self) -> String {
        let body = json!({"name": "Other", "requested_by_actor_id": "admin"});
        let org = self.admin(Method::POST, "/v1/organizations", body).await["organization"]["org_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let path = format!("/v1/organizations/{org}/workspaces");
        let body = json!({"name": "elsewhere", "environment": "sandbox"});
        let ws = self.admin(Method::POST, &path, body).await["workspace"]["workspace_id"].clone();
        let body = json!({"org_id": org, "workspace_id": ws, "name": "other-owner"});
        let sa = self.admin(Method::POST, "/v1/service-accounts", body).await;
        let id = sa["service_account"]["service_account_id"].as_str().unwrap().to_owned();
        let member = json!({"org_id": org, "actor_id": id, "role": "org_owner"});
        self.admin(Method::POST, &format!("/v1/organizations/{org}/members"), member).await;
        let key = self.admin(Method::POST, &format!("/v1/service-accounts/{id}/keys"), json!({})).await;
        key["key"]["token"].as_str().unwrap().to_owned()
    }

    /// Opens the agent stream of `agent` (nothing queued for it: the stream stays open) as `key`;
    /// the response once its headers are in.
    async fn stream(&self, key: &str, agent: &str) -> Response {
        self.http
            .get(format!("{}/v1/agents/{agent}/intents/stream?wait_seconds=60", self.url))
            .header("x-api-key", key)
            .send()
            .await
            .unwrap()
    }

    /// Opens streams as `key` until one is accepted, dropping refused ones, within [`BOUND`]:
    /// waits for a slot to be given back.
    async fn stream_once_free(&self, key: &str, agent: &str) -> Response {
        let deadline = tokio::time::Instant::now() + BOUND;
        loop {
            let response = self.stream(key, agent).await;
            if response.status() == 200 {
                return response;
            }
            assert_eq!(response.status(), 429);
            assert!(tokio::time::Instant::now() < deadline, "no slot was given back within {BOUND:?}");
            tokio::task::yield_now().await;
        }
    }
}

/// A 429 from a stream cap: the envelope's code and limit, and an integer `Retry-After`.
async fn assert_refused(response: Response, limit: &str) {
    assert_eq!(response.status(), 429);
    let retry_after = response.headers()["retry-after"].to_str().unwrap().to_owned();
    assert!(retry_after.parse::<u32>().is_ok_and(|s| s >= 1), "Retry-After: {retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["details"]["limit"], limit, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_waiting_claims_are_capped_per_key_and_per_workspace() {
    let axp = Axp::start(&[("AXP_MAX_STREAMS_PER_KEY", "3"), ("AXP_MAX_STREAMS_PER_WORKSPACE", "5")]);
    let admin = axp.admin_key.clone();
    let worker = axp.key("worker").await;

    // Per key: three streams, the fourth refused; another key of the workspace still opens one.
    let mut held = Vec::new();
    for _ in 0..3 {
        let response = axp.stream(&admin, "idle").await;
        assert_eq!(response.status(), 200);
        held.push(response);
    }
    assert_refused(axp.stream(&admin, "idle").await, "streams_per_key").await;
    let worker_stream = axp.stream(&worker, "worker").await;
    assert_eq!(worker_stream.status(), 200, "another key is not held to the admin's cap");

    // Closing one gives its slot back.
    held.pop();
    held.push(axp.stream_once_free(&admin, "idle").await);

    // A waiting claim counts too: with two streams and a claim the key is full again.
    held.pop();
    let claim_url = format!("{}/v1/agents/idle/intents/claim", axp.url);
    let claim = axp.http.post(&claim_url).header("x-api-key", &admin).json(&json!({"wait_seconds": 60}));
    let claim = tokio::spawn(claim.send());
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let response = axp.stream(&admin, "idle").await;
        if response.status() == 429 {
            assert_refused(response, "streams_per_key").await;
            break;
        }
        assert_eq!(response.status(), 200);
        drop(response); // the claim has not taken its slot yet
        assert!(tokio::time::Instant::now() < deadline, "the waiting claim never took a slot");
        tokio::task::yield_now().await;
    }
    claim.abort(); // the client goes away: the claim's slot is given back
    held.push(axp.stream_once_free(&admin, "idle").await);

    // Per workspace: 3 (admin) + 2 (worker) = 5 open; the worker's third is over the workspace's cap
    // although the worker key has room, and another workspace is not affected.
    let second = axp.stream(&worker, "worker").await;
    assert_eq!(second.status(), 200);
    assert_refused(axp.stream(&worker, "worker").await, "streams_per_workspace").await;
    let other = axp.other_workspace_key().await;
    assert_eq!(axp.stream(&other, "other-owner").await.status(), 200, "another workspace has its own cap");
    drop((worker_stream, second));
}

/// Reads `response` to its end within [`BOUND`]; the body as text.
async fn read_to_end(mut response: Response, mut text: String) -> String {
    tokio::time::timeout(BOUND, async {
        while let Some(chunk) = response.chunk().await.expect("the stream ends cleanly") {
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    })
    .await
    .expect("the stream ended within the bound");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_with_stream_timeout_and_their_cursor() {
    let mut axp = Axp::start(&[]);
    let body = json!({"intent_type": "caps.test.v1", "to_agent": "worker", "payload": {}});
    let intent = axp.admin(Method::POST, "/v1/intents", body).await;
    let id = intent["intent_id"].as_str().unwrap().to_owned();

    // An intent stream that has replayed its events and now waits, and an idle agent stream.
    let url = format!("{}/v1/intents/{id}/events/stream?since=0&wait_seconds=60", axp.url);
    let mut events = axp.http.get(url).header("x-api-key", &axp.admin_key).send().await.unwrap();
    assert_eq!(events.status(), 200);
    let first = events.chunk().await.unwrap().expect("the replayed events");
    let first = String::from_utf8(first.to_vec()).unwrap();
    let agent = axp.stream(&axp.admin_key, "idle").await;
    assert_eq!(agent.status(), 200);

    axp.process.sigterm();
    let events = read_to_end(events, first).await;
    let last_id = events
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .map(|id| id.parse::<u64>().unwrap())
        .max()
        .expect("events were replayed");
    assert!(
        events.ends_with(&format!("event: stream.timeout\ndata: {{\"ok\":true,\"next_seq\":{last_id}}}\n\n")),
        "{events}"
    );
    let agent = read_to_end(agent, String::new()).await;
    assert!(agent.ends_with("event: stream.timeout\ndata: {\"ok\":true,\"next_since\":0}\n\n"), "{agent}");
    assert!(axp.process.wait_exit(BOUND).success());
}
