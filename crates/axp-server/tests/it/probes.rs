//! The security review's probes (issue 11, "Why"), each as a regression test: a plain agent key
//! (a service account with an agent address and no membership) is refused with 403/404 and
//! nothing changes.

use std::sync::Arc;
use std::time::Duration;

use axp_client::Client;
use axp_core::api::{Decision, DeliveryBinding, SubscriptionRequest};
use axp_core::delivery::Binding;
use axp_core::{IntentId, Status};
use axp_engine::{DispatcherOptions, OutboundPolicy, RetrySchedule, SystemClock};
use axp_server::Options;
use axp_test_util::TestServer;
use axp_test_util::receiver::Receiver;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

const ADMIN: &str = "agent://default/default/admin";

/// The review's set-up: a server, and a service account `prober` with an agent address and a
/// key the admin minted for it.
async fn setup() -> (TestServer, Client, String) {
    let server = TestServer::spawn().await;
    let (_, key) = server.agent("prober", None).await;
    let prober = server.client_with_key(&key);
    (server, prober, key)
}

fn status(result: Result<impl std::fmt::Debug, axp_client::Error>) -> Option<u16> {
    result.expect_err("refused").status()
}

#[tokio::test]
async fn an_agent_key_cannot_mint_keys_for_or_delete_other_accounts() {
    let (server, prober, key) = setup().await;
    let admin = server.client().whoami().await.unwrap();
    assert_eq!(status(prober.create_api_key(admin.service_account_id).await), Some(403));
    let (victim, victim_key) = server.agent("victim", None).await;
    assert_eq!(status(prober.create_api_key(victim.service_account_id).await), Some(403));
    let delete = http()
        .delete(format!("{}/v1/service-accounts/{}", server.base_url, admin.service_account_id))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 403);
    // Both accounts and their keys still work.
    assert_eq!(server.client().whoami().await.unwrap().status, "active");
    assert_eq!(server.client_with_key(&victim_key).whoami().await.unwrap().status, "active");
}

#[tokio::test]
async fn an_agent_key_cannot_rebind_another_agent_or_see_a_secret() {
    let (server, prober, _) = setup().await;
    server.agent("worker-b", None).await;
    let push = DeliveryBinding {
        delivery_mode: Binding::Http,
        delivery_config: Some(json!({"url": "https://attacker.example/hook"}).as_object().cloned().unwrap()),
        lease_seconds: None,
    };
    let refused = prober.set_agent_delivery("worker-b", &push).await.expect_err("refused");
    assert_eq!(refused.status(), Some(403));
    assert!(!format!("{:?}", refused.body()).contains("whsec_"), "no secret in the refusal");
    let agent = server.client().get_agent("worker-b").await.unwrap();
    assert_eq!(agent.delivery_mode, Some(Binding::Stream), "still on its old binding");
}

#[tokio::test]
async fn an_agent_key_cannot_claim_or_stream_another_agents_queue() {
    let (server, prober, key) = setup().await;
    let id = server.client().create_intent(&notify("worker-c"), None).await.unwrap().intent_id;
    assert_eq!(status(prober.claim_intents("worker-c", 1, 0).await), Some(403));
    let stream = http()
        .get(format!("{}/v1/agents/worker-c/intents/stream?wait_seconds=1", server.base_url))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 403);
    let items: Vec<_> = prober.listen_once("worker-c", 0, 1).collect().await;
    assert!(items.iter().all(|i| i.is_err()), "the SDK's listen is refused too");
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Submitted, "never delivered");
}

#[tokio::test]
async fn an_agent_key_cannot_read_an_unrelated_intent() {
    let (server, prober, _) = setup().await;
    let mut secret = notify("payroll");
    secret.payload.insert("salary".into(), json!(123_456));
    let id = server.client().create_intent(&secret, None).await.unwrap().intent_id;
    assert_eq!(status(prober.get_intent(id).await), Some(404));
    assert_eq!(status(prober.list_events(id, 0).await), Some(404));
    let listed = prober.list_intents(&[], None, None).await.unwrap();
    assert!(listed.iter().all(|i| i.intent_id != id), "not listed either");
    // What it sent itself it reads.
    let own = prober.create_intent(&notify("payroll"), None).await.unwrap().intent_id;
    assert_eq!(prober.get_intent(own).await.unwrap().intent_id, own);
}

