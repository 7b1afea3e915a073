//! The `http` binding end to end against real receivers on loopback: signatures, retries and
//! their order, dead letters and replay, inline results, redirects, delivery failure, and the
//! SSRF guard. Waiting is on conditions (store commits), never on sleeps.

use std::sync::Arc;
use std::time::Duration;

use axp_core::delivery::{Binding, Delivery, DeliveryStatus};
use axp_core::{EventType, IntentId, Status, Timestamp};
use axp_engine::{Clock, DispatcherOptions, ManualClock, OutboundPolicy, RetrySchedule, SystemClock};
use axp_server::Options;
use axp_store::Topic;
use axp_test_util::TestServer;
use axp_test_util::receiver::{Receiver, Reply};
use base64::Engine as _;
use futures::StreamExt;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::{http, notify};

fn options(clock: Arc<dyn Clock>, schedule: &str, allow: &str) -> Options {
    Options {
        clock,
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse(schedule).unwrap(),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(1),
            policy: OutboundPolicy::parse(allow).unwrap(),
        },
        ..Options::from_env().expect("options")
    }
}

/// A server that may push to loopback, retrying at once.
pub(crate) async fn server(schedule: &str) -> TestServer {
    TestServer::spawn_with(options(Arc::new(SystemClock), schedule, "127.0.0.0/8")).await
}

