//! `GET /metrics`: the series move with the work (intents to completion, a push with a retry, a
//! timer firing late, open streams and claims, HTTP requests, commit batches, the store's
//! figures), labels stay bounded, and only the metrics token (or public mode) opens it.
//!
//! The recorder is the process's, shared by every server of this test binary (see
//! `axp_server` `metrics::recorder`): counters are compared before and after, on intent types
//! only these tests use, and gauges are awaited on the test server's own figures. Waiting is a
//! bounded loop of scrapes, never a sleep.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axp_core::{EventType, IntentId, Status, Timestamp};
use axp_engine::{DispatcherOptions, IntentTypeLabels, ManualClock, OutboundPolicy, RetrySchedule};
use axp_server::{MetricsAccess, MetricsOptions, Options, Role};
use axp_test_util::TestServer;
use axp_test_util::receiver::{Receiver, Reply};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

const TOKEN: &str = "metrics-test-token-0123456789";
/// The allow-listed type: counted under its own name.
const LISTED: &str = "metrics.e2e.v1";
/// A type off the list: counted as `other`, never named.
const UNLISTED: &str = "metrics.unlisted.v1";
const START: Timestamp = Timestamp::from_millis(1_780_000_000_000);

/// One scrape: each sample's value by its series name and sorted labels.
#[derive(Debug, Default)]
struct Scrape(BTreeMap<(String, Vec<(String, String)>), f64>);

impl Scrape {
    /// Parses Prometheus' text format (`name{k="v",…} value`; `#` lines skipped).
    fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels(rest.strip_suffix('}').expect("labels close"))),
                None => (series, Vec::new()),
            };
            samples.insert((name.to_owned(), labels), value.parse().expect("a numeric value"));
        }
        Self(samples)
    }

    /// The value of `name` with exactly `labels` (0 when absent).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut labels: Vec<(String, String)> =
            labels.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        labels.sort();
        self.0.get(&(name.to_owned(), labels)).copied().unwrap_or(0.0)
    }

    /// Whether any sample of `name` exists.
    fn has(&self, name: &str) -> bool {
        self.0.keys().any(|(n, _)| n == name)
    }

    /// Every label value of every sample.
    fn label_values(&self) -> impl Iterator<Item = &str> {
        self.0.keys().flat_map(|(_, labels)| labels.iter().map(|(_, v)| v.as_str()))
    }
}

