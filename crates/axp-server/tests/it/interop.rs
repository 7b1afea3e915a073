//! What the official TypeScript and Go SDKs need beyond the Python one (issue 13,
//! "agent-stream interop"): agent streams that end once their frames are out, and
//! `GET /v1/health`, and the `intent_type` names the official examples send.

use axp_client::AgentStreamItem;
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::Value;

use crate::helpers::{http, notify};

/// §1.9: the Go SDK's `Health()` calls `GET /v1/health`; it answers as `/health`, without a key.
#[tokio::test]
async fn health_is_also_served_under_v1() {
    let server = TestServer::spawn().await;
    let plain: Value =
        http().get(format!("{}/health", server.base_url)).send().await.unwrap().json().await.unwrap();
    let response = http().get(format!("{}/v1/health", server.base_url)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let v1: Value = response.json().await.unwrap();
    assert_eq!(v1, plain);
    assert_eq!(v1["ok"], true);
}

/// §4.11: once frames have gone out, the stream sends `stream.timeout` with `next_since` and
/// ends, instead of holding the response until `wait_seconds` (the official TypeScript and Go
/// SDKs read the whole body before handing out a frame).
#[tokio::test]
async fn an_agent_stream_ends_once_what_was_queued_has_gone_out() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let id = client.create_intent(&notify("worker"), None).await.unwrap().intent_id;
    // wait_seconds=60: ending on its own well before then is the behaviour under test.
    let ended = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        client.listen_once("worker", 0, 60).map(|i| i.unwrap()).collect::<Vec<_>>().await
    })
    .await
    .expect("the stream ended once the queued delivery went out");
    let seq = match &ended[..] {
        [AgentStreamItem::Delivery(d), AgentStreamItem::Timeout { next_since }] => {
            assert_eq!(d.intent_id, id);
            assert_eq!(*next_since, d.seq, "next_since is the cursor of the last frame sent");
            d.seq
        }
        other => panic!("one delivery then stream.timeout, got {other:?}"),
    };

    // Resuming from next_since gets only what came after, then ends the same way.
    let mut resumed = Box::pin(client.listen_once("worker", seq, 60));
    let second = client.create_intent(&notify("worker"), None).await.unwrap().intent_id;
    let mut items = Vec::new();
    while let Some(item) = resumed.next().await {
        items.push(item.unwrap());
    }
    assert!(
        matches!(&items[..], [AgentStreamItem::Delivery(d), AgentStreamItem::Timeout { next_since }]
            if d.intent_id == second && *next_since == d.seq),
        "{items:?}"
    );
}

/// §4.11, as the TypeScript and Go SDKs read it: the whole body of
/// `GET /v1/agents/{address}/intents/stream?wait_seconds=30` is read before any frame is parsed.
/// An intent created while the stream is open must complete the response (its frame, then
/// `stream.timeout`); the 25 s bound only turns a hang into a failure.
#[tokio::test]
async fn a_client_reading_the_whole_agent_stream_body_gets_it_once_a_frame_is_out() {
    let server = TestServer::spawn().await;
    let url = format!("{}/v1/agents/reader/intents/stream?wait_seconds=30", server.base_url);
    let response = http().get(url).bearer_auth(&server.admin_key).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let id = server.client().create_intent(&notify("reader"), None).await.unwrap().intent_id;
    let body = tokio::time::timeout(std::time::Duration::from_secs(25), response.text())
        .await
        .expect("the response completed once the frame went out")
        .unwrap();
    let events: Vec<&str> = body.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(events.last(), Some(&"stream.timeout"), "{body}");
    assert!(body.contains(&id.to_string()), "the delivery frame is in the body: {body}");
    assert!(body.contains("next_since"), "{body}");
}

/// §4.2: a dotted lowercase name, with no `.vN` required; the official examples send these.
#[tokio::test]
async fn the_examples_intent_types_are_accepted() {
    let server = TestServer::spawn().await;
    for intent_type in ["human_approval.v1", "compliance_check", "analyze_data", "process_task"] {
        let body = serde_json::json!({"intent_type": intent_type, "to_agent": "worker", "payload": {}});
        let response = http()
            .post(format!("{}/v1/intents", server.base_url))
            .bearer_auth(&server.admin_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{intent_type}");
        let created: Value = response.json().await.unwrap();
        let id = created["intent_id"].as_str().unwrap();
        let got: Value = http()
            .get(format!("{}/v1/intents/{id}", server.base_url))
            .bearer_auth(&server.admin_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["intent"]["intent_type"], intent_type);
    }
}