/// The prober asks for a human task of `approver`; it may not answer it itself.
async fn own_task(server: &TestServer, prober: &Client) -> IntentId {
    let mut request = notify("approver");
    request.human_task =
        Some(json!({"title": "Pay me", "task_type": "approval"}).as_object().cloned().unwrap());
    let id = prober.create_intent(&request, None).await.unwrap().intent_id;
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Waiting);
    id
}

#[tokio::test]
async fn a_requester_cannot_approve_its_own_task_by_any_route() {
    let (server, prober, _) = setup().await;
    let id = own_task(&server, &prober).await;
    let own = prober.whoami().await.unwrap().agent_address;
    let events = server.client().list_events(id, 0).await.unwrap().events.len();

    let resume = prober.submit_task_result(id, &json!({"outcome": "approved"})).await;
    assert_eq!(status(resume), Some(403), "resume with a task_result");
    let inbox = prober.approve_inbox_thread(id, Some("mine"), Some(&own)).await;
    assert_eq!(status(inbox), Some(403), "inbox approve");
    let decision = prober.decide_approval(axp_core::ApprovalId(id.0), Decision::Approve, None).await;
    assert_eq!(status(decision), Some(403), "approvals decision");

    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!(intent.status, Status::Waiting, "still waiting for its approver");
    assert_eq!(server.client().list_events(id, 0).await.unwrap().events.len(), events, "no event was added");

    // The approver (the task's target) decides.
    let (_, approver_key) = server.agent("approver", None).await;
    let approver = server.client_with_key(&approver_key);
    approver.submit_task_result(id, &json!({"outcome": "approved"})).await.expect("the approver decides");
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Completed);
}

#[tokio::test]
async fn an_agent_key_cannot_list_another_owners_inbox_or_webhooks() {
    let (server, prober, _) = setup().await;
    server.client().create_intent(&notify("someone"), None).await.unwrap();
    assert_eq!(status(prober.list_inbox(None, None, Some(ADMIN)).await), Some(403));
    assert_eq!(status(prober.list_inbox_changes(None, None, Some(ADMIN)).await), Some(403));
    assert_eq!(status(prober.list_webhook_subscriptions(Some(ADMIN), true).await), Some(403));
    assert!(prober.list_inbox(None, None, None).await.unwrap().is_empty(), "its own inbox is empty");
}

#[tokio::test]
async fn forged_intent_events_never_reach_the_owners_receiver() {
    let server = TestServer::spawn_with(Options {
        clock: Arc::new(SystemClock),
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse("0s").unwrap(),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(2),
            policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
        },
        ..Options::from_env().expect("options")
    })
    .await;
    let (_, key) = server.agent("prober", None).await;
    let prober = server.client_with_key(&key);
    let mut receiver = Receiver::start([]).await;
    let subscription = SubscriptionRequest {
        callback_url: receiver.url.clone(),
        event_types: vec!["intent.completed".into(), "inbox.thread_created".into()],
        secret: Some("a-secret-of-at-least-16".into()),
        active: None,
        description: None,
    };
    server.client().create_webhook_subscription(&subscription, Some(ADMIN)).await.unwrap();

    let forged = json!({"intent_id": IntentId::new(), "status": "COMPLETED"});
    for (event_type, owner) in [("intent.completed", Some(ADMIN)), ("intent.completed", None)] {
        let refused = prober.publish_webhook_event(event_type, "prober", &forged, owner).await;
        assert_eq!(status(refused), Some(403), "{event_type} as {owner:?}");
    }
    let as_admin =
        prober.publish_webhook_event("inbox.thread_created", "prober", &json!({}), Some(ADMIN)).await;
    assert_eq!(status(as_admin), Some(403), "not the prober's own owner");

    // The admin's own event is the first (and only) thing the receiver gets.
    server
        .client()
        .publish_webhook_event("inbox.thread_created", "admin", &json!({"n": 1}), None)
        .await
        .unwrap();
    let first = receiver.next().await;
    let body: Value = serde_json::from_slice(&first.body).unwrap();
    assert_eq!(body["event_type"], "inbox.thread_created", "{body}");
    assert_eq!(body["source"], "admin");
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = http()
            .get(format!("{}/v1/capabilities", server.base_url))
            .header("authorization", format!("{scheme} {}", server.admin_key))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{scheme}");
    }
    let basic = http()
        .get(format!("{}/v1/capabilities", server.base_url))
        .header("authorization", format!("Basic {}", server.admin_key))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401, "another scheme is no credential");
}