/// Registers an `http` agent; returns its signing secret.
pub(crate) async fn http_agent(server: &TestServer, name: &str, url: &str) -> String {
    let r = http()
        .post(format!("{}/v1/service-accounts", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&json!({"name": name, "delivery_mode": "http", "delivery_config": {"url": url}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["service_account"]["delivery_mode"], "http");
    body["service_account"]["delivery_config"]["secret"]
        .as_str()
        .expect("the secret is shown once")
        .to_owned()
}

/// The intent's latest push delivery, once `done` holds for it.
pub(crate) async fn delivery_when(
    server: &TestServer,
    intent: IntentId,
    done: impl Fn(&Delivery) -> bool,
) -> Delivery {
    let mut wake = server.state().notifier.subscribe(Topic::Deliveries);
    for _ in 0..500 {
        wake.mark_seen();
        let all = server.state().store.list_deliveries(&server.admin.tenant, None, 100).await.unwrap();
        if let Some(d) = all.into_iter().find(|d| d.intent_id == Some(intent) && done(d)) {
            return d;
        }
        tokio::time::timeout(Duration::from_secs(30), wake.changed()).await.expect("a delivery changed");
    }
    panic!("the delivery never reached the expected state");
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

#[tokio::test]
async fn pushes_are_signed_both_ways_and_deliver_the_intent() {
    let server = server("0s").await;
    let mut receiver = Receiver::start([]).await;
    let secret = http_agent(&server, "pusher", &receiver.url).await;
    let id = server.client().create_intent(&notify("pusher"), None).await.unwrap().intent_id;

    let got = receiver.next().await;
    assert_eq!(got.header("content-type"), "application/json");
    let expected_axme = format!("sha256={}", hex::encode(hmac_sha256(secret.as_bytes(), &[&got.body])));
    assert_eq!(got.header("x-axme-signature"), expected_axme);
    let (msg_id, ts) = (got.header("webhook-id"), got.header("webhook-timestamp"));
    let key =
        base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let signed = hmac_sha256(&key, &[msg_id.as_bytes(), b".", ts.as_bytes(), b".", &got.body]);
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(signed));
    assert_eq!(got.header("webhook-signature"), expected);
    assert!(ts.parse::<i64>().is_ok());
    let frame = got.json();
    assert_eq!(frame["intent_id"], id.to_string());
    assert_eq!(frame["event_type"], "intent.delivered");
    assert_eq!(frame["status"], "DELIVERED");
    assert_eq!(frame["payload"]["text"], "hello");
    assert_eq!(frame["delivery_attempt"], 1);

    let delivered = delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(delivered.attempts.len(), 1);
    assert_eq!(delivered.attempts[0].status_code, Some(200));
    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!(intent.status, Status::Delivered);
    assert!(intent.lease_expires_at.is_some(), "a successful push is leased");
}

#[tokio::test]
async fn failures_are_retried_with_a_stable_webhook_id_until_delivered() {
    let server = server("0s,0s,0s,0s").await;
    let mut receiver = Receiver::start([Reply::Status(503), Reply::Status(500)]).await;
    http_agent(&server, "flaky", &receiver.url).await;
    let id = server.client().create_intent(&notify("flaky"), None).await.unwrap().intent_id;
    let attempts: Vec<_> = vec![receiver.next().await, receiver.next().await, receiver.next().await];
    let delivered = delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    let codes: Vec<_> = delivered.attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [Some(503), Some(500), Some(200)]);
    assert_eq!(
        attempts.iter().map(|a| a.header("x-axp-attempt").to_owned()).collect::<Vec<_>>(),
        ["1", "2", "3"]
    );
    assert!(attempts.iter().all(|a| a.header("webhook-id") == delivered.message_id), "webhook-id is stable");
    assert!(receiver.try_next().is_none(), "no attempt after success");
    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!((intent.status, intent.delivery_attempt), (Status::Delivered, 3));
}

#[tokio::test]
async fn backoff_follows_the_schedule_and_honours_retry_after() {
    let start = Timestamp::from_millis(1_780_000_000_000);
    let clock = ManualClock::new(start);
    let server = TestServer::spawn_with(options(Arc::new(clock.clone()), "0s,30s,120s", "127.0.0.0/8")).await;
    let mut receiver = Receiver::start([Reply::Status(503), Reply::RetryAfter(429, 300)]).await;
    http_agent(&server, "slow", &receiver.url).await;
    let id = server.client().create_intent(&notify("slow"), None).await.unwrap().intent_id;

    receiver.next().await;
    let first = delivery_when(&server, id, |d| d.attempt == 1 && d.status == DeliveryStatus::Pending).await;
    let wait = first.next_attempt_at.unwrap().as_millis() - start.as_millis();
    assert!((24_000..=36_000).contains(&wait), "30 s ± 20 %: {wait} ms");
    clock.advance_seconds(23);
    assert!(receiver.try_next().is_none(), "not before the backoff");
    clock.advance_seconds(13);
    receiver.next().await;
    let second = delivery_when(&server, id, |d| d.attempt == 2 && d.status == DeliveryStatus::Pending).await;
    let wait = second.next_attempt_at.unwrap().as_millis() - clock.now().as_millis();
    assert_eq!(wait, 300_000, "Retry-After: 300 beats 120 s ± 20 %");
    clock.advance_seconds(300);
    receiver.next().await;
    let done = delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(
        done.attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(),
        [Some(503), Some(429), Some(200)]
    );
}

#[tokio::test]
async fn a_receiver_that_never_answers_is_dead_lettered_then_replayed() {
    let server = server("0s,0s").await;
    let mut receiver = Receiver::start([Reply::Hang, Reply::Hang]).await;
    http_agent(&server, "silent", &receiver.url).await;
    let id = server.client().create_intent(&notify("silent"), None).await.unwrap().intent_id;
    let dead = delivery_when(&server, id, |d| d.status == DeliveryStatus::DeadLettered).await;
    assert_eq!(dead.attempts.len(), 2);
    assert!(
        dead.attempts
            .iter()
            .all(|a| a.status_code.is_none() && a.error.as_deref().unwrap_or("").contains("timed out"))
    );
    receiver.next().await;
    receiver.next().await;
    assert_eq!(
        server.client().get_intent(id).await.unwrap().status,
        Status::Submitted,
        "no attempt limit: it stays open"
    );

    let listed: Value = http()
        .get(format!("{}/v1/deliveries?status=dead_lettered", server.base_url))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["deliveries"][0]["delivery_id"], dead.delivery_id.to_string());

    let replayed: Value = http()
        .post(format!("{}/v1/deliveries/{}/replay", server.base_url, dead.delivery_id))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(replayed["delivery"]["replay_of_delivery_id"], dead.delivery_id.to_string());
    assert_eq!(replayed["delivery"]["message_id"], dead.message_id);
    let again = receiver.next().await;
    assert_eq!(again.header("webhook-id"), dead.message_id, "a replay is the same message");
    delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Delivered);

    let twice = http()
        .post(format!("{}/v1/deliveries/{}/replay", server.base_url, delivery_id_of(&replayed)))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(twice.status(), 200, "a delivered delivery may be replayed too");
}

