//! Tenants never see each other: another workspace's ids are 404 everywhere.

use axp_client::AgentStreamItem;
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::json;

use crate::helpers::{http, notify};

#[tokio::test]
async fn another_workspace_gets_404_on_intents_events_streams_and_commands() {
    let server = TestServer::spawn().await;
    let owner = server.client();
    let id = owner.create_intent(&notify("agent://shared/worker"), None).await.unwrap().intent_id;
    let other_key = server.other_tenant().await;
    let other = server.client_with_key(&other_key);

    assert_eq!(other.get_intent(id).await.unwrap_err().status(), Some(404));
    assert_eq!(other.list_events(id, 0).await.unwrap_err().status(), Some(404));
    assert_eq!(other.resolve(id, &json!({"status": "CANCELED"})).await.unwrap_err().status(), Some(404));
    assert_eq!(other.resume(id, &json!({"action": "complete"})).await.unwrap_err().status(), Some(404));
    assert_eq!(
        other.update_controls(id, &json!({"controls_patch": {}})).await.unwrap_err().status(),
        Some(404)
    );
    let stream = http()
        .get(format!("{}/v1/intents/{id}/events/stream?wait_seconds=1", server.base_url))
        .bearer_auth(&other_key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 404);
    assert!(other.list_intents(&[], None, None).await.unwrap().is_empty());
    let items: Vec<_> = other.listen_once("agent://shared/worker", 0, 1).map(|i| i.unwrap()).collect().await;
    assert!(
        items.iter().all(|i| !matches!(i, AgentStreamItem::Delivery(_))),
        "the same address in another workspace is another queue"
    );

    let intent = owner.get_intent(id).await.unwrap();
    assert_eq!(intent.status, axp_core::Status::Submitted, "nothing the other tenant did changed it");
    assert_eq!(owner.list_events(id, 0).await.unwrap().events.len(), 2);
}
