//! The inbox (contract §5.1), approvals (§5.2), the caller's tasks (§4.9) and capabilities
//! (§5.3).

use std::sync::{Arc, Mutex};

use axp_core::{ErrorCode, IntentId, Status, Timestamp};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use super::{envelope, spawn};

/// A wire thread object (contract §5.1) for intent `id`, seen by `owner`.
fn thread_wire(id: IntentId, owner: &str) -> Value {
    json!({
        "thread_id": id, "intent_id": id, "status": "active", "owner_agent": owner,
        "from_agent": "agent://o/w/me", "to_agent": "agent://o/w/finance", "intent_type": "expense.approve.v1",
        "created_at": "2026-02-28T00:00:10.000Z", "updated_at": "2026-02-28T00:00:12.000Z",
        "last_message_at": "2026-02-28T00:00:12.000Z", "unread": false,
        "timeline": [
            {"event_id": uuid::Uuid::new_v4(), "event_type": "intent_received", "actor": "system",
             "at": "2026-02-28T00:00:10.000Z", "details": {}},
            {"event_id": uuid::Uuid::new_v4(), "event_type": "reply", "actor": owner,
             "at": "2026-02-28T00:00:12.000Z", "details": {"message": "hi", "message_id": "m-1"}}
        ],
        "human_task": {"title": "Approve", "task_type": "approval"},
        "pending_with": {"type": "human", "ref": "boss@example.com", "name": "boss@example.com"},
        "future_field": 1
    })
}

#[tokio::test]
async fn inbox_approval_and_capability_calls_hit_their_paths() {
    let id = IntentId::new();
    let approval_id = crate::ApprovalId::new();
    let thread = thread_wire(id, "agent://o/w/me");
    let seen = Arc::new(Mutex::new(Vec::<(String, String, Value)>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
        let seen = record.clone();
        let thread = thread.clone();
        async move {
            let parsed: Value = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() };
            seen.lock().unwrap().push((method.to_string(), uri.to_string(), parsed));
            let path = uri.path();
            axum::Json(if path == "/v1/inbox" {
                json!({"ok": true, "threads": [thread]})
            } else if path == "/v1/inbox/changes" {
                json!({"ok": true, "changes": [{"cursor": "cur_3", "thread": thread}], "next_cursor": "cur_3", "has_more": true})
            } else if path.ends_with("/messages/delete") {
                json!({"ok": true, "thread": thread, "mode": "both", "deleted_count": 1, "message_ids": ["m-1"]})
            } else if path.starts_with("/v1/approvals/") {
                json!({"ok": true, "approval": {"approval_id": approval_id, "decision": "reject", "comment": "no",
                       "decided_at": "2026-02-28T00:00:13.000Z"}})
            } else if path == "/v1/me/tasks" {
                json!({"ok": true, "tasks": [{"intent_id": id, "intent_type": "expense.approve.v1", "status": "WAITING",
                       "from_agent": "agent://o/w/me", "assigned_at": "2026-02-28T00:00:10.000Z", "due_at": null,
                       "human_task": {"title": "Approve", "task_type": "approval"}, "pending_with": null, "step_id": null,
                       "priority": "high"}]})
            } else if path == "/v1/capabilities" {
                json!({"ok": true, "capabilities": ["intents", "inbox"], "supported_intent_types": ["intent.ask.v1"]})
            } else {
                json!({"ok": true, "thread": thread})
            })
        }
    });
    let client = spawn(router).await;

    let listed = client
        .list_inbox(Some(crate::ThreadStatus::Pending), Some(10), Some("agent://o/w/me"))
        .await
        .unwrap();
    assert_eq!(listed[0].thread_id, id);
    assert_eq!(listed[0].status, crate::ThreadStatus::Active);
    assert_eq!(listed[0].timeline[1].details["message"], "hi");
    assert_eq!(listed[0].pending_with.as_ref().unwrap().reference, "boss@example.com");
    client.list_inbox(None, None, None).await.unwrap();
    let thread = client.get_inbox_thread(id, Some("agent://o/w/finance")).await.unwrap();
    assert_eq!(thread.last_message_at, Timestamp::parse_rfc3339("2026-02-28T00:00:12Z"));
    let page = client.list_inbox_changes(Some("cur_2"), Some(1), None).await.unwrap();
    assert_eq!(
        (page.changes[0].cursor.as_str(), page.next_cursor.as_deref(), page.has_more),
        ("cur_3", Some("cur_3"), true)
    );
    client.list_inbox_changes(None, None, None).await.unwrap();
    client.reply_inbox_thread(id, "Can you add Q4?", None).await.unwrap();
    client.delegate_inbox_thread(id, "agent://o/w/controller", Some("over my limit"), None).await.unwrap();
    client.delegate_inbox_thread(id, "boss@example.com", None, Some("agent://o/w/me")).await.unwrap();
    client.approve_inbox_thread(id, Some("fine"), None).await.unwrap();
    client.reject_inbox_thread(id, None, None).await.unwrap();
    client.mark_inbox_thread_read(id, None).await.unwrap();
    let request = crate::DeleteMessagesRequest {
        mode: crate::DeleteMode::ForEveryone,
        message_ids: vec!["m-1".into()],
        limit: None,
    };
    let deleted = client.delete_inbox_messages(id, &request, None).await.unwrap();
    assert_eq!(
        (deleted.mode, deleted.deleted_count, deleted.message_ids),
        (crate::DeleteMode::ForEveryone, 1, vec!["m-1".to_owned()])
    );
    let approval = client.decide_approval(approval_id, crate::Decision::Reject, Some("no")).await.unwrap();
    assert_eq!((approval.approval_id, approval.decision.as_str()), (approval_id, "reject"));
    client.decide_approval(approval_id, crate::Decision::Approve, None).await.unwrap();
    let tasks = client.list_my_tasks(Some(5), None).await.unwrap();
    assert_eq!(
        (tasks[0].intent_id, tasks[0].status, tasks[0].title()),
        (id, Status::Waiting, Some("Approve"))
    );
    assert_eq!(tasks[0].extra["priority"], "high", "unknown fields are kept");
    client.list_my_tasks(None, Some("boss@example.com")).await.unwrap();
    let caps = client.capabilities().await.unwrap();
    assert!(caps.supports("inbox") && !caps.supports("mesh"));

    let seen = seen.lock().unwrap();
    let calls: Vec<String> = seen.iter().map(|(m, u, _)| format!("{m} {u}")).collect();
    assert_eq!(
        calls,
        [
            "GET /v1/inbox?owner_agent=agent%3A%2F%2Fo%2Fw%2Fme&status=pending&limit=10".to_owned(),
            "GET /v1/inbox".to_owned(),
            format!("GET /v1/inbox/{id}?owner_agent=agent%3A%2F%2Fo%2Fw%2Ffinance"),
            "GET /v1/inbox/changes?cursor=cur_2&limit=1".to_owned(),
            "GET /v1/inbox/changes".to_owned(),
            format!("POST /v1/inbox/{id}/reply"),
            format!("POST /v1/inbox/{id}/delegate"),
            format!("POST /v1/inbox/{id}/delegate?owner_agent=agent%3A%2F%2Fo%2Fw%2Fme"),
            format!("POST /v1/inbox/{id}/approve"),
            format!("POST /v1/inbox/{id}/reject"),
            format!("POST /v1/inbox/{id}/read"),
            format!("POST /v1/inbox/{id}/messages/delete"),
            format!("POST /v1/approvals/{approval_id}/decision"),
            format!("POST /v1/approvals/{approval_id}/decision"),
            "GET /v1/me/tasks?limit=5".to_owned(),
            "GET /v1/me/tasks?owner_agent=boss%40example.com".to_owned(),
            "GET /v1/capabilities".to_owned(),
        ]
    );
    let bodies: Vec<&Value> = seen.iter().map(|(_, _, b)| b).collect();
    assert_eq!(*bodies[5], json!({"message": "Can you add Q4?"}), "reply is exactly {{message}}");
    assert_eq!(*bodies[6], json!({"delegate_to": "agent://o/w/controller", "note": "over my limit"}));
    assert_eq!(*bodies[7], json!({"delegate_to": "boss@example.com"}));
    assert_eq!(*bodies[8], json!({"comment": "fine"}));
    assert_eq!(*bodies[9], json!({}));
    assert_eq!(*bodies[10], json!({}));
    assert_eq!(*bodies[11], json!({"mode": "both", "message_ids": ["m-1"]}));
    assert_eq!(*bodies[12], json!({"decision": "reject", "comment": "no"}));
    assert_eq!(*bodies[13], json!({"decision": "approve"}));
}

