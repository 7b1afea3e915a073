//! Human tasks with reminders and escalation, and multi-step scenario workflows, driven by a
//! manual clock: the test moves time and waits on the intent's own event stream.

use std::sync::Arc;
use std::time::Duration;

use axp_client::AgentStreamItem;
use axp_core::{EventType, IntentEvent, IntentId, Status, Timestamp, WaitingReason};
use axp_engine::{DispatcherOptions, ManualClock, OutboundPolicy, RetrySchedule};
use axp_server::Options;
use axp_store::Topic;
use axp_test_util::TestServer;
use axp_test_util::receiver::Receiver;
use futures::StreamExt;
use serde_json::{Value, json};

use crate::helpers::http;

const START: Timestamp = Timestamp::from_millis(1_780_000_000_000);

async fn server() -> (TestServer, ManualClock) {
    let clock = ManualClock::new(START);
    let options = Options {
        clock: Arc::new(clock.clone()),
        dispatcher: DispatcherOptions {
            schedule: RetrySchedule::parse("0s").unwrap(),
            concurrency: 4,
            attempt_timeout: Duration::from_secs(2),
            policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
        },
        ..Options::from_env().expect("options")
    };
    (TestServer::spawn_with(options).await, clock)
}

/// The intent's events once there are at least `n`, waiting on its commits.
async fn events_at_least(server: &TestServer, id: IntentId, n: usize) -> Vec<IntentEvent> {
    let mut wake = server.state().notifier.subscribe(Topic::Intent(id));
    for _ in 0..200 {
        wake.mark_seen();
        let events = server.client().list_events(id, 0).await.unwrap().events;
        if events.len() >= n {
            return events;
        }
        tokio::time::timeout(Duration::from_secs(30), wake.changed()).await.expect("the intent changed");
    }
    panic!("the intent never reached {n} events");
}

