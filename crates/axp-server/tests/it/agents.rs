//! The agent intent stream (contract §4.11) and the full loop: submit → agent → resume → observer.

use axp_client::AgentStreamItem;
use axp_core::{EventType, Status};
use axp_test_util::TestServer;
use futures::StreamExt;
use serde_json::json;

use crate::helpers::notify;

#[tokio::test]
async fn deliveries_carry_a_per_agent_cursor_and_mark_intents_delivered() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(client.create_intent(&notify("worker"), None).await.unwrap().intent_id);
    }
    client.create_intent(&notify("someone-else"), None).await.unwrap();

    let items: Vec<_> = client.listen_once("worker", 0, 1).map(|i| i.unwrap()).collect().await;
    let deliveries: Vec<_> = items
        .iter()
        .filter_map(|i| match i {
            AgentStreamItem::Delivery(d) => Some(d.as_ref().clone()),
            _ => None,
        })
        .collect();
    // Cursors increase per agent (contract §4.11: monotonic, not necessarily gap-free; SQLite's
    // are 1, 2, 3, PostgreSQL's come from the writing transaction's id).
    let seqs: Vec<u64> = deliveries.iter().map(|d| d.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(deliveries.iter().map(|d| d.intent_id).collect::<Vec<_>>(), ids);
    assert!(deliveries.iter().all(|d| d.status == Status::Delivered));
    assert!(matches!(items.last(), Some(AgentStreamItem::Timeout { next_since }) if *next_since == seqs[2]));

    let events = client.list_events(ids[0], 0).await.unwrap().events;
    assert_eq!(events.last().unwrap().event_type, EventType::Delivered);
    assert_eq!(events.last().unwrap().handler, "agent://default/default/worker");

    // Reconnecting with the cursor skips what was seen; the full address form is the same agent.
    let rest: Vec<_> =
        client.listen_once("agent://default/default/worker", seqs[1], 1).map(|i| i.unwrap()).collect().await;
    let rest: Vec<u64> = rest
        .iter()
        .filter_map(|i| match i {
            AgentStreamItem::Delivery(d) => Some(d.seq),
            _ => None,
        })
        .collect();
    assert_eq!(rest, [seqs[2]]);
}

#[tokio::test]
async fn agent_receives_resumes_and_the_observer_sees_completed() {
    let server = TestServer::spawn().await;
    let (_, agent_key) =
        server.agent("report-service", Some("agent://myorg/production/report-service")).await;
    let agent = server.client_with_key(&agent_key);
    let worker = tokio::spawn(async move {
        let mut deliveries = Box::pin(agent.listen("myorg/production/report-service", 0));
        let delivery = deliveries.next().await.unwrap().unwrap();
        assert_eq!(delivery.status, Status::Delivered);
        let intent = agent.get_intent(delivery.intent_id).await.unwrap();
        assert_eq!(intent.payload["text"], "hello");
        agent
            .resume(
                delivery.intent_id,
                &json!({"action": "complete", "report_url": "https://reports.example/1"}),
            )
            .await
            .unwrap();
        delivery.intent_id
    });
    let client = server.client();
    let id = client
        .create_intent(&notify("agent://myorg/production/report-service"), None)
        .await
        .unwrap()
        .intent_id;
    let events: Vec<_> = client.observe(id, 0).map(|e| e.unwrap()).collect().await;
    assert_eq!(worker.await.unwrap(), id);
    let statuses: Vec<Status> = events.iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [Status::Created, Status::Submitted, Status::Delivered, Status::InProgress, Status::Completed]
    );
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5]);
    assert_eq!(events[4].details["result"]["report_url"], "https://reports.example/1");
    assert_eq!(events[3].actor, "agent://myorg/production/report-service");
}

#[tokio::test]
async fn an_intent_to_an_inbox_agent_waits_for_that_person() {
    let server = TestServer::spawn().await;
    let url = format!("{}/v1/service-accounts", server.base_url);
    let r = reqwest::Client::new()
        .post(url)
        .header("x-api-key", &server.admin_key)
        .json(&json!({"name": "alice", "delivery_mode": "inbox"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let client = server.client();
    let created = client.create_intent(&notify("alice"), None).await.unwrap();
    assert_eq!(created.status, Status::Waiting, "the create response reports the routed status");
    let intent = client.get_intent(created.intent_id).await.unwrap();
    assert_eq!(intent.waiting_reason, Some(axp_core::WaitingReason::WaitingForHuman));
    assert_eq!(intent.pending_with.unwrap().reference, "agent://default/default/alice");
    assert_eq!(intent.human_task.unwrap()["title"], "notify.message.v1");
    let events = client.list_events(created.intent_id, 0).await.unwrap().events;
    assert_eq!(events.last().unwrap().event_type, EventType::HumanTaskAssigned);

    let done = client
        .resume(created.intent_id, &json!({"task_result": {"outcome": "done", "comment": "ok"}}))
        .await
        .unwrap();
    assert_eq!(done.event.unwrap().event_type, EventType::Completed);
}

/// With a stream of its agent connected, a new intent is handed over in its create transaction:
/// the create already answers DELIVERED (contract §4.2), the stream sends it once, and there is
/// one `intent.delivered` event, on either backend (the engine is told which agents have a stream
/// open on this server).
#[tokio::test]
async fn an_intent_for_a_connected_stream_is_delivered_by_its_create() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let (workspace, address) = (server.admin.tenant.workspace_id, "agent://default/default/worker");
    let mut stream = Box::pin(client.listen("worker", 0));
    // The stream subscribes when its request is handled: wait for that, in bounded steps.
    let next = stream.next();
    tokio::pin!(next);
    for _ in 0..10_000 {
        if server.state().presence.streams(workspace, address) > 0 {
            break;
        }
        tokio::select! {
            item = &mut next => panic!("nothing was sent yet, got {item:?}"),
            () = tokio::task::yield_now() => {}
        }
    }
    assert!(server.state().presence.streams(workspace, address) > 0, "the stream subscribed");

    let created = client.create_intent(&notify("worker"), None).await.unwrap();
    assert_eq!(created.status, Status::Delivered);
    let delivery = next.await.unwrap().unwrap();
    assert_eq!((delivery.intent_id, delivery.status), (created.intent_id, Status::Delivered));
    let events = client.list_events(created.intent_id, 0).await.unwrap().events;
    assert_eq!(events.iter().filter(|e| e.event_type == EventType::Delivered).count(), 1);
    let intent = client.get_intent(created.intent_id).await.unwrap();
    assert!(intent.lease_expires_at.is_some(), "the lease covers a stream that drops before sending");
}
