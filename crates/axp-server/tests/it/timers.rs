//! Durable time, driven by a manual clock: deadlines, leases and redelivery, delivery failure,
//! poll claims and timers that survive a restart. Nothing here sleeps: the test moves the clock
//! and waits on the lifecycle stream for the result.

use std::sync::Arc;

use axp_client::AgentStreamItem;
use axp_core::api::AgentDelivery;
use axp_core::{EventType, IntentEvent, IntentId, Status, Timestamp};
use axp_engine::ManualClock;
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

const START: Timestamp = Timestamp::from_millis(1_780_000_000_000);

async fn server() -> (TestServer, ManualClock) {
    let clock = ManualClock::new(START);
    (TestServer::spawn_with_clock(Arc::new(clock.clone())).await, clock)
}

/// Follows an intent's lifecycle to its end in the background.
fn follow(server: &TestServer, id: IntentId) -> tokio::task::JoinHandle<Vec<IntentEvent>> {
    let client = server.client();
    tokio::spawn(async move { client.observe(id, 0).map(|e| e.unwrap()).collect().await })
}

/// Takes the deliveries of one agent stream response.
async fn deliveries(server: &TestServer, key: &str, address: &str, since: u64) -> Vec<AgentDelivery> {
    server
        .client_with_key(key)
        .listen_once(address, since, 1)
        .filter_map(|i| async move {
            match i.unwrap() {
                AgentStreamItem::Delivery(d) => Some(*d),
                _ => None,
            }
        })
        .collect()
        .await
}

#[tokio::test]
async fn deadline_at_times_out_exactly_once() {
    let (server, clock) = server().await;
    let mut request = notify("nobody-listens");
    request.deadline_at = Some(START.plus_seconds(30));
    let id = server.client().create_intent(&request, None).await.unwrap().intent_id;
    let events = follow(&server, id);
    clock.advance_seconds(29);
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Submitted);
    clock.advance_seconds(1);
    let events = events.await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.event_type, EventType::TimedOut);
    assert_eq!(last.details["deadline_at"], START.plus_seconds(30).to_string());
    clock.advance_seconds(3600);
    let all = server.client().list_events(id, 0).await.unwrap().events;
    assert_eq!(all.iter().filter(|e| e.event_type == EventType::TimedOut).count(), 1);
}

#[tokio::test]
async fn an_unacknowledged_lease_redelivers_to_another_connection() {
    let (server, clock) = server().await;
    let (_, key) = server.agent("worker", None).await;
    let id = server.client().create_intent(&notify("worker"), None).await.unwrap().intent_id;

    let first = deliveries(&server, &key, "worker", 0).await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].delivery_attempt, first[0].status), (1, Status::Delivered));
    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!(intent.lease_expires_at, Some(START.plus_seconds(60)), "default lease: 60 s");

    // The first agent goes silent; its lease runs out and the intent is queued again.
    let mut listener = Box::pin(server.client_with_key(&key).listen("worker", first[0].seq));
    clock.advance_seconds(60);
    let second = listener.next().await.unwrap().unwrap();
    assert_eq!((second.intent_id, second.delivery_attempt), (id, 2));
    assert!(second.seq > first[0].seq, "the redelivery is a new queue item");
    let agent = server.client_with_key(&key);
    agent.resume(id, &json!({"action": "complete", "by": "second"})).await.unwrap();

    let late = agent.resume(id, &json!({"action": "complete", "by": "first"})).await.unwrap_err();
    assert_eq!(late.status(), Some(409), "the first agent's late resume is refused");
    let events = server.client().list_events(id, 0).await.unwrap().events;
    let delivered: Vec<_> = events.iter().filter(|e| e.event_type == EventType::Delivered).collect();
    assert_eq!(delivered.len(), 2);
    assert_eq!(delivered[1].details["redelivery"], true);
    assert_eq!(server.client().get_intent(id).await.unwrap().result.unwrap()["by"], "second");
}

#[tokio::test]
async fn acknowledged_and_started_intents_are_not_redelivered() {
    let (server, clock) = server().await;
    let (_, key) = server.agent("acker", None).await;
    let agent = server.client_with_key(&key);
    let a = server.client().create_intent(&notify("acker"), None).await.unwrap().intent_id;
    let b = server.client().create_intent(&notify("acker"), None).await.unwrap().intent_id;
    let handed = deliveries(&server, &key, "acker", 0).await;
    assert_eq!(handed.len(), 2);
    let acked = agent.resume(a, &json!({"action": "acknowledge"})).await.unwrap();
    assert_eq!(acked.event.unwrap().event_type, EventType::Acknowledged);
    agent.resume(b, &json!({"approve_current_step": true})).await.unwrap();
    clock.advance_seconds(600);
    // The scheduler fires due timers earliest first: once a marker intent's deadline at +600 s
    // has fired, the leases that ran out at +60 s have been handled too.
    let mut marker = notify("nobody");
    marker.deadline_at = Some(START.plus_seconds(600));
    let marker = server.client().create_intent(&marker, None).await.unwrap().intent_id;
    follow(&server, marker).await.unwrap();
    assert_eq!(server.client().get_intent(a).await.unwrap().status, Status::Acknowledged);
    assert_eq!(server.client().get_intent(b).await.unwrap().status, Status::InProgress);
    assert!(deliveries(&server, &key, "acker", handed[1].seq).await.is_empty(), "nothing was queued again");
}