/// `k="v",k2="v2"` (values escaped as the format says), sorted by key.
fn labels(raw: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some((key, after)) = rest.split_once("=\"") {
        let (mut value, mut chars) = (String::new(), after.char_indices());
        let end = loop {
            match chars.next().expect("a label value closes") {
                (_, '\\') => match chars.next().expect("an escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        out.push((key.trim_start_matches(',').to_owned(), value));
        rest = &after[end + 1..];
    }
    out.sort();
    out
}

async fn scrape(server: &TestServer) -> Scrape {
    let r = http().get(format!("{}/metrics", server.base_url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    Scrape::parse(&r.text().await.unwrap())
}

/// Scrapes until `done` holds; a bounded loop (each turn is one request), no sleeping.
async fn scrape_until(server: &TestServer, what: &str, done: impl Fn(&Scrape) -> bool) -> Scrape {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let s = scrape(server).await;
        if done(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} never showed in /metrics");
        tokio::task::yield_now().await;
    }
}

fn metrics_options(access: MetricsAccess, refresh: Duration) -> MetricsOptions {
    MetricsOptions { access, intent_types: IntentTypeLabels::new([LISTED.to_owned()]), refresh }
}

/// A server with metrics behind [`TOKEN`], its figures read every 10 ms, on a manual clock,
/// pushing to loopback with one retry at once.
async fn server() -> (TestServer, ManualClock) {
    let clock = ManualClock::new(START);
    let options = Options {
        clock: Arc::new(clock.clone()),
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse("0s,0s").unwrap(),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(5),
            policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
        },
        metrics: metrics_options(MetricsAccess::Token(TOKEN.into()), Duration::from_millis(10)),
        ..Options::from_env().expect("options")
    };
    (TestServer::spawn_with(options).await, clock)
}

async fn service_account(server: &TestServer, body: Value) {
    let r = http()
        .post(format!("{}/v1/service-accounts", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

async fn create(server: &TestServer, intent_type: &str, to: &str, deadline: Option<Timestamp>) -> IntentId {
    let mut request = notify(to);
    request.intent_type = intent_type.into();
    request.deadline_at = deadline;
    server.client().create_intent(&request, None).await.unwrap().intent_id
}

#[tokio::test]
async fn the_series_move_with_the_work_and_name_no_intent_or_key() {
    let (server, clock) = server().await;
    let backend = if server.on_postgres() { "postgres" } else { "sqlite" };
    let before = scrape(&server).await;
    let client = server.client();
    let created = |s: &Scrape, t: &str| s.get("axp_intents_created_total", &[("intent_type", t)]);
    let finished = |s: &Scrape, status: &str| {
        s.get("axp_intents_finished_total", &[("status", status), ("intent_type", LISTED)])
    };

    // Three intents queued for a poll agent, one of an unlisted type for an unknown address.
    service_account(&server, json!({"name": "metrics-poller", "delivery_mode": "poll"})).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(&server, LISTED, "metrics-poller", None).await);
    }
    let waiting = create(&server, UNLISTED, "metrics-nobody", None).await;
    ids.push(waiting);
    scrape_until(&server, "the queue depths and row counts", |s| {
        s.get("axp_queue_depth", &[("binding", "poll")]) == 3.0
            && s.get("axp_queue_depth", &[("binding", "none")]) == 1.0
            && s.get("axp_store_rows", &[("table", "intents")]) == 4.0
    })
    .await;

    // Two claimed and completed, the third canceled: the poll queue empties.
    let claimed = client.claim_intents("metrics-poller", 2, 0).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for work in &claimed {
        client.resolve(work.intent_id, &json!({"status": "COMPLETED", "result": {}})).await.unwrap();
    }
    let unclaimed = ids.iter().find(|id| claimed.iter().all(|c| c.intent_id != **id) && **id != waiting);
    client.cancel(*unclaimed.unwrap(), "not needed").await.unwrap();
    scrape_until(&server, "an empty poll queue", |s| s.get("axp_queue_depth", &[("binding", "poll")]) == 0.0)
        .await;

    // A push: refused once (retried), then delivered.
    let receiver = Receiver::start([Reply::Status(503), Reply::Status(200)]).await;
    let url = receiver.url.clone();
    service_account(
        &server,
        json!({"name": "metrics-pushed", "delivery_mode": "http", "delivery_config": {"url": url}}),
    )
    .await;
    ids.push(create(&server, LISTED, "metrics-pushed", None).await);
    let pushes = |s: &Scrape, outcome: &str| {
        s.get("axp_push_attempts_total", &[("kind", "agent_push"), ("outcome", outcome)])
    };
    scrape_until(&server, "a retried and a delivered push", |s| {
        pushes(s, "retried") >= pushes(&before, "retried") + 1.0
            && pushes(s, "delivered") >= pushes(&before, "delivered") + 1.0
    })
    .await;

    // A deadline the scheduler fires 5 s late (the clock jumps past it).
    let late = create(&server, LISTED, "metrics-nobody", Some(START.plus_seconds(10))).await;
    ids.push(late);
    let ended = {
        let client = server.client();
        tokio::spawn(async move { client.observe(late, 0).map(|e| e.unwrap()).collect::<Vec<_>>().await })
    };
    clock.advance_seconds(15);
    assert_eq!(ended.await.unwrap().last().unwrap().event_type, EventType::TimedOut);

    // An open SSE stream and a waiting claim are counted while they last.
    let stream = {
        let client = server.client();
        tokio::spawn(async move { client.observe(waiting, 0).map(|e| e.unwrap()).collect::<Vec<_>>().await })
    };
    let claim = {
        let client = server.client();
        tokio::spawn(async move { client.claim_intents("metrics-idle", 1, 60).await })
    };
    scrape_until(&server, "an open stream and a waiting claim", |s| {
        s.get("axp_streams_open", &[("kind", "sse")]) >= 1.0
            && s.get("axp_streams_open", &[("kind", "long_poll")]) >= 1.0
    })
    .await;
    stream.abort();
    claim.abort();

    let unmatched = http().get(format!("{}/v1/no-such-route", server.base_url)).send().await.unwrap();
    assert_eq!(unmatched.status(), 404);
    let after = scrape_until(&server, "the figures after the work", |s| {
        s.get("axp_store_rows", &[("table", "intents")]) == 6.0
            && s.get("axp_dead_letters", &[]) == 0.0
            && s.get("axp_oldest_unfinished_intent_age_seconds", &[]) >= 15.0
            && s.get(
                "axp_http_request_duration_seconds_count",
                &[("method", "GET"), ("route", "unmatched"), ("status_class", "4xx")],
            ) >= 1.0
    })
    .await;

    assert_eq!(created(&after, LISTED) - created(&before, LISTED), 5.0, "3 polled, 1 pushed, 1 timed out");
    assert!(created(&after, "other") > created(&before, "other"), "the unlisted type counts as other");
    assert_eq!(finished(&after, Status::Completed.as_str()) - finished(&before, "COMPLETED"), 2.0);
    assert_eq!(finished(&after, "CANCELED") - finished(&before, "CANCELED"), 1.0);
    assert_eq!(finished(&after, "TIMED_OUT") - finished(&before, "TIMED_OUT"), 1.0);
    let lag = |s: &Scrape, part: &str| s.get(&format!("axp_scheduler_lag_seconds_{part}"), &[]);
    assert!(lag(&after, "count") > lag(&before, "count"));
    assert!(lag(&after, "sum") - lag(&before, "sum") >= 5.0, "the deadline fired 5 s after it was due");
    let attempt = |s: &Scrape| s.get("axp_push_attempt_duration_seconds_count", &[("kind", "agent_push")]);
    assert!(attempt(&after) >= attempt(&before) + 2.0);
    let creates = |s: &Scrape| {
        s.get(
            "axp_http_request_duration_seconds_count",
            &[("method", "POST"), ("route", "/v1/intents"), ("status_class", "2xx")],
        )
    };
    assert!(creates(&after) >= creates(&before) + 6.0);
    let routed = after.get(
        "axp_http_request_duration_seconds_count",
        &[("method", "POST"), ("route", "/v1/intents/{intent_id}/resolve"), ("status_class", "2xx")],
    );
    assert!(routed >= 2.0, "requests are labelled with the route template");
    let batches = |s: &Scrape, name: &str| s.get(name, &[("backend", backend)]);
    assert!(
        batches(&after, "axp_store_commit_batch_size_count")
            > batches(&before, "axp_store_commit_batch_size_count")
    );
    assert!(batches(&after, "axp_store_commit_duration_seconds_count") > 0.0);
    assert!(after.get("axp_store_database_bytes", &[]) > 0.0);
    assert!(after.has("axp_store_stats_refresh_timestamp_seconds"));
    assert_eq!(after.has("axp_store_wal_bytes"), backend == "sqlite", "a WAL size on SQLite only");

    // Bounded labels: no intent id, key, address, token or unlisted type anywhere.
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    for value in after.label_values() {
        assert!(!ids.iter().any(|id| value.contains(id.as_str())), "an intent id in a label: {value}");
        assert!(!value.contains(&server.admin_key) && !value.contains(TOKEN), "a secret in a label");
        assert!(!value.contains("agent://") && !value.contains("metrics-"), "an address in a label: {value}");
        assert_ne!(value, UNLISTED, "an unlisted intent type is `other`");
    }
}

/// The status and error code of `GET /metrics` with `authorization` (and the admin key as
/// `x-api-key` when `with_key`).
async fn refused(server: &TestServer, authorization: Option<&str>, with_key: bool) -> (u16, Value) {
    let mut request = http().get(format!("{}/metrics", server.base_url));
    if let Some(a) = authorization {
        request = request.header("authorization", a);
    }
    if with_key {
        request = request.header("x-api-key", &server.admin_key);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn only_the_metrics_token_opens_it_unless_public() {
    let options = |access| Options {
        metrics: metrics_options(access, MetricsOptions::DEFAULT_REFRESH),
        ..Options::from_env().expect("options")
    };
    let guarded = TestServer::spawn_with(options(MetricsAccess::Token(TOKEN.into()))).await;
    let admin_bearer = format!("Bearer {}", guarded.admin_key);
    for (authorization, with_key, why) in [
        (None, false, "no token"),
        (Some("Bearer not-the-metrics-token-at-all"), false, "a wrong token"),
        (None, true, "an admin API key"),
        (Some(admin_bearer.as_str()), false, "an admin API key as the bearer"),
        (Some(&*format!("Basic {TOKEN}")), false, "the token, not as a bearer"),
    ] {
        let (status, body) = refused(&guarded, authorization, with_key).await;
        assert_eq!(status, 401, "{why}");
        assert_eq!(body["error"]["code"], "auth_failed", "{why}");
        assert!(body["detail"].as_str().unwrap().contains("AXP_METRICS_TOKEN"), "{why}");
    }
    let r = http().get(format!("{}/metrics", guarded.base_url)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("# TYPE axp_http_request_duration_seconds histogram"));

    let public = TestServer::spawn_with(options(MetricsAccess::Public)).await;
    assert_eq!(refused(&public, None, false).await.0, 200, "public mode needs no token");

    let off = TestServer::spawn_with(options(MetricsAccess::Off)).await;
    let (status, body) = refused(&off, Some(&format!("Bearer {TOKEN}")), true).await;
    assert_eq!(status, 404, "off unless turned on");
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["detail"].as_str().unwrap().contains("AXP_METRICS_PUBLIC=1"), "it says how to turn it on");

    // An engine-only replica (which counts the pushes and timers) serves it too.
    let engine =
        TestServer::spawn_with(Options { role: Role::Engine, ..options(MetricsAccess::Public) }).await;
    assert_eq!(refused(&engine, None, false).await.0, 200);
}
