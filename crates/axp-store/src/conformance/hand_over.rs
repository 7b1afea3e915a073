//! The hand-over of a new intent to a connected stream inside its create transaction.

use std::any::Any;

use axp_core::{AgentAddress, EventType, Status, WorkspaceId};

use super::{T0, new_intent, tenant};
use crate::Store;

/// Marks an agent's stream as connected (to the store under test) until the returned guard is
/// dropped.
pub type Connect<'a> = &'a (dyn Fn(WorkspaceId, &str) -> Box<dyn Any + Send> + Sync);

/// A new intent whose agent has a stream connected is created DELIVERED (contract §4.2), with a
/// lease; the stream then reads it already handed, as often as it asks, and it is delivered
/// once. An agent with no stream connected gets it SUBMITTED.
pub async fn hand_over_in_create(store: &dyn Store, connect: Connect<'_>) {
    let (p, _) = tenant(store).await;
    let (intent, events) = new_intent(&p, "streamer");
    let (id, agent) = (intent.intent_id, AgentAddress::from_trusted(intent.to_agent.clone()));
    let guard = connect(p.tenant.workspace_id, agent.as_str());
    let created = store.create_intent(&p.tenant, intent, events, None).await.expect("create");
    let body: serde_json::Value = serde_json::from_str(&created.answer.body().unwrap()).expect("json");
    assert_eq!(body["status"], "DELIVERED", "{body}");

    let stored = store.get_intent(&p.tenant, id).await.expect("get");
    assert_eq!((stored.status, stored.delivery_attempt), (Status::Delivered, 1));
    assert!(stored.lease_expires_at.is_some(), "the lease covers a stream that never sends it");
    // What the stream then reads: the item, already handed, once; nothing is delivered twice.
    let mut seen = None;
    for _ in 0..2 {
        let got = store.deliver_to_agent(&p.tenant, &agent, 0, &Status::OPEN, 100, T0).await.expect("read");
        assert_eq!(got.iter().map(|d| d.intent_id).collect::<Vec<_>>(), [id]);
        assert_eq!(got[0].status, Status::Delivered);
        assert!(seen.is_none_or(|s| s == got[0].seq), "the same item each time");
        seen = Some(got[0].seq);
    }
    let events = store.events_since(&p.tenant, id, 0, 100).await.expect("events");
    assert_eq!(events.iter().filter(|e| e.event_type == EventType::Delivered).count(), 1);
    assert!(
        store.claim_for_agent(&p.tenant, &agent, 10, T0).await.expect("claim").is_empty(),
        "handed already"
    );

    drop(guard);
    let (intent, events) = new_intent(&p, "streamer");
    let created = store.create_intent(&p.tenant, intent, events, None).await.expect("create");
    let body: serde_json::Value = serde_json::from_str(&created.answer.body().unwrap()).expect("json");
    assert_eq!(body["status"], "SUBMITTED", "no stream connected: {body}");
}