#[tokio::test]
async fn max_delivery_attempts_ends_in_delivery_failed() {
    let (server, clock) = server().await;
    let (_, key) = server.agent("flaky", None).await;
    let mut request = notify("flaky");
    request.max_delivery_attempts = Some(2);
    let id = server.client().create_intent(&request, None).await.unwrap().intent_id;
    let events = follow(&server, id);
    let mut listener = Box::pin(server.client_with_key(&key).listen("flaky", 0));
    assert_eq!(listener.next().await.unwrap().unwrap().delivery_attempt, 1);
    clock.advance_seconds(60);
    assert_eq!(listener.next().await.unwrap().unwrap().delivery_attempt, 2);
    clock.advance_seconds(60);
    let events = events.await.unwrap();
    let last = events.last().unwrap();
    assert_eq!((last.event_type, last.status), (EventType::DeliveryFailed, Status::Failed));
    assert_eq!(last.details["delivery_attempt"], 2);
    assert_eq!(last.details["max_delivery_attempts"], 2);
}

#[tokio::test]
async fn pending_timers_survive_a_restart_and_fire_once() {
    let (server, clock) = server().await;
    let mut request = notify("nobody");
    request.deadline_at = Some(START.plus_seconds(120));
    let id = server.client().create_intent(&request, None).await.unwrap().intent_id;
    let server = server.restart().await;
    let events = follow(&server, id);
    clock.advance_seconds(120);
    assert_eq!(events.await.unwrap().last().unwrap().event_type, EventType::TimedOut);
    let server = server.restart().await;
    let all = server.client().list_events(id, 0).await.unwrap().events;
    assert_eq!(all.iter().filter(|e| e.event_type == EventType::TimedOut).count(), 1);
}

#[tokio::test]
async fn concurrent_poll_claims_never_share_an_intent() {
    let (server, _clock) = server().await;
    let (_, key) = server.agent("pool", None).await;
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(server.client().create_intent(&notify("pool"), None).await.unwrap().intent_id.to_string());
    }
    let url = format!("{}/v1/agents/pool/intents/claim", server.base_url);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (url, key) = (url.clone(), key.clone());
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let r: Value = http()
                    .post(&url)
                    .header("x-api-key", &key)
                    .json(&json!({"limit": 3}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let batch = r["intents"].as_array().unwrap().clone();
                if batch.is_empty() {
                    return mine;
                }
                mine.extend(batch.iter().map(|d| {
                    assert_eq!(d["status"], "DELIVERED");
                    d["intent_id"].as_str().unwrap().to_owned()
                }));
            }
        }));
    }
    let mut claimed = Vec::new();
    for w in workers {
        claimed.extend(w.await.unwrap());
    }
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids, "every intent claimed exactly once");
}

#[tokio::test]
async fn a_long_poll_claim_waits_for_work() {
    let (server, _clock) = server().await;
    let (_, key) = server.agent("waiter", None).await;
    let url = format!("{}/v1/agents/waiter/intents/claim?wait_seconds=30", server.base_url);
    let claim = tokio::spawn(async move {
        http().post(&url).header("x-api-key", key).send().await.unwrap().json::<Value>().await.unwrap()
    });
    let id = server.client().create_intent(&notify("waiter"), None).await.unwrap().intent_id;
    let claimed = claim.await.unwrap();
    assert_eq!(claimed["intents"][0]["intent_id"], id.to_string());
    let bad = http()
        .post(format!("{}/v1/agents/waiter/intents/claim", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&json!({"limit": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn bulk_cancel_lists_then_cancels_old_open_intents() {
    let (server, clock) = server().await;
    let old = server.client().create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let done = server.client().create_intent(&notify("bot"), None).await.unwrap().intent_id;
    server.client().resolve(done, &json!({"status": "COMPLETED"})).await.unwrap();
    clock.advance_seconds(2 * 3600);
    let fresh = server.client().create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let url = format!("{}/v1/intents/bulk-cancel", server.base_url);
    let post = |body: Value| http().post(&url).header("x-api-key", &server.admin_key).json(&body).send();

    // An age beyond any intent's (once it overflowed and listed fresh ones) matches nothing.
    for hours in [2_562_047_788_015_216_u64, u64::MAX] {
        let ancient: Value =
            post(json!({"older_than_hours": hours, "dry_run": true})).await.unwrap().json().await.unwrap();
        assert_eq!(ancient["would_cancel"], 0, "{hours}: {ancient}");
    }

    let dry: Value =
        post(json!({"older_than_hours": 1, "dry_run": true})).await.unwrap().json().await.unwrap();
    assert_eq!(dry["would_cancel"], 1);
    assert_eq!(dry["canceled"], 0);
    assert_eq!(dry["intent_ids"], json!([old.to_string()]));
    assert_eq!(server.client().get_intent(old).await.unwrap().status, Status::Submitted);

    let real: Value =
        post(json!({"older_than_hours": 1, "reason": "cleanup"})).await.unwrap().json().await.unwrap();
    assert_eq!(real["canceled"], 1);
    let canceled = server.client().get_intent(old).await.unwrap();
    assert_eq!(canceled.status, Status::Canceled);
    assert_eq!(server.client().get_intent(fresh).await.unwrap().status, Status::Submitted);
    assert_eq!(post(json!({})).await.unwrap().status(), 422, "older_than_hours is required");
}