/// The `delivery_id` of a `{"delivery": …}` body.
fn delivery_id_of(body: &Value) -> String {
    body["delivery"]["delivery_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn exhausting_max_delivery_attempts_fails_the_intent() {
    let server = server("0s,0s,0s,0s").await;
    let mut receiver = Receiver::start([Reply::Status(500), Reply::Status(500), Reply::Status(500)]).await;
    http_agent(&server, "broken", &receiver.url).await;
    let mut request = notify("broken");
    request.max_delivery_attempts = Some(2);
    let id = server.client().create_intent(&request, None).await.unwrap().intent_id;
    let client = server.client();
    let events: Vec<_> = client.observe(id, 0).map(|e| e.unwrap()).collect().await;
    let last = events.last().unwrap();
    assert_eq!((last.event_type, last.status), (EventType::DeliveryFailed, Status::Failed));
    assert_eq!(last.details["max_delivery_attempts"], 2);
    let d = delivery_when(&server, id, |d| d.status == DeliveryStatus::Failed).await;
    assert_eq!(d.attempts.len(), 2);
    receiver.next().await;
    receiver.next().await;
    assert!(receiver.try_next().is_none(), "no third attempt");
}

#[tokio::test]
async fn a_2xx_with_a_result_completes_inline_and_redirects_are_not_followed() {
    let server = server("0s").await;
    let mut receiver =
        Receiver::start([Reply::Json(200, json!({"result": {"report_url": "https://r/1"}}))]).await;
    http_agent(&server, "inline", &receiver.url).await;
    let id = server.client().create_intent(&notify("inline"), None).await.unwrap().intent_id;
    let events: Vec<_> = server.client().observe(id, 0).map(|e| e.unwrap()).collect().await;
    let kinds: Vec<_> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        kinds,
        [
            EventType::Created,
            EventType::Submitted,
            EventType::Delivered,
            EventType::InProgress,
            EventType::Completed
        ]
    );
    assert_eq!(events[4].details["result"]["report_url"], "https://r/1");
    assert_eq!(events[4].actor, "agent://default/default/inline");
    receiver.next().await;

    let mut redirecting = Receiver::start([Reply::Redirect("http://127.0.0.1:9/elsewhere")]).await;
    http_agent(&server, "redirect", &redirecting.url).await;
    let id = server.client().create_intent(&notify("redirect"), None).await.unwrap().intent_id;
    let d = delivery_when(&server, id, |d| d.status == DeliveryStatus::DeadLettered).await;
    assert_eq!(d.last_response_code, Some(302));
    assert!(d.error_detail.unwrap().contains("redirects are not followed"));
    redirecting.next().await;
}

#[tokio::test]
async fn the_ssrf_guard_refuses_blocked_endpoints() {
    let server = TestServer::spawn_with(options(Arc::new(SystemClock), "0s", "")).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://2130706433/",
        "http://[::ffff:127.0.0.1]/",
        "http://169.254.169.254/latest",
        "http://10.1.2.3/",
        "ftp://example.com/",
    ] {
        let r = http()
            .post(format!("{}/v1/service-accounts", server.base_url))
            .header("x-api-key", &server.admin_key)
            .json(&json!({"name": "evil", "delivery_mode": "http", "delivery_config": {"url": url}}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{url}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["errors"][0]["loc"][1], "delivery_config.url");
    }
    // A name that resolves only to blocked addresses is refused at registration too (a bounded
    // lookup), for push bindings and webhook subscriptions alike; a name that does not resolve is
    // accepted (it is checked again at delivery).
    let receiver = Receiver::start([]).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let register = |url: String| {
        let body = json!({"name": "by-name", "delivery_mode": "http", "delivery_config": {"url": url}});
        http()
            .post(format!("{}/v1/service-accounts", server.base_url))
            .header("x-api-key", &server.admin_key)
            .json(&body)
            .send()
    };
    let r = register(by_name.clone()).await.unwrap();
    assert_eq!(r.status(), 422, "localhost resolves to loopback only");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["loc"][1], "delivery_config.url");
    assert!(body["errors"][0]["msg"].as_str().unwrap().contains("resolves only to blocked"), "{body}");
    let subscribe = |url: &str| {
        let body = json!({"callback_url": url, "event_types": ["intent.completed"]});
        http()
            .post(format!("{}/v1/webhooks/subscriptions", server.base_url))
            .header("x-api-key", &server.admin_key)
            .json(&body)
            .send()
    };
    assert_eq!(subscribe(&by_name).await.unwrap().status(), 422);
    assert_eq!(subscribe("https://integrator.example/hook").await.unwrap().status(), 200, "unresolvable");
    http_agent(&server, "unresolvable", "https://integrator.example/hook").await;

    // An operator's allow-list opens the name again.
    let open = TestServer::spawn_with(options(Arc::new(SystemClock), "0s", "127.0.0.0/8")).await;
    http_agent(&open, "by-name", &by_name).await;
}

