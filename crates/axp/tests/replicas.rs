//! Several `axp serve` replicas on one PostgreSQL database (issue 6): real processes on random
//! loopback ports, driven over HTTP. Each test creates its own database on the server named by
//! `AXP_TEST_DATABASE_URL` and drops it afterwards; without that variable the tests say so and
//! pass without running.
//!
//! Nothing sleeps to wait for something: servers are ready when they print their URL, streams
//! are read as they arrive, and every wait is a bounded loop on a condition with a deadline.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use axp_store_postgres::testdb::{TestDatabase, server_url};
use axp_test_util::binary::{ServeCommand, ServeProcess};
use futures::StreamExt;
use serde_json::{Value, json};

/// A fixed admin key every replica knows (`AXP_BOOTSTRAP_KEY`).
const KEY: &str = "axme_sa_01970000-0000-7000-8000-00000000a11c_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Starts `axp serve` on port 0 against `db`, with `extra` environment; reads the URL it prints
/// (no sleeping). Its logs go to the test's stderr.
fn start_replica(db: &str, data_dir: &Path, extra: &[(&str, &str)]) -> ServeProcess {
    ServeCommand::new(env!("CARGO_BIN_EXE_axp"), data_dir)
        .args(["--database-url", db])
        .env("AXP_BOOTSTRAP_KEY", KEY)
        .env("AXP_OUTBOUND_ALLOW", "127.0.0.0/8")
        .env("AXP_PUSH_RETRY_SCHEDULE", "0s,1s,1s")
        .envs(extra)
        .stderr(Stdio::inherit())
        .start()
}

/// Three replicas on a fresh database (or `None` when no PostgreSQL server is configured).
async fn cluster(
    n: usize,
    extra: &[(&str, &str)],
) -> Option<(TestDatabase, tempfile::TempDir, Vec<ServeProcess>)> {
    let Some(server) = server_url() else {
        eprintln!("AXP_TEST_DATABASE_URL is not set: skipping the multi-replica tests");
        return None;
    };
    let db = TestDatabase::create(&server).await.expect("create a test database");
    let dir = tempfile::tempdir().unwrap();
    // Start them together: migrations and bootstrap must be safe under concurrent starts.
    let replicas = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (url, path) = (db.url.clone(), dir.path().join(format!("r{i}")));
                s.spawn(move || start_replica(&url, &path, extra))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("replica started")).collect::<Vec<_>>()
    });
    Some((db, dir, replicas))
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap()
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> Value {
    let r = http.post(url).header("x-api-key", KEY).json(&body).send().await.expect("request");
    let status = r.status();
    let v: Value = r.json().await.expect("JSON body");
    assert!(status.is_success(), "POST {url} -> {status}: {v}");
    v
}

async fn get(http: &reqwest::Client, url: &str) -> Value {
    let r = http.get(url).header("x-api-key", KEY).send().await.expect("request");
    let status = r.status();
    let v: Value = r.json().await.expect("JSON body");
    assert!(status.is_success(), "GET {url} -> {status}: {v}");
    v
}

async fn create(http: &reqwest::Client, base: &str, to: &str, extra: Value) -> String {
    let mut body = json!({"intent_type": "replica.test.v1", "to_agent": to, "payload": {"n": 1}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    post(http, &format!("{base}/v1/intents"), body).await["intent_id"].as_str().unwrap().to_owned()
}

async fn events(http: &reqwest::Client, base: &str, id: &str) -> Vec<Value> {
    get(http, &format!("{base}/v1/intents/{id}/events")).await["events"].as_array().unwrap().clone()
}

/// Reads SSE frames (`event` + parsed `data`) from `url` into `tx` until the stream ends.
async fn sse(http: reqwest::Client, url: String, tx: tokio::sync::mpsc::UnboundedSender<(String, Value)>) {
    let r = http.get(&url).header("x-api-key", KEY).send().await.expect("open stream");
    assert!(r.status().is_success(), "GET {url} -> {}", r.status());
    let mut body = r.bytes_stream();
    let mut buf = String::new();
    while let Some(Ok(chunk)) = body.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut event = String::new();
            let mut data = None;
            for line in frame.lines() {
                if let Some(e) = line.strip_prefix("event: ") {
                    event = e.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).ok();
                }
            }
            if let Some(data) = data
                && tx.send((event, data)).is_err()
            {
                return;
            }
        }
    }
}

