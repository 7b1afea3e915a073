//! Webhook subscriptions and events (contract §5.4, Appendix A checks 32–33) against a real
//! receiver on loopback.

use std::sync::Arc;
use std::time::Duration;

use axp_engine::{DispatcherOptions, OutboundPolicy, RetrySchedule, SystemClock};
use axp_server::Options;
use axp_test_util::TestServer;
use axp_test_util::receiver::Receiver;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

async fn server() -> TestServer {
    TestServer::spawn_with(Options {
        clock: Arc::new(SystemClock),
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse("0s").unwrap(),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(2),
            policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
        },
        ..Options::from_env().expect("options")
    })
    .await
}

async fn call(server: &TestServer, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = http().request(method, format!("{}{path}", server.base_url)).bearer_auth(&server.admin_key);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn subscriptions_have_the_conformance_shape_and_upsert_by_url() {
    let server = server().await;
    let body = json!({"callback_url": "https://integrator.example/webhooks/axme", "event_types": ["inbox.thread_created"], "active": true, "description": "conformance subscription"});
    let (status, created) =
        call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(body.clone())).await;
    assert_eq!(status, 200, "{created}");
    let sub = &created["subscription"];
    for key in [
        "subscription_id",
        "owner_agent",
        "callback_url",
        "event_types",
        "active",
        "created_at",
        "updated_at",
        "revoked_at",
        "secret_hint",
    ] {
        assert!(sub.get(key).is_some(), "missing {key}");
    }
    assert_eq!(sub["owner_agent"], "agent://default/default/admin", "the owner defaults to the key's agent");
    assert!(sub["secret_hint"].as_str().unwrap().starts_with("****"));
    let secret = sub["secret"].as_str().expect("a generated secret is shown once");
    assert!(
        secret.starts_with("whsec_")
            && sub["secret_hint"].as_str().unwrap().ends_with(&secret[secret.len() - 4..])
    );
    let id = sub["subscription_id"].as_str().unwrap().to_owned();

    let (_, listed) = call(
        &server,
        reqwest::Method::GET,
        "/v1/webhooks/subscriptions?owner_agent=agent://default/default/admin",
        None,
    )
    .await;
    assert_eq!(listed["subscriptions"][0]["subscription_id"], id);
    let (status, revoked) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/subscriptions/{id}?owner_agent=agent://default/default/admin"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(revoked["subscription_id"], id);
    assert!(revoked["revoked_at"].is_string());
    let (_, listed) = call(&server, reqwest::Method::GET, "/v1/webhooks/subscriptions", None).await;
    assert!(listed["subscriptions"].as_array().unwrap().is_empty(), "revoked subscriptions are inactive");

    let (_, again) = call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(body)).await;
    assert_eq!(again["subscription"]["subscription_id"], id, "upsert by (owner, callback_url)");
    assert!(again["subscription"].get("secret").is_none(), "never shown again");
    assert_eq!(again["subscription"]["active"], true, "re-upserting reactivates");
    assert_eq!(again["subscription"]["revoked_at"], Value::Null);

    let (status, _) = call(
        &server,
        reqwest::Method::DELETE,
        &format!("/v1/webhooks/subscriptions/{}", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let bad = json!({"callback_url": "http://169.254.169.254/", "event_types": ["inbox.thread_created"]});
    assert_eq!(call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(bad)).await.0, 422);
    let bad = json!({"callback_url": "https://x.example/hook", "event_types": ["nope"]});
    assert_eq!(call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(bad)).await.0, 422);
}