#[tokio::test]
async fn a_second_different_decision_is_a_conflict() {
    let router = Router::new().route(
        "/v1/approvals/{id}/decision",
        post(|| async {
            envelope(
                StatusCode::CONFLICT,
                ErrorCode::InvalidStateTransition,
                "approval already decided: approve",
            )
        }),
    );
    let client = spawn(router).await;
    let err =
        client.decide_approval(crate::ApprovalId::new(), crate::Decision::Reject, None).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(err.code(), Some(ErrorCode::InvalidStateTransition));
    assert!(err.to_string().contains("already decided"), "{err}");
}

#[test]
fn inbox_types_round_trip() {
    let id = IntentId::new();
    let thread: crate::Thread = serde_json::from_value(thread_wire(id, "agent://o/w/me")).unwrap();
    assert_eq!(thread.timeline.len(), 2);
    assert_eq!(thread.human_task.as_ref().unwrap()["title"], "Approve");
    let back = serde_json::to_value(&thread).unwrap();
    assert_eq!(back["status"], "active");
    assert_eq!(back["pending_with"]["ref"], "boss@example.com");
    assert_eq!(
        serde_json::to_value(crate::DeleteMessagesRequest::default()).unwrap(),
        json!({"mode": "self"})
    );
    assert_eq!(crate::DeleteMode::ForEveryone.as_str(), "both");
    assert_eq!(serde_json::to_value(crate::Decision::Approve).unwrap(), "approve");
    assert_eq!(crate::Decision::Reject.as_str(), "reject");
    let empty: crate::InboxChanges =
        serde_json::from_value(json!({"ok": true, "changes": [], "next_cursor": null, "has_more": false}))
            .unwrap();
    assert!(empty.changes.is_empty() && empty.next_cursor.is_none());
}