/// An agent's deliveries from `url`, reconnecting from each `stream.timeout`'s `next_since`,
/// until the receiver of `tx` is gone.
async fn listen(http: reqwest::Client, url: String, tx: tokio::sync::mpsc::UnboundedSender<(String, Value)>) {
    let mut since = 0;
    loop {
        let (frames_tx, mut frames) = tokio::sync::mpsc::unbounded_channel();
        sse(http.clone(), format!("{url}?since={since}&wait_seconds=30"), frames_tx).await;
        while let Ok((event, data)) = frames.try_recv() {
            if event == "stream.timeout" {
                since = data["next_since"].as_u64().expect("stream.timeout names next_since");
            } else if tx.send((event, data)).is_err() {
                return;
            }
        }
    }
}

/// Submit on replica 1, the agent listens on replica 2, the observer watches on replica 3: the
/// observer sees the whole lifecycle, in order, without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submit_listen_and_observe_on_three_replicas() {
    let Some((_db, _dir, replicas)) = cluster(3, &[]).await else { return };
    let http = http();
    let (r1, r2, r3) = (replicas[0].url(), replicas[1].url(), replicas[2].url());
    let agent = format!("agent-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);

    // The agent's stream on replica 2 is open before anything is submitted. It ends after each
    // batch of deliveries (§4.11), so the agent reconnects from `next_since`, as the SDKs do.
    let (agent_tx, mut agent_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(listen(http.clone(), format!("{r2}/v1/agents/{agent}/intents/stream"), agent_tx));

    let mut observed = Vec::new();
    for round in 0..5 {
        let id = create(&http, r1, &agent, json!({})).await;
        let (obs_tx, mut obs_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(sse(
            http.clone(),
            format!("{r3}/v1/intents/{id}/events/stream?since=0&wait_seconds=30"),
            obs_tx,
        ));

        // The agent receives it on replica 2 (woken across replicas), then works on it there.
        let (event, delivery) = tokio::time::timeout(Duration::from_secs(10), agent_rx.recv())
            .await
            .expect("the agent's stream on another replica got the intent")
            .expect("agent stream open");
        assert_eq!(event, "intent.delivered");
        assert_eq!(delivery["intent_id"], id.as_str(), "round {round}");
        post(&http, &format!("{r2}/v1/intents/{id}/resume"), json!({"action": "acknowledge"})).await;
        post(
            &http,
            &format!("{r2}/v1/intents/{id}/resolve"),
            json!({"status": "COMPLETED", "result": {"round": round}}),
        )
        .await;

        let mut seen = Vec::new();
        while let Ok(Some((event, data))) = tokio::time::timeout(Duration::from_secs(10), obs_rx.recv()).await
        {
            seen.push((data["seq"].as_u64().unwrap(), event.clone()));
            if event == "intent.completed" {
                break;
            }
        }
        let seqs: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "in order, no gaps: {seen:?}");
        let types: Vec<&str> = seen.iter().map(|(_, e)| e.as_str()).collect();
        assert_eq!(types.first(), Some(&"intent.created"), "{types:?}");
        assert!(types.contains(&"intent.delivered"), "{types:?}");
        assert_eq!(types.last(), Some(&"intent.completed"), "{types:?}");
        // The stored history, read on replica 1, is what the observer saw.
        let stored: Vec<u64> =
            events(&http, r1, &id).await.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(stored, seqs);
        observed.push(id);
    }
    assert_eq!(observed.len(), 5);
}

/// `kill -9` the replica an agent claimed its intents on, while their leases run: the other
/// replicas fire each lease timer once and redeliver; nothing is lost, no timer fires twice
/// (exactly one redelivery per intent). Pushes to an `http` agent from the surviving
/// replicas' dispatchers are each sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_of_a_replica_holding_leases() {
    let Some((_db, _dir, mut replicas)) = cluster(3, &[]).await else { return };
    let http = http();
    let agent = format!("leased-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let (r1, r2, r3) =
        (replicas[0].url().to_owned(), replicas[1].url().to_owned(), replicas[2].url().to_owned());

    const N: usize = 20;
    let mut ids = HashSet::new();
    for _ in 0..N {
        ids.insert(create(&http, &r1, &agent, json!({"lease_seconds": 2, "max_delivery_attempts": 5})).await);
    }
    // The agent claims everything on replica 1 (attempt 1, leases of 2 s), then replica 1 dies.
    let claimed = post(&http, &format!("{r1}/v1/agents/{agent}/intents/claim"), json!({"limit": 100})).await;
    let first: HashSet<String> = claimed["intents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["intent_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(first, ids, "one claim takes every intent");
    replicas[0].kill9();

    // Replicas 2 and 3 fire the lease timers; the agent claims the redeliveries on replica 2.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut again: HashMap<String, u64> = HashMap::new();
    while again.len() < N {
        assert!(Instant::now() < deadline, "redelivered only {} of {N} within 30 s", again.len());
        let r = post(
            &http,
            &format!("{r2}/v1/agents/{agent}/intents/claim"),
            json!({"limit": 100, "wait_seconds": 5}),
        )
        .await;
        for d in r["intents"].as_array().unwrap() {
            let id = d["intent_id"].as_str().unwrap().to_owned();
            assert!(
                again.insert(id, d["delivery_attempt"].as_u64().unwrap()).is_none(),
                "claimed once per lease"
            );
        }
    }
    assert!(again.values().all(|&a| a == 2), "second attempt: {again:?}");
    for id in &ids {
        post(&http, &format!("{r3}/v1/intents/{id}/resolve"), json!({"status": "COMPLETED", "result": {}}))
            .await;
        let history = events(&http, &r3, id).await;
        let types: Vec<&str> = history.iter().map(|e| e["event_type"].as_str().unwrap()).collect();
        assert_eq!(
            types.iter().filter(|t| **t == "intent.delivered").count(),
            2,
            "one delivery per attempt (the lease timer fired once): {types:?}"
        );
        assert!(!types.contains(&"intent.delivery_failed"), "{types:?}");
        assert_eq!(types.last(), Some(&"intent.completed"));
        let seqs: Vec<u64> = history.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    }

    // Pushes, with only replicas 2 and 3 left: every intent to an http agent is POSTed once.
    let mut receiver = axp_test_util::receiver::Receiver::start([]).await;
    let pushed = format!("pushed-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    post(
        &http,
        &format!("{r2}/v1/service-accounts"),
        json!({"name": pushed, "delivery_mode": "http", "delivery_config": {"url": receiver.url}}),
    )
    .await;
    let mut push_ids = HashSet::new();
    for i in 0..N {
        let base = if i % 2 == 0 { &r2 } else { &r3 };
        push_ids.insert(create(&http, base, &pushed, json!({})).await);
    }
    let mut got: HashMap<String, usize> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.values().sum::<usize>() < N {
        assert!(Instant::now() < deadline, "received {} of {N} pushes within 30 s", got.len());
        let req = receiver.next().await;
        *got.entry(req.json()["intent_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    // A duplicate would arrive within the dispatchers' fallback interval (1 s): watch for 2 s.
    let settle = Instant::now() + Duration::from_secs(2);
    while let Some(left) = settle.checked_duration_since(Instant::now()) {
        if let Ok(req) = tokio::time::timeout(left, receiver.next()).await {
            *got.entry(req.json()["intent_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    assert_eq!(got.keys().cloned().collect::<HashSet<_>>(), push_ids);
    assert!(got.values().all(|&n| n == 1), "each push sent once: {got:?}");
}

/// 8 poll workers spread over 3 replicas claim `AXP_TEST_CLAIMS` intents (default 10,000):
/// every intent is claimed exactly once (leases are long enough that none expires).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_workers_on_three_replicas_claim_each_intent_once() {
    let Some((_db, _dir, replicas)) = cluster(3, &[]).await else { return };
    let total: usize = std::env::var("AXP_TEST_CLAIMS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let http = http();
    let urls: Vec<String> = replicas.iter().map(|r| r.url().to_owned()).collect();
    let agent = format!("pool-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let started = Instant::now();

    // Producers on every replica, while the workers claim.
    let created = std::sync::Arc::new(tokio::sync::Mutex::new(HashSet::new()));
    let mut producers = Vec::new();
    for p in 0..12 {
        let (http, base, agent, created) =
            (http.clone(), urls[p % 3].clone(), agent.clone(), created.clone());
        producers.push(tokio::spawn(async move {
            for _ in (p..total).step_by(12) {
                let id = create(&http, &base, &agent, json!({"lease_seconds": 600})).await;
                created.lock().await.insert(id);
            }
        }));
    }
    let claimed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (http, base, agent, claimed) =
            (http.clone(), urls[w % 3].clone(), agent.clone(), claimed.clone());
        workers.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(240);
            loop {
                if claimed.lock().unwrap().len() >= total || Instant::now() > deadline {
                    return;
                }
                let r = post(
                    &http,
                    &format!("{base}/v1/agents/{agent}/intents/claim"),
                    json!({"limit": 50, "wait_seconds": 1}),
                )
                .await;
                let ids: Vec<String> = r["intents"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d["intent_id"].as_str().unwrap().to_owned())
                    .collect();
                claimed.lock().unwrap().extend(ids);
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    for w in workers {
        w.await.unwrap();
    }
    let claimed = claimed.lock().unwrap().clone();
    let unique: HashSet<&String> = claimed.iter().collect();
    let created = created.lock().await;
    assert_eq!(created.len(), total);
    assert_eq!(unique.len(), claimed.len(), "no intent was claimed twice");
    assert_eq!(claimed.len(), total, "every intent was claimed");
    assert!(unique.iter().all(|id| created.contains(*id)));
    eprintln!("{total} intents created and claimed by 8 workers on 3 replicas in {:.1?}", started.elapsed());
}

/// Replicas cache who a key stands for: a key revoked on replica 1 stops working on replicas 2
/// and 3, which had it cached, as soon as the revocation's notification reaches them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_revoked_on_one_replica_is_refused_on_every_replica() {
    let Some((_db, _dir, replicas)) = cluster(3, &[]).await else { return };
    let http = http();
    let r1 = replicas[0].url().to_owned();
    let sa = post(&http, &format!("{r1}/v1/service-accounts"), json!({"name": "revoked-later"})).await;
    let sa_id = sa["service_account"]["service_account_id"].as_str().unwrap().to_owned();
    let key = post(&http, &format!("{r1}/v1/service-accounts/{sa_id}/keys"), json!({})).await;
    let (key_id, token) = (key["key"]["key_id"].as_str().unwrap(), key["key"]["token"].as_str().unwrap());
    let status = |base: String| {
        let http = http.clone();
        let token = token.to_owned();
        async move {
            let r = http.get(format!("{base}/v1/intents?limit=1")).bearer_auth(token).send().await.unwrap();
            r.status().as_u16()
        }
    };
    for r in &replicas {
        // Twice: the first use looks the key up, the second is served from the cache.
        assert_eq!(status(r.url().to_owned()).await, 200);
        assert_eq!(status(r.url().to_owned()).await, 200);
    }
    post(&http, &format!("{r1}/v1/service-accounts/{sa_id}/keys/{key_id}/revoke"), json!({})).await;
    assert_eq!(status(r1.clone()).await, 401, "the revoking replica refuses at once");
    let deadline = Instant::now() + Duration::from_secs(10);
    for r in &replicas[1..] {
        loop {
            match status(r.url().to_owned()).await {
                401 => break,
                200 if Instant::now() < deadline => tokio::task::yield_now().await,
                other => panic!("{}: still {other} 10 s after the revocation", r.url()),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_schema_upserted_on_one_replica_checks_creates_on_every_replica() {
    let Some((_db, _dir, replicas)) = cluster(2, &[]).await else { return };
    let http = http();
    let (r1, r2) = (replicas[0].url().to_owned(), replicas[1].url().to_owned());
    let ty = "replica.schema.test.v1";
    let status = |base: String, payload: Value| {
        let http = http.clone();
        async move {
            let body = json!({"intent_type": ty, "to_agent": "worker", "payload": payload});
            let url = format!("{base}/v1/intents");
            http.post(url).header("x-api-key", KEY).json(&body).send().await.unwrap().status().as_u16()
        }
    };
    // Twice on r2: the first create reads the workspace's schemas, the second is served from
    // its cache, which only the notification of r1's upsert can drop.
    assert_eq!(status(r2.clone(), json!({"n": 1})).await, 200);
    assert_eq!(status(r2.clone(), json!({"n": 1})).await, 200);
    let schema = json!({"semantic_type": ty, "compatibility_mode": "strict",
                        "schema_json": {"type": "object", "required": ["m"]}});
    post(&http, &format!("{r1}/v1/schemas"), schema).await;
    assert_eq!(status(r1.clone(), json!({"n": 1})).await, 422, "the upserting replica checks at once");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match status(r2.clone(), json!({"n": 1})).await {
            422 => break,
            200 if Instant::now() < deadline => tokio::task::yield_now().await,
            other => panic!("{r2}: still {other} 10 s after the upsert"),
        }
    }
    assert_eq!(status(r2, json!({"m": 1})).await, 200);
}