#[tokio::test]
async fn agents_can_switch_binding_and_are_listed_with_their_state() {
    let server = server("0s").await;
    let (_, key) = server.agent("switcher", None).await;
    let mut receiver = Receiver::start([]).await;
    let url = format!("{}/v1/agents/switcher/delivery", server.base_url);
    let binding = json!({"delivery_mode": "http", "delivery_config": {"url": receiver.url}});
    let own = http().put(&url).header("x-api-key", &key).json(&binding).send().await.unwrap();
    assert_eq!(own.status(), 403, "bindings are for admins, even an agent's own");
    let agent = server.client().get_agent("switcher").await.unwrap();
    assert_eq!(agent.delivery_mode, Some(Binding::Stream), "the refused call changed nothing");
    let r: Value = http()
        .put(&url)
        .header("x-api-key", &server.admin_key)
        .json(
            &json!({"delivery_mode": "http", "delivery_config": {"url": receiver.url}, "lease_seconds": 120}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["agent"]["delivery_mode"], "http");
    assert!(r["agent"]["delivery_config"]["secret"].as_str().unwrap().starts_with("whsec_"));
    let id = server.client().create_intent(&notify("switcher"), None).await.unwrap().intent_id;
    receiver.next().await;
    delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    let intent = server.client().get_intent(id).await.unwrap();
    let lease = intent.lease_expires_at.unwrap().as_millis() - intent.updated_at.as_millis();
    assert_eq!(lease, 120_000, "the agent's lease setting applies");

    let listed: Value = http()
        .get(format!("{}/v1/agents", server.base_url))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me = listed["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["service_account_name"] == "switcher")
        .unwrap();
    assert_eq!(me["delivery_mode"], "http");
    assert!(me["delivery_config"].get("secret").is_none(), "the secret is never shown again");
    assert_eq!(me["connection_state"], "disconnected");
    let bad = http()
        .put(&url)
        .header("x-api-key", &server.admin_key)
        .json(&json!({"delivery_mode": "carrier-pigeon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn scenario_agents_may_use_the_http_binding() {
    let server = server("0s").await;
    let mut receiver = Receiver::start([]).await;
    let bundle = json!({
        "scenario_id": "push.demo.v1",
        "agents": [{"role": "svc", "address": "report-hook", "create_if_missing": true,
                    "delivery_mode": "http", "delivery_config": {"url": receiver.url}}],
        "workflow": {"steps": [{"step_id": "generate", "tool_id": "tool.agent.task.v1", "assigned_to": "svc"}]},
        "intent": {"type": "intent.report.generate.v1", "payload": {"year": 2025}}
    });
    let applied = server.client().apply_scenario(&bundle, None).await.unwrap();
    let agent = &applied.agents_provisioned[0];
    assert_eq!(agent.delivery_mode, axp_core::delivery::Binding::Http);
    let config = agent.delivery_config.as_ref().expect("a new http agent's config");
    assert!(config["secret"].as_str().unwrap().starts_with("whsec_"));
    let got = receiver.next().await.json();
    assert_eq!(got["intent_id"], applied.intent_id.to_string());
    assert_eq!(got["step_id"], "generate");

    let mut blocked = bundle.clone();
    blocked["agents"][0]["delivery_config"]["url"] = json!("http://169.254.169.254/");
    blocked["agents"][0]["address"] = json!("other-hook");
    let report = server.client().validate_scenario(&blocked).await.unwrap();
    assert!(!report.valid);
    assert!(report.errors[0].contains("delivery_config.url"), "{:?}", report.errors);
}

#[tokio::test]
async fn a_pending_retry_survives_a_restart_and_is_sent_once() {
    let start = Timestamp::from_millis(1_780_000_000_000);
    let clock = ManualClock::new(start);
    let server = TestServer::spawn_with(options(Arc::new(clock.clone()), "0s,60s,60s", "127.0.0.1/32")).await;
    let mut receiver = Receiver::start([Reply::Status(503)]).await;
    http_agent(&server, "restarts", &receiver.url).await;
    let id = server.client().create_intent(&notify("restarts"), None).await.unwrap().intent_id;
    receiver.next().await;
    let pending = delivery_when(&server, id, |d| d.attempt == 1 && d.status == DeliveryStatus::Pending).await;
    assert!(pending.next_attempt_at.unwrap() > start.plus_seconds(40));

    let server = server.restart().await;
    clock.advance_seconds(72);
    let second = receiver.next().await;
    assert_eq!(second.header("x-axp-attempt"), "2");
    let done = delivery_when(&server, id, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(done.attempts.len(), 2, "the retry was sent once");
    assert!(receiver.try_next().is_none());
}

#[tokio::test]
async fn past_the_daily_push_quota_a_delivery_waits_for_the_next_utc_day() {
    // 10 s into a UTC day.
    let start = Timestamp::from_millis(1_780_272_010_000);
    let midnight = Timestamp::from_millis(1_780_272_000_000 + 86_400_000);
    let clock = ManualClock::new(start);
    let server = TestServer::spawn_with(options(Arc::new(clock.clone()), "0s", "127.0.0.0/8")).await;
    let patch = json!({"dimensions": {"webhook_deliveries_per_day": 1}});
    let r = http()
        .patch(format!("{}/v1/quotas", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut receiver = Receiver::start([]).await;
    http_agent(&server, "metered", &receiver.url).await;

    let first = server.client().create_intent(&notify("metered"), None).await.unwrap().intent_id;
    assert_eq!(receiver.next().await.json()["intent_id"], first.to_string());
    delivery_when(&server, first, |d| d.status == DeliveryStatus::Delivered).await;

    let second = server.client().create_intent(&notify("metered"), None).await.unwrap().intent_id;
    let deferred = delivery_when(&server, second, |d| d.error_detail.is_some()).await;
    assert_eq!(
        (deferred.status, deferred.attempt, deferred.next_attempt_at),
        (DeliveryStatus::Pending, 0, Some(midnight)),
        "deferred to the start of the next UTC day"
    );
    assert!(deferred.attempts.is_empty(), "not attempted");
    assert!(deferred.error_detail.as_deref().unwrap().contains("webhook_deliveries_per_day"));
    assert!(receiver.try_next().is_none(), "nothing was sent");
    let intent = server.client().get_intent(second).await.unwrap();
    assert_eq!((intent.status, intent.delivery_attempt), (Status::Submitted, 0), "no failure counted");
    let tenant = &server.admin.tenant;
    let dead = server.state().store.list_deliveries(tenant, Some(DeliveryStatus::DeadLettered), 10).await;
    assert!(dead.unwrap().is_empty(), "nothing dead-lettered");
    let summary: Value = http()
        .get(format!("{}/v1/usage/summary", server.base_url))
        .header("x-api-key", &server.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["summary"]["dimensions"]["webhook_deliveries_per_day"]["used"], 1, "{summary}");

    server.state().meter.flush(clock.now()).await.unwrap();
    clock.advance_seconds(1);
    assert!(receiver.try_next().is_none(), "not before midnight");
    clock.advance_seconds(86_400 - 11);
    assert_eq!(receiver.next().await.json()["intent_id"], second.to_string(), "sent the next day");
    let done = delivery_when(&server, second, |d| d.status == DeliveryStatus::Delivered).await;
    assert_eq!(done.attempts.len(), 1);
    assert_eq!(done.attempts[0].at, midnight);
}
