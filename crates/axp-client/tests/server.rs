//! The SDK against a real in-process server on port 0: identity, the agents registry and its
//! delivery bindings, poll claims, bulk cancel, webhooks delivered to a real receiver, and the
//! inbox, open human tasks and approvals.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axp_client::{
    BulkCancelRequest, Client, DeliveryBinding, RegisterAgentRequest, Status, SubscriptionRequest,
};
use axp_server::{Config, Options, Server};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A server whose pushes may reach the loopback; stopped when the returned sender drops.
async fn server() -> (Client, tempfile::TempDir, tokio::sync::oneshot::Sender<()>) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::from_env().unwrap();
    options.dispatcher.policy = axp_engine::OutboundPolicy::parse("127.0.0.0/8").unwrap();
    let config = Config { listen: "127.0.0.1:0".into(), data_dir: dir.path().to_path_buf() };
    let server = Server::build_with(config, options).await.unwrap();
    let key = server.bootstrapped().unwrap().api_key.clone();
    let client = Client::new(format!("http://{}", server.local_addr()), key);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    (client, dir, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_registry_claims_and_bulk_cancel() {
    let (client, _dir, _stop) = server().await;

    let me = client.whoami().await.unwrap();
    assert_eq!(me.agent_address, "agent://default/default/admin");
    assert_eq!(client.get_service_account(me.service_account_id).await.unwrap(), me);

    let request = RegisterAgentRequest {
        name: "worker".into(),
        display_name: Some("Worker".into()),
        binding: Some(DeliveryBinding { lease_seconds: Some(30), ..DeliveryBinding::poll() }),
        ..Default::default()
    };
    let worker = client.register_agent(&request).await.unwrap();
    assert_eq!((worker.delivery_mode.as_str(), worker.lease_seconds), ("poll", Some(30)));
    let agents = client.list_agents(None).await.unwrap();
    assert!(agents.iter().any(|a| a.address == "agent://default/default/worker"));
    let agent = client.get_agent("worker").await.unwrap();
    assert_eq!(agent.connection_state.as_deref(), Some("disconnected"));

    // The poll binding: claim leases, so a second claim finds nothing.
    let sent = client
        .create_intent_raw(
            &json!({"intent_type": "work.do.v1", "to_agent": "worker", "payload": {}}),
            Some("w-1"),
        )
        .await
        .unwrap();
    let claimed = client.claim_intents("worker", 5, 0).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].intent_id.to_string(), sent["intent_id"].as_str().unwrap());
    assert!(client.claim_intents("worker", 5, 0).await.unwrap().is_empty());

    let moved = client.set_agent_delivery("worker", &DeliveryBinding::stream()).await.unwrap();
    assert_eq!(moved.delivery_mode, Some(axp_client::Binding::Stream));

    // Bulk cancel: a preview, then the real thing.
    let preview = BulkCancelRequest { older_than_hours: 0, dry_run: true, ..Default::default() };
    let previewed = client.bulk_cancel(&preview).await.unwrap();
    assert_eq!((previewed.would_cancel, previewed.canceled), (1, 0));
    let done = client
        .bulk_cancel(&BulkCancelRequest { dry_run: false, reason: Some("cleanup".into()), ..preview })
        .await
        .unwrap();
    assert_eq!(done.canceled, 1);
    assert_eq!(client.get_intent(done.intent_ids[0]).await.unwrap().status, Status::Canceled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_delivered_and_replayed() {
    let (client, _dir, _stop) = server().await;
    let (tx, mut received) = mpsc::unbounded_channel::<Value>();
    let tx = Arc::new(Mutex::new(tx));
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.lock().unwrap().send(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let request = SubscriptionRequest {
        secret: Some("a-test-secret-0123456789".into()),
        description: Some("tests".into()),
        ..SubscriptionRequest::new(url.as_str(), ["inbox.thread_updated"])
    };
    let sub = client.create_webhook_subscription(&request, None).await.unwrap();
    assert_eq!(sub.owner_agent, "agent://default/default/admin");
    assert_eq!(sub.secret_hint.as_deref(), Some("****6789"));
    assert_eq!(client.list_webhook_subscriptions(None, false).await.unwrap(), std::slice::from_ref(&sub));

    let receipt =
        client.publish_webhook_event("inbox.thread_updated", "tests", &json!({"n": 1}), None).await.unwrap();
    assert_eq!(receipt.counters.queued_deliveries, 1);
    let first = tokio::time::timeout(Duration::from_secs(20), received.recv()).await.unwrap().unwrap();
    assert_eq!(first["event_id"], receipt.event_id.to_string());
    assert_eq!(first["payload"], json!({"n": 1}));

    let replay = client.replay_webhook_event(receipt.event_id, None).await.unwrap();
    assert!(replay.replayed_at.is_some());
    let again = tokio::time::timeout(Duration::from_secs(20), received.recv()).await.unwrap().unwrap();
    assert_eq!(again["event_id"], first["event_id"]);

    let revoked = client.revoke_webhook_subscription(sub.subscription_id, None).await.unwrap();
    assert_eq!(revoked.subscription_id, sub.subscription_id);
    assert!(client.list_webhook_subscriptions(None, false).await.unwrap().is_empty());
    assert_eq!(client.list_webhook_subscriptions(None, true).await.unwrap().len(), 1);
    let unknown =
        client.revoke_webhook_subscription(axp_client::SubscriptionId::new(), None).await.unwrap_err();
    assert!(unknown.is_not_found());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbox_tasks_and_approvals() {
    use axp_client::{Decision, DeleteMessagesRequest, IntentId, ThreadStatus};

    let (client, _dir, _stop) = server().await;
    let caps = client.capabilities().await.unwrap();
    assert!(caps.supports("inbox"), "{caps:?}");
    assert!(caps.supported_intent_types.iter().all(|t| t.starts_with("intent.")));

    let send = |title: &str| {
        let body = json!({"intent_type": "expense.approve.v1", "to_agent": "agent://default/default/finance",
                          "payload": {"amount": 120}, "human_task": {"title": title, "task_type": "approval"}});
        let client = client.clone();
        async move {
            let created = client.create_intent_raw(&body, None).await.unwrap();
            created["intent_id"].as_str().unwrap().parse::<IntentId>().unwrap()
        }
    };
    let first = send("Approve 120 EUR").await;
    let second = send("Approve again").await;

    // The sender sees both open tasks and both threads.
    let tasks = client.list_my_tasks(None, None).await.unwrap();
    let titles: Vec<_> = tasks.iter().filter_map(|t| t.title()).collect();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    assert!(titles.contains(&"Approve 120 EUR") && titles.contains(&"Approve again"));
    let threads = client.list_inbox(Some(ThreadStatus::Pending), None, None).await.unwrap();
    assert_eq!(threads.len(), 2);

    // A reply shows in the thread; deleting it for everyone removes it again.
    let replied = client.reply_inbox_thread(first, "Which cost centre?", None).await.unwrap();
    assert_eq!(replied.status, ThreadStatus::Active);
    let thread = client.get_inbox_thread(first, None).await.unwrap();
    let reply = thread.timeline.iter().find(|e| e.event_type == "reply").unwrap();
    assert_eq!(reply.details["message"], "Which cost centre?");
    let read = client.mark_inbox_thread_read(first, None).await.unwrap();
    assert!(!read.unread);

    // Approving through the inbox answers the task: the intent completes with `approved`.
    let approved = client.approve_inbox_thread(first, Some("fine"), None).await.unwrap();
    assert_eq!(approved.status, ThreadStatus::Done);
    let intent = client.get_intent(first).await.unwrap();
    assert_eq!(intent.status, Status::Completed);
    assert_eq!(intent.result.as_ref().unwrap()["task_result"]["outcome"], "approved");
    let gone = client
        .delete_inbox_messages(
            first,
            &DeleteMessagesRequest { mode: axp_client::DeleteMode::ForEveryone, ..Default::default() },
            None,
        )
        .await
        .unwrap();
    assert_eq!(gone.deleted_count, 1);
    assert!(gone.thread.timeline.iter().all(|e| e.event_type != "reply"));

    // The changes feed pages with its cursor.
    let page1 = client.list_inbox_changes(None, Some(1), None).await.unwrap();
    assert_eq!((page1.changes.len(), page1.has_more), (1, true));
    let page2 = client.list_inbox_changes(page1.next_cursor.as_deref(), Some(10), None).await.unwrap();
    assert!(!page2.has_more);
    let mut seen: Vec<IntentId> =
        page1.changes.iter().chain(&page2.changes).map(|c| c.thread.thread_id).collect();
    seen.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(seen, expected);
    let bad = client.list_inbox_changes(Some("nonsense"), None, None).await.unwrap_err();
    assert_eq!(bad.status(), Some(400));

    // An approval by the waiting intent's id answers its task; deciding the other way is a 409.
    let decided =
        client.decide_approval(axp_client::ApprovalId(second.0), Decision::Reject, Some("no")).await.unwrap();
    assert_eq!(decided.decision, "reject");
    let again =
        client.decide_approval(axp_client::ApprovalId(second.0), Decision::Reject, None).await.unwrap();
    assert_eq!(again, decided, "the same decision is idempotent");
    let conflict =
        client.decide_approval(axp_client::ApprovalId(second.0), Decision::Approve, None).await.unwrap_err();
    assert!(conflict.is_conflict(), "{conflict:?}");
    let intent = client.get_intent(second).await.unwrap();
    assert_eq!(intent.result.as_ref().unwrap()["task_result"]["outcome"], "rejected");
    assert!(client.list_my_tasks(None, None).await.unwrap().is_empty());
}
