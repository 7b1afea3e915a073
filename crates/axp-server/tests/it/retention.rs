//! Retention, driven by a manual clock (`docs/retention.md`): finished intents go once past
//! their workspace's period, with everything of theirs; unfinished ones never do; another
//! workspace keeps its own period; dead letters, webhook events and the audit log have theirs; the archive
//! holds what was removed. The pruner runs in the server too; each test runs one pass itself
//! after moving the clock and judges the result, never how many passes did the work.

use std::sync::Arc;

use axp_core::delivery::DeliveryStatus;
use axp_core::retention::MAX_DAYS;
use axp_core::{IntentId, Status, Timestamp};
use axp_engine::retention::{ArchiveDir, find};
use axp_engine::{
    Clock, DispatcherOptions, ManualClock, OutboundPolicy, Pruner, RetentionOptions, RetrySchedule,
};
use axp_server::Options;
use axp_store::{Audit, TenantSpec, Topic, generate_api_key};
use axp_test_util::TestServer;
use axp_test_util::receiver::{Receiver, Reply};
use serde_json::{Value, json};

use crate::helpers::{http, notify};

const START: Timestamp = Timestamp::from_millis(1_780_000_000_000);
const DAY: i64 = 86_400;

async fn server(archive: Option<ArchiveDir>) -> (TestServer, ManualClock) {
    let clock = ManualClock::new(START);
    let options = Options::from_env().unwrap();
    let retention = RetentionOptions { archive, ..RetentionOptions::default() };
    (TestServer::spawn_with(Options { clock: Arc::new(clock.clone()), retention, ..options }).await, clock)
}

/// One pruner pass over the server's store at the clock's time, with the server's settings.
async fn prune(server: &TestServer) {
    let state = server.state();
    Pruner::new(state.store.clone(), state.clock.clone(), state.options.retention.clone())
        .prune_once()
        .await
        .expect("a retention pass");
}