#[tokio::test]
async fn events_reach_matching_subscriptions_signed_and_can_be_replayed() {
    let server = server().await;
    let mut receiver = Receiver::start([]).await;
    let sub = json!({"callback_url": receiver.url, "event_types": ["inbox.thread_created"], "secret": "a-shared-secret-of-length"});
    call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(sub)).await;

    let event = json!({"event_type": "inbox.thread_created", "source": "conformance", "payload": {"thread_id": uuid::Uuid::new_v4()}});
    let (status, published) = call(&server, reqwest::Method::POST, "/v1/webhooks/events", Some(event)).await;
    assert_eq!(status, 200, "{published}");
    for counter in ["queued_deliveries", "processed_deliveries", "delivered", "pending", "dead_lettered"] {
        assert!(published[counter].is_u64(), "{counter}");
    }
    assert_eq!(published["queued_deliveries"], 1);
    let keys = |body: &Value| body.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    let counters = ["dead_lettered", "delivered", "pending", "processed_deliveries", "queued_deliveries"];
    let mut expected = vec!["accepted_at", "event_id", "event_type", "ok", "owner_agent", "source"];
    expected.extend(counters);
    expected.sort_unstable();
    assert_eq!(keys(&published), expected, "publish has no replayed_at, not even null");
    let got = receiver.next().await;
    let body = got.json();
    assert_eq!(body["event_id"], published["event_id"]);
    assert_eq!(body["event_type"], "inbox.thread_created");
    assert_eq!(body["source"], "conformance");
    assert!(got.header("x-axme-signature").starts_with("sha256="));
    let webhook_id = got.header("webhook-id").to_owned();

    let unmatched = json!({"event_type": "invite.accepted", "source": "conformance", "payload": {}});
    let (_, none) = call(&server, reqwest::Method::POST, "/v1/webhooks/events", Some(unmatched)).await;
    assert_eq!(none["queued_deliveries"], 0, "no subscription names it");

    let event_id = published["event_id"].as_str().unwrap();
    let (status, replayed) =
        call(&server, reqwest::Method::POST, &format!("/v1/webhooks/events/{event_id}/replay"), None).await;
    assert_eq!(status, 200);
    assert_eq!(replayed["event_id"], event_id);
    assert!(replayed["replayed_at"].is_string());
    let mut expected = vec!["event_id", "event_type", "ok", "owner_agent", "replayed_at"];
    expected.extend(counters);
    expected.sort_unstable();
    assert_eq!(keys(&replayed), expected, "replay has no source or accepted_at, not even null");
    assert_eq!(replayed["queued_deliveries"], 2);
    let again = receiver.next().await;
    assert_eq!(again.header("webhook-id"), webhook_id, "the same event keeps its webhook-id");
    let (status, _) = call(
        &server,
        reqwest::Method::POST,
        &format!("/v1/webhooks/events/{}/replay", uuid::Uuid::new_v4()),
        None,
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn lifecycle_events_go_to_subscribed_owners() {
    let server = server().await;
    let mut receiver = Receiver::start([]).await;
    let sub = json!({"callback_url": receiver.url, "event_types": ["intent.completed", "intent.failed"]});
    call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(sub)).await;
    let id = server.client().create_intent(&notify("worker"), None).await.unwrap().intent_id;
    server.client().resolve(id, &json!({"status": "COMPLETED", "result": {"n": 7}})).await.unwrap();
    let got = receiver.next().await.json();
    assert_eq!(got["event_type"], "intent.completed");
    assert_eq!(got["source"], "axp");
    assert_eq!(got["owner_agent"], "agent://default/default/admin");
    assert_eq!(got["payload"]["intent_id"], id.to_string());
    assert_eq!(got["payload"]["details"]["result"]["n"], 7);
    assert!(receiver.try_next().is_none(), "created/submitted were not subscribed");
}

#[tokio::test]
async fn a_webhook_past_the_daily_push_quota_is_deferred_not_sent() {
    let server = server().await;
    let patch = json!({"dimensions": {"webhook_deliveries_per_day": 0}});
    assert_eq!(call(&server, reqwest::Method::PATCH, "/v1/quotas", Some(patch)).await.0, 200);
    let mut receiver = Receiver::start([]).await;
    let sub = json!({"callback_url": receiver.url, "event_types": ["inbox.thread_created"], "secret": "a-shared-secret-of-length"});
    call(&server, reqwest::Method::POST, "/v1/webhooks/subscriptions", Some(sub)).await;
    let mut wake = server.state().notifier.subscribe(axp_store::Topic::Deliveries);
    wake.mark_seen();
    let event = json!({"event_type": "inbox.thread_created", "source": "conformance", "payload": {}});
    let (status, published) = call(&server, reqwest::Method::POST, "/v1/webhooks/events", Some(event)).await;
    assert_eq!((status, &published["queued_deliveries"]), (200, &json!(1)), "{published}");

    let tenant = &server.admin.tenant;
    let mut deferred = None;
    for _ in 0..100 {
        let all = server.state().store.list_deliveries(tenant, None, 10).await.unwrap();
        if let Some(d) = all.into_iter().find(|d| d.error_detail.is_some()) {
            deferred = Some(d);
            break;
        }
        tokio::time::timeout(Duration::from_secs(30), wake.changed()).await.expect("a delivery changed");
        wake.mark_seen();
    }
    let d = deferred.expect("the delivery was deferred");
    assert_eq!((d.status.as_str(), d.attempt), ("pending", 0));
    assert!(d.attempts.is_empty());
    let midnight = axp_core::quota::next_day_start(server.state().clock.now());
    assert_eq!(d.next_attempt_at, Some(midnight));
    assert!(receiver.try_next().is_none(), "nothing was sent");
}
