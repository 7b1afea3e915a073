//! The lifecycle SSE stream (contract §4.5): replay, live events, timeout, resume cursors.

use axp_client::StreamItem;
use axp_core::{EventType, Status};
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

/// Parses a whole SSE body into (id, event, data) frames.
fn frames(body: &str) -> Vec<(Option<String>, String, String)> {
    body.split("\n\n")
        .filter(|f| !f.trim().is_empty())
        .filter_map(|f| {
            let (mut id, mut event, mut data) = (None, None, None);
            for line in f.lines() {
                if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("event: ") {
                    event = Some(v.to_string());
                } else if let Some(v) = line.strip_prefix("data: ") {
                    assert!(data.is_none(), "one data line per frame");
                    data = Some(v.to_string());
                }
            }
            Some((id, event?, data?))
        })
        .collect()
}

#[tokio::test]
async fn replays_after_since_then_times_out_with_next_seq() {
    let server = TestServer::spawn().await;
    let id =
        server.client().create_intent(&notify("agent://conformance/receiver"), None).await.unwrap().intent_id;
    let response = http()
        .get(format!("{}/v1/intents/{id}/events/stream?since=1&wait_seconds=1", server.base_url))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let body = response.text().await.unwrap();
    let frames = frames(&body);
    assert_eq!(frames.len(), 2, "{body}");
    assert_eq!(frames[0].0.as_deref(), Some("2"));
    assert_eq!(frames[0].1, "intent.submitted");
    let event: Value = serde_json::from_str(&frames[0].2).unwrap();
    assert_eq!(event["seq"], 2);
    assert_eq!(frames[1].1, "stream.timeout");
    assert_eq!(serde_json::from_str::<Value>(&frames[1].2).unwrap(), json!({"ok": true, "next_seq": 2}));
}

#[tokio::test]
async fn last_event_id_is_a_cursor_and_bad_params_are_rejected() {
    let server = TestServer::spawn().await;
    let id = server.client().create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let url = format!("{}/v1/intents/{id}/events/stream?wait_seconds=1", server.base_url);
    let body = http()
        .get(&url)
        .bearer_auth(&server.admin_key)
        .header("Last-Event-ID", "2")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let frames = frames(&body);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].2, r#"{"ok":true,"next_seq":2}"#);

    for bad in ["wait_seconds=0", "wait_seconds=61", "since=-1"] {
        let r = http()
            .get(format!("{}/v1/intents/{id}/events/stream?{bad}", server.base_url))
            .bearer_auth(&server.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{bad}");
    }
    let unknown = http()
        .get(format!("{}/v1/intents/{}/events/stream", server.base_url, uuid::Uuid::new_v4()))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

#[tokio::test]
async fn live_events_arrive_and_the_stream_closes_after_the_terminal_one() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let id = client.create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let stream = client.events_stream_once(id, 2, 30);
    let mut stream = Box::pin(stream);
    // Nothing after seq 2 yet: the first item can only be something committed from now on.
    let resolver = {
        let client = client.clone();
        tokio::spawn(async move {
            client.resume(id, &json!({"approve_current_step": true})).await.unwrap();
            client.resolve(id, &json!({"status": "COMPLETED", "result": {"n": 1}})).await.unwrap();
        })
    };
    let mut seen = Vec::new();
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            StreamItem::Event(e) => seen.push((e.seq, e.event_type)),
            other => panic!("unexpected {other:?}"),
        }
    }
    resolver.await.unwrap();
    assert_eq!(
        seen,
        [(3, EventType::InProgress), (4, EventType::Completed)],
        "closed right after the terminal event"
    );
}

#[tokio::test]
async fn observe_sees_the_whole_lifecycle_in_order() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let id = client.create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let observer = {
        let client = client.clone();
        tokio::spawn(async move { client.observe(id, 0).map(|e| e.unwrap()).collect::<Vec<_>>().await })
    };
    client.resume(id, &json!({"approve_current_step": true})).await.unwrap();
    client.resolve(id, &json!({"status": "COMPLETED"})).await.unwrap();
    let events = observer.await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(events.last().unwrap().status, Status::Completed);
}