/// Fires a marker deadline at `at` and waits for it: every timer due before has fired by then.
async fn settle(server: &TestServer, at: Timestamp) {
    let marker =
        json!({"intent_type": "marker.tick.v1", "to_agent": "nobody", "deadline_at": at.to_string()});
    let id: IntentId = server.client().create_intent_raw(&marker, None).await.unwrap()["intent_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let events = server.client().observe(id, 0).map(|e| e.unwrap()).collect::<Vec<_>>().await;
    assert_eq!(events.last().unwrap().event_type, EventType::TimedOut);
}

fn kinds(events: &[IntentEvent]) -> Vec<EventType> {
    events.iter().map(|e| e.event_type).collect()
}

#[tokio::test]
async fn reminders_come_on_time_then_escalation_moves_the_task() {
    let (server, clock) = server().await;
    let body = json!({"intent_type": "expense.approve.v1", "to_agent": "agent://acme/finance/approvals",
        "human_task": {"title": "Approve", "task_type": "approval", "assignees": ["ann@example.com"]},
        "remind_after_seconds": 60, "remind_interval_seconds": 30, "max_reminders": 3, "escalate_to": "boss@example.com"});
    let id: IntentId = server.client().create_intent_raw(&body, None).await.unwrap()["intent_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        events_at_least(&server, id, 3).await.last().unwrap().event_type,
        EventType::HumanTaskAssigned
    );

    clock.advance_seconds(59);
    settle(&server, START.plus_seconds(59)).await;
    assert_eq!(
        server.client().list_events(id, 0).await.unwrap().events.len(),
        3,
        "nothing before remind_after"
    );
    clock.advance_seconds(1);
    let e = events_at_least(&server, id, 4).await;
    assert_eq!((e[3].event_type, e[3].details["remind_count"].clone()), (EventType::Reminder, json!(1)));
    clock.advance_seconds(30);
    let e = events_at_least(&server, id, 5).await;
    assert_eq!(e[4].details["remind_count"], 2);
    clock.advance_seconds(30);
    let e = events_at_least(&server, id, 7).await;
    assert_eq!(kinds(&e[5..]), [EventType::Reminder, EventType::Escalated]);
    assert_eq!(e[5].details["remind_count"], 3);
    assert_eq!(e[6].details["escalated_to"], "boss@example.com");
    assert_eq!(e[6].pending_with.as_ref().unwrap().reference, "boss@example.com");
    assert!(e[3..].iter().all(|x| x.status == Status::Waiting), "reminders keep the status");
    assert_eq!(
        [e[3].at, e[4].at, e[5].at],
        [START.plus_seconds(60), START.plus_seconds(90), START.plus_seconds(120)]
    );

    clock.advance_seconds(600);
    settle(&server, START.plus_seconds(720)).await;
    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!((intent.remind_count, intent.status), (3, Status::Waiting));
    assert_eq!(
        server.client().list_events(id, 0).await.unwrap().events.len(),
        7,
        "no reminder after max_reminders"
    );
}

#[tokio::test]
async fn reminders_survive_a_restart() {
    let (server, clock) = server().await;
    let body = json!({"intent_type": "expense.approve.v1", "to_agent": "agent://acme/finance/approvals",
        "human_task": {"title": "Approve"}, "remind_after_seconds": 60, "max_reminders": 1});
    let id: IntentId = server.client().create_intent_raw(&body, None).await.unwrap()["intent_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let server = server.restart().await;
    clock.advance_seconds(60);
    let e = events_at_least(&server, id, 4).await;
    assert_eq!(e[3].event_type, EventType::Reminder);
}

fn two_step() -> Value {
    json!({
      "scenario_id": "report.with.approval.v1",
      "agents": [{"role": "writer", "address": "report-writer", "create_if_missing": true}],
      "humans": [{"role": "approver", "contact": "boss@example.com"}],
      "workflow": {"steps": [
        {"step_id": "draft", "tool_id": "tool.agent.task.v1", "assigned_to": "writer"},
        {"step_id": "approve", "assigned_to": "approver", "requires_approval": true, "on_failure": "draft"}
      ]},
      "intent": {"type": "intent.report.generate.v1", "payload": {"quarter": "Q1"}}
    })
}

#[tokio::test]
async fn an_agent_step_then_a_human_step() {
    let (server, _clock) = server().await;
    let applied = server.client().apply_scenario(&two_step(), None).await.unwrap();
    let id = applied.intent_id;
    let writer = server.client_with_key(applied.agents_provisioned[0].api_key.as_deref().unwrap());
    let mut work = Box::pin(writer.listen("report-writer", 0));
    let first = work.next().await.unwrap().unwrap();
    assert_eq!((first.step_id.as_deref(), first.status), (Some("draft"), Status::Delivered));
    writer.resume(id, &json!({"action": "complete", "draft": "v1"})).await.unwrap();

    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!(
        (intent.status, intent.waiting_reason),
        (Status::Waiting, Some(WaitingReason::WaitingForHuman))
    );
    assert_eq!(intent.step_id.as_deref(), Some("approve"));
    assert_eq!(intent.pending_with.unwrap().reference, "boss@example.com");
    let workflow = intent.workflow.unwrap();
    assert_eq!(workflow.results["draft"]["draft"], "v1");

    // The approver rejects: on_failure sends it back to the writer, who gets it again.
    let r = http()
        .post(format!("{}/v1/inbox/{id}/reject", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&json!({"comment": "too short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let again = work.next().await.unwrap().unwrap();
    assert_eq!(
        (again.intent_id, again.step_id.as_deref(), again.status),
        (id, Some("draft"), Status::InProgress)
    );
    writer.resume(id, &json!({"action": "complete", "draft": "v2"})).await.unwrap();
    let r = http()
        .post(format!("{}/v1/inbox/{id}/approve", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let events = server.client().list_events(id, 0).await.unwrap().events;
    let statuses: Vec<Status> = events.iter().map(|e| e.status).collect();
    use Status::*;
    assert_eq!(
        statuses,
        [
            Created, Submitted, Delivered, InProgress, Waiting, InProgress, Waiting, InProgress, Waiting,
            InProgress, Completed
        ]
    );
    let done = server.client().get_intent(id).await.unwrap();
    assert_eq!(done.result.unwrap()["task_result"]["outcome"], "approved");
}

#[tokio::test]
async fn a_delay_step_waits_for_time() {
    let (server, clock) = server().await;
    let bundle = json!({
      "scenario_id": "delayed.v1",
      "agents": [{"role": "worker", "address": "later-worker", "create_if_missing": true}],
      "workflow": {"steps": [
        {"step_id": "cool_off", "runtime_type": "delay", "runtime_config": {"seconds": 30}},
        {"step_id": "work", "tool_id": "tool.agent.task.v1", "assigned_to": "worker"}
      ]},
      "intent": {"type": "intent.later.v1", "payload": {}}
    });
    let applied = server.client().apply_scenario(&bundle, None).await.unwrap();
    assert_eq!(applied.status, Status::Waiting);
    let intent = server.client().get_intent(applied.intent_id).await.unwrap();
    assert_eq!(intent.waiting_reason, Some(WaitingReason::WaitingForTime));
    let worker = server.client_with_key(applied.agents_provisioned[0].api_key.as_deref().unwrap());
    let nothing: Vec<_> = worker.listen_once("later-worker", 0, 1).map(|i| i.unwrap()).collect().await;
    assert!(nothing.iter().all(|i| !matches!(i, AgentStreamItem::Delivery(_))), "not before the delay");
    let mut work = Box::pin(worker.listen("later-worker", 0));
    clock.advance_seconds(30);
    let d = work.next().await.unwrap().unwrap();
    assert_eq!((d.step_id.as_deref(), d.status), (Some("work"), Status::InProgress));
    worker.resume(applied.intent_id, &json!({"ok": true})).await.unwrap();
    assert_eq!(server.client().get_intent(applied.intent_id).await.unwrap().status, Status::Completed);
}

#[tokio::test]
async fn a_failed_step_is_retried_and_a_late_one_fails_by_its_deadline() {
    let (server, clock) = server().await;
    let bundle = json!({
      "scenario_id": "retried.v1",
      "agents": [{"role": "worker", "address": "flaky-worker", "create_if_missing": true}],
      "workflow": {"steps": [
        {"step_id": "work", "tool_id": "tool.agent.task.v1", "assigned_to": "worker",
         "retry": {"max_retries": 1, "retry_delay_seconds": 10}, "step_deadline_seconds": 300}
      ]},
      "intent": {"type": "intent.retry.v1", "payload": {}}
    });
    let applied = server.client().apply_scenario(&bundle, None).await.unwrap();
    let id = applied.intent_id;
    let worker = server.client_with_key(applied.agents_provisioned[0].api_key.as_deref().unwrap());
    let mut work = Box::pin(worker.listen("flaky-worker", 0));
    work.next().await.unwrap().unwrap();
    worker.resume(id, &json!({"action": "fail", "why": "disk full"})).await.unwrap();
    let intent = server.client().get_intent(id).await.unwrap();
    assert_eq!(
        (intent.status, intent.waiting_reason),
        (Status::Waiting, Some(WaitingReason::WaitingForAgent))
    );
    clock.advance_seconds(10);
    let retried = work.next().await.unwrap().unwrap();
    assert_eq!(retried.status, Status::InProgress);
    // The retry is never answered: the step deadline fails the intent (no on_failure).
    clock.advance_seconds(300);
    let events = server.client().observe(id, 0).map(|e| e.unwrap()).collect::<Vec<_>>().await;
    let last = events.last().unwrap();
    assert_eq!((last.event_type, last.status), (EventType::Failed, Status::Failed));
    assert_eq!(last.details["error"]["code"], "step_deadline_exceeded");
}

#[tokio::test]
async fn a_notification_step_sends_a_webhook_event() {
    let (server, _clock) = server().await;
    let mut receiver = Receiver::start([]).await;
    http()
        .post(format!("{}/v1/webhooks/subscriptions", server.base_url))
        .header("x-api-key", &server.admin_key)
        .json(&json!({"callback_url": receiver.url, "event_types": ["workflow.notification"]}))
        .send()
        .await
        .unwrap();
    let bundle = json!({
      "scenario_id": "notify.v1",
      "agents": [{"role": "worker", "address": "notified-worker", "create_if_missing": true}],
      "workflow": {"steps": [
        {"step_id": "tell", "runtime_type": "notification", "runtime_config": {"message": "starting"}},
        {"step_id": "work", "tool_id": "tool.agent.task.v1", "assigned_to": "worker"}
      ]},
      "intent": {"type": "intent.notify.v1", "payload": {}}
    });
    let applied = server.client().apply_scenario(&bundle, None).await.unwrap();
    let got = receiver.next().await.json();
    assert_eq!(got["event_type"], "workflow.notification");
    assert_eq!(got["payload"]["message"], "starting");
    assert_eq!(got["payload"]["intent_id"], applied.intent_id.to_string());
    let intent = server.client().get_intent(applied.intent_id).await.unwrap();
    assert_eq!(
        (intent.status, intent.step_id.as_deref()),
        (Status::Submitted, Some("work")),
        "the instant step ran; the agent step awaits delivery"
    );
}

#[tokio::test]
async fn form_tasks_check_their_schema() {
    let (server, _clock) = server().await;
    let body = json!({"intent_type": "vendor.onboard.v1", "to_agent": "agent://acme/ops/onboarding",
        "human_task": {"title": "Vendor details", "task_type": "form",
          "form_schema": {"type": "object", "required": ["iban"], "properties": {"iban": {"type": "string", "minLength": 15}}}}});
    let id: IntentId = server.client().create_intent_raw(&body, None).await.unwrap()["intent_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let bad = server
        .client()
        .resume(id, &json!({"task_result": {"outcome": "submitted", "iban": "short"}}))
        .await
        .unwrap_err();
    assert_eq!(bad.status(), Some(422));
    assert_eq!(bad.body().unwrap().error.details["rule"], "form_schema");
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Waiting, "state unchanged");
    server
        .client()
        .resume(id, &json!({"task_result": {"outcome": "submitted", "iban": "DE89370400440532013000"}}))
        .await
        .unwrap();
    assert_eq!(server.client().get_intent(id).await.unwrap().status, Status::Completed);
    let remote = json!({"intent_type": "vendor.onboard.v1", "to_agent": "x", "human_task": {"title": "t", "form_schema": {"$ref": "https://evil.example/schema.json"}}});
    assert_eq!(
        server.client().create_intent_raw(&remote, None).await.unwrap_err().status(),
        Some(422),
        "no remote $refs"
    );
}