async fn call(
    server: &TestServer,
    key: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = http().request(method, format!("{}{path}", server.base_url)).header("x-api-key", key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// An intent to nobody, completed at once.
async fn completed(server: &TestServer, key: &str) -> IntentId {
    let client = server.client_with_key(key);
    let id = client.create_intent(&notify("nobody"), None).await.unwrap().intent_id;
    client.resolve(id, &json!({"status": "COMPLETED", "result": {"ok": true}})).await.unwrap();
    id
}

async fn status_of(server: &TestServer, key: &str, id: IntentId) -> u16 {
    call(server, key, reqwest::Method::GET, &format!("/v1/intents/{id}"), None).await.0
}

/// A second workspace of the admin's organization and its admin key.
async fn second_workspace(server: &TestServer) -> String {
    let now = server.state().clock.now();
    let (spec, _) = TenantSpec::with_admin(&server.admin.tenant.org_slug, "second", "test", now).unwrap();
    let second = server.state().store.create_tenant(spec).await.unwrap();
    let sa = second.actor.service_account().unwrap();
    let (token, key) = generate_api_key(sa, now, None);
    let by = Audit::new(&second.actor, None);
    server.state().store.create_api_key(&second.tenant, sa, key, &by).await.unwrap();
    token
}

#[tokio::test]
async fn finished_intents_go_after_their_workspaces_period_and_unfinished_ones_never() {
    let (server, clock) = server(None).await;
    let admin = server.admin_key.clone();
    let other = second_workspace(&server).await;
    let (early, open, theirs) = (
        completed(&server, &admin).await,
        server.client().create_intent(&notify("nobody"), None).await.unwrap().intent_id,
        completed(&server, &other).await,
    );
    let settings = "/v1/settings/retention";
    let (status, body) =
        call(&server, &admin, reqwest::Method::PATCH, settings, Some(json!({"intent_days": 1}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["overrides"]["intent_days"].as_u64(), body["effective"]["intent_days"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(body["effective"]["audit_days"], 365);
    assert_eq!(body["overrides"]["dead_letter_days"], Value::Null);

    // Within the period nothing goes.
    clock.advance_seconds(DAY - 1);
    prune(&server).await;
    assert_eq!(status_of(&server, &admin, early).await, 200);

    clock.advance_seconds(2);
    prune(&server).await;
    assert_eq!(status_of(&server, &admin, early).await, 404, "past its workspace's day");
    let (status, body) = call(
        &server,
        &admin,
        reqwest::Method::GET,
        &format!("/v1/intents/{early}/events/stream?since=3"),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("not_found")),
        "a resumed stream: {body}"
    );
    let (status, _) =
        call(&server, &admin, reqwest::Method::GET, &format!("/v1/intents/{early}/events"), None).await;
    assert_eq!(status, 404);
    assert_eq!(server.client().get_intent(open).await.unwrap().status, Status::Submitted);
    assert_eq!(status_of(&server, &other, theirs).await, 200, "the other workspace keeps 30 days");

    clock.advance_seconds(30 * DAY);
    prune(&server).await;
    assert_eq!(status_of(&server, &other, theirs).await, 404);
    clock.advance_seconds(i64::from(MAX_DAYS) * DAY);
    prune(&server).await;
    assert_eq!(server.client().get_intent(open).await.unwrap().status, Status::Submitted, "never removed");
}

#[tokio::test]
async fn webhook_events_and_the_audit_log_have_their_own_periods() {
    let (server, clock) = server(None).await;
    let admin = server.admin_key.clone();
    let event = json!({"event_type": "inbox.thread_created", "source": "retention", "payload": {}});
    let (status, published) =
        call(&server, &admin, reqwest::Method::POST, "/v1/webhooks/events", Some(event)).await;
    assert_eq!(status, 200, "{published}");
    let replay = format!("/v1/webhooks/events/{}/replay", published["event_id"].as_str().unwrap());
    let patch = json!({"webhook_event_days": 2});
    assert_eq!(
        call(&server, &admin, reqwest::Method::PATCH, "/v1/settings/retention", Some(patch)).await.0,
        200
    );
    let audit = || async { call(&server, &admin, reqwest::Method::GET, "/v1/audit?limit=500", None).await.1 };
    let logged = audit().await["entries"].as_array().unwrap().len();
    assert!(logged >= 1, "the settings change is audited");

    clock.advance_seconds(2 * DAY + 1);
    prune(&server).await;
    assert_eq!(call(&server, &admin, reqwest::Method::POST, &replay, None).await.0, 404, "past its 2 days");
    assert_eq!(audit().await["entries"].as_array().unwrap().len(), logged, "the audit log keeps 365 days");

    clock.advance_seconds(365 * DAY);
    prune(&server).await;
    assert_eq!(audit().await["entries"], json!([]), "past the audit log's period");
}

#[tokio::test]
async fn the_archive_holds_each_removed_intent_with_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let archive = ArchiveDir::open(dir.path()).unwrap();
    let (server, clock) = server(Some(archive.clone())).await;
    let admin = server.admin_key.clone();
    let id = completed(&server, &admin).await;
    let events = server.client().list_events(id, 0).await.unwrap().events;

    clock.advance_seconds(31 * DAY);
    prune(&server).await;
    assert_eq!(status_of(&server, &admin, id).await, 404);
    let record = find(&archive.file_for(clock.now()), id).unwrap().expect("archived before removal");
    assert_eq!(record.intent.status, Status::Completed);
    assert_eq!(record.events, events, "every event, in order");
    assert!(record.archived_at <= clock.now());
    assert_eq!(find(&archive.file_for(clock.now()), IntentId::new()).unwrap(), None);
}

#[tokio::test]
async fn bad_settings_are_refused_and_change_nothing() {
    let (server, _clock) = server(None).await;
    let admin = server.admin_key.clone();
    let path = "/v1/settings/retention";
    let before = call(&server, &admin, reqwest::Method::GET, path, None).await.1;
    for body in [
        json!({"intent_days": 0}),
        json!({"intent_days": "7"}),
        json!({"audit_days": 1}),
        json!({"intent_days": 7, "dead_letter_days": -1}),
        json!({"intent_days": MAX_DAYS + 1}),
    ] {
        let (status, answer) = call(&server, &admin, reqwest::Method::PATCH, path, Some(body.clone())).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (422, Some("validation_error")),
            "{body}: {answer}"
        );
    }
    assert_eq!(call(&server, &admin, reqwest::Method::GET, path, None).await.1, before);
    let other = second_workspace(&server).await;
    let ws = server.admin.tenant.workspace_id;
    let foreign = format!("{path}?workspace_id={ws}");
    let (status, _) =
        call(&server, &other, reqwest::Method::PATCH, &foreign, Some(json!({"intent_days": 1}))).await;
    assert_eq!(status, 404, "another workspace's settings are not found");
    assert_eq!(call(&server, &admin, reqwest::Method::GET, path, None).await.1, before);
}

#[tokio::test]
async fn dead_letters_go_after_their_own_period_and_their_open_intent_stays() {
    let clock = ManualClock::new(START);
    let dispatcher = DispatcherOptions {
        schedule: RetrySchedule::parse("0s").unwrap(),
        concurrency: 2,
        attempt_timeout: std::time::Duration::from_secs(5),
        policy: OutboundPolicy::parse("127.0.0.0/8").unwrap(),
    };
    let options = Options { clock: Arc::new(clock.clone()), dispatcher, ..Options::from_env().unwrap() };
    let server = TestServer::spawn_with(options).await;
    let admin = server.admin_key.clone();
    let receiver = Receiver::start([Reply::Status(500)]).await;
    let body = json!({"name": "failing", "delivery_mode": "http", "delivery_config": {"url": receiver.url}});
    assert_eq!(call(&server, &admin, reqwest::Method::POST, "/v1/service-accounts", Some(body)).await.0, 200);
    let id = server.client().create_intent(&notify("failing"), None).await.unwrap().intent_id;
    // Wait (on commits, not time) until its only attempt failed and it was dead-lettered.
    let mut wake = server.state().notifier.subscribe(Topic::Deliveries);
    let dead = loop {
        wake.mark_seen();
        let all = server.state().store.list_deliveries(&server.admin.tenant, None, 10).await.unwrap();
        if let Some(d) =
            all.into_iter().find(|d| d.intent_id == Some(id) && d.status == DeliveryStatus::DeadLettered)
        {
            break d;
        }
        tokio::time::timeout(std::time::Duration::from_secs(30), wake.changed())
            .await
            .expect("a delivery changed");
    };
    let path = format!("/v1/deliveries/{}", dead.delivery_id);
    assert_eq!(
        call(
            &server,
            &admin,
            reqwest::Method::PATCH,
            "/v1/settings/retention",
            Some(json!({"dead_letter_days": 3}))
        )
        .await
        .0,
        200
    );

    clock.advance_seconds(3 * DAY - 1);
    prune(&server).await;
    assert_eq!(call(&server, &admin, reqwest::Method::GET, &path, None).await.0, 200, "within its 3 days");
    clock.advance_seconds(2);
    prune(&server).await;
    assert_eq!(call(&server, &admin, reqwest::Method::GET, &path, None).await.0, 404, "past its 3 days");
    assert_eq!(
        server.client().get_intent(id).await.unwrap().status,
        Status::Submitted,
        "its intent is not finished"
    );
}
