//! Intents over the API: create, read, idempotency, commands, bad input.

use axp_core::{ErrorCode, EventType, Status};
use axp_test_util::TestServer;
use serde_json::{Value, json};

use crate::helpers::{http, notify};

#[tokio::test]
async fn create_then_read_back_with_two_events() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let created = client.create_intent(&notify("agent://conformance/receiver"), None).await.unwrap();
    assert_eq!(created.status, Status::Submitted);

    let intent = client.get_intent(created.intent_id).await.unwrap();
    assert_eq!(intent.intent_id, created.intent_id);
    assert_eq!(intent.from_agent, "agent://default/default/admin", "from_agent comes from the key");
    assert_eq!(intent.to_agent, "agent://conformance/receiver");

    let events = client.list_events(created.intent_id, 0).await.unwrap().events;
    let kinds: Vec<_> = events.iter().map(|e| (e.seq, e.event_type)).collect();
    assert_eq!(kinds, [(1, EventType::Created), (2, EventType::Submitted)]);
    let after_first = client.list_events(created.intent_id, 1).await.unwrap().events;
    assert_eq!(after_first.iter().map(|e| e.seq).collect::<Vec<_>>(), [2], "since is exclusive");
}

#[tokio::test]
async fn idempotent_create_replays_the_same_bytes_and_conflicts_on_a_new_body() {
    let server = TestServer::spawn().await;
    let url = format!("{}/v1/intents", server.base_url);
    let body = json!({"intent_type": "notify.message.v1", "to_agent": "agent://conformance/receiver", "payload": {"text": "a"}});
    let send = |body: Value, key: &str| {
        http()
            .post(&url)
            .header("x-api-key", &server.admin_key)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let first = send(body.clone(), "idem-1").await.unwrap();
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    let again = send(body.clone(), "idem-1").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.text().await.unwrap(), first, "byte-identical replay");

    let mut changed = body.clone();
    changed["payload"] = json!({"text": "different body", "priority": "high"});
    let conflict = send(changed, "idem-1").await.unwrap();
    assert_eq!(conflict.status(), 409);
    let envelope: Value = conflict.json().await.unwrap();
    assert_eq!(envelope["error"]["code"], "idempotency_conflict");
    assert_eq!(envelope["detail"], "idempotency key reused with different payload");

    let intents = server.client().list_intents(&[], None, Some(50)).await.unwrap();
    assert_eq!(intents.len(), 1, "replay and conflict created nothing");

    // Keys are scoped per caller: another identity's same key is a new request.
    let (_, other_key) = server.agent("other-caller", None).await;
    let other = http()
        .post(&url)
        .header("x-api-key", other_key)
        .header("Idempotency-Key", "idem-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
    assert_ne!(other.text().await.unwrap(), first);
}

#[tokio::test]
async fn bad_input_gets_the_envelope_and_changes_nothing() {
    let server = TestServer::spawn().await;
    let url = format!("{}/v1/intents", server.base_url);
    let post = |body: String| {
        http()
            .post(&url)
            .header("x-api-key", &server.admin_key)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let cases = [
        (r#"{"intent_type":"Not.Valid","to_agent":"bot"}"#.to_string(), 422, "validation_error"),
        (r#"{"intent_type":"notify.message.v1"}"#.to_string(), 422, "validation_error"),
        (r#"{"intent_type":"notify.message.v1","to_agent":"agent://bad address"}"#.to_string(), 422, "invalid_agent_address"),
        (r#"{"intent_type":"notify.message.v1","to_agent":"bot","payload":[1]}"#.to_string(), 422, "validation_error"),
        ("not json".to_string(), 400, "bad_request"),
        ("[1,2]".to_string(), 400, "bad_request"),
        (json!({"intent_type": "notify.message.v1", "to_agent": "bot", "payload": {"t": "x".repeat(131_073)}}).to_string(), 413, "payload_too_large"),
    ];
    for (body, status, code) in cases {
        let response = post(body.clone()).await.unwrap();
        assert_eq!(response.status(), status, "{body:.80}");
        assert!(response.headers().contains_key("x-request-id"));
        let envelope: Value = response.json().await.unwrap();
        assert_eq!(envelope["error"]["code"], code, "{body:.80}");
        assert!(envelope["detail"].is_string());
    }
    assert!(
        server.client().list_intents(&[], None, Some(50)).await.unwrap().is_empty(),
        "nothing was created"
    );

    let missing = http().get(format!("{}/v1/intents", server.base_url)).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let envelope: Value = missing.json().await.unwrap();
    assert_eq!(envelope["error"]["code"], "missing_platform_api_key");
    let wrong = http()
        .get(format!("{}/v1/intents", server.base_url))
        .bearer_auth("axme_sa_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = http()
        .get(format!("{}/v1/intents", server.base_url))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "an API key is accepted as a Bearer token");
    let bad_status = http()
        .get(format!("{}/v1/intents?status=DONE", server.base_url))
        .bearer_auth(&server.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_status.status(), 422);
}

#[tokio::test]
async fn resolve_once_then_409_with_completion_delivery() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let mut request = notify("agent://conformance/receiver");
    request.reply_to = Some("agent://conformance/reply-target".into());
    let id = client.create_intent(&request, None).await.unwrap().intent_id;

    let resolved = client.resolve(id, &json!({"status": "COMPLETED", "result": {"ok": true}})).await.unwrap();
    let event = resolved.event.expect("terminal event");
    assert_eq!(event.event_type, EventType::Completed);
    assert_eq!(event.status, Status::Completed);
    let delivery = resolved.completion_delivery.expect("completion_delivery");
    assert_eq!(delivery["delivered"], true);
    assert_eq!(delivery["reply_to"], "agent://conformance/reply-target");
    assert_eq!(delivery["thread_id"], id.to_string());

    let again = client.resolve(id, &json!({"status": "CANCELED", "reason": "too late"})).await.unwrap_err();
    assert_eq!(again.status(), Some(409));
    assert_eq!(again.code(), Some(ErrorCode::InvalidStateTransition));
    assert_eq!(client.get_intent(id).await.unwrap().status, Status::Completed);

    let plain = client.create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let resolved = client.resolve(plain, &json!({"status": "FAILED"})).await.unwrap();
    assert_eq!(resolved.completion_delivery.unwrap()["reason"], "reply_to_not_set");
    let bad = client.resolve(plain, &json!({"status": "DONE"})).await.unwrap_err();
    assert_eq!(bad.status(), Some(422));
}

#[tokio::test]
async fn control_only_resume_never_terminates_and_results_complete() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let id = client.create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let resumed = client.resume(id, &json!({"approve_current_step": true, "reason": "go"})).await.unwrap();
    assert_eq!(resumed.event.unwrap().event_type, EventType::InProgress);
    assert_eq!(client.get_intent(id).await.unwrap().status, Status::InProgress);
    let done = client.resume(id, &json!({"action": "complete", "report_url": "https://r/1"})).await.unwrap();
    assert_eq!(done.event.unwrap().event_type, EventType::Completed);
    let intent = client.get_intent(id).await.unwrap();
    assert_eq!(intent.result, Some(json!({"action": "complete", "report_url": "https://r/1"})));

    let internal = client.resume(id, &json!({"internal_scheduler": true})).await.unwrap_err();
    assert_eq!(internal.status(), Some(403));
}

#[tokio::test]
async fn controls_and_policy_use_policy_generation_as_cas() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let id = client.create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let applied = client
        .update_controls(
            id,
            &json!({"controls_patch": {"timeout_seconds": 30}, "expected_policy_generation": 0}),
        )
        .await
        .unwrap();
    assert_eq!(applied.policy_generation, 1);
    assert_eq!(applied.controls.unwrap()["timeout_seconds"], 30);
    let policy = client
        .update_policy(id, &json!({"grants_patch": {"delegate:agent://ops": {"allow": ["resume"]}}, "expected_policy_generation": 1}))
        .await
        .unwrap();
    assert_eq!(policy.policy_generation, 2);

    let stale = client
        .update_controls(
            id,
            &json!({"controls_patch": {"timeout_seconds": 1}, "expected_policy_generation": 1}),
        )
        .await
        .unwrap_err();
    assert_eq!(stale.status(), Some(409));
    assert_eq!(stale.code(), Some(ErrorCode::StalePolicyGeneration));
    let body = stale.body().unwrap();
    assert_eq!(body.extra["policy_generation"], 2);
    assert_eq!(body.extra["applied"], false);
    let intent = client.get_intent(id).await.unwrap();
    assert_eq!(intent.controls["timeout_seconds"], 30, "a stale write changes nothing");
    assert_eq!(
        client.list_events(id, 0).await.unwrap().events.len(),
        2,
        "controls and policy emit no events"
    );
}

#[tokio::test]
async fn list_filters_by_status_and_target() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let a = client.create_intent(&notify("worker-a"), None).await.unwrap().intent_id;
    client.create_intent(&notify("worker-b"), None).await.unwrap();
    client.resolve(a, &json!({"status": "COMPLETED"})).await.unwrap();
    let to_a = client.list_intents(&[], Some("worker-a"), None).await.unwrap();
    assert_eq!(to_a.len(), 1);
    assert_eq!(to_a[0].to_agent, "agent://default/default/worker-a");
    let submitted = client.list_intents(&[Status::Submitted], None, None).await.unwrap();
    assert_eq!(submitted.len(), 1);
    assert_eq!(submitted[0].to_agent, "agent://default/default/worker-b");
}

#[tokio::test]
async fn revoked_keys_stop_working() {
    let server = TestServer::spawn().await;
    let client = server.client();
    let (sa, first) = server.agent("temp", None).await;
    let second = client.create_api_key(sa.service_account_id).await.unwrap();
    let second_client = server.client_with_key(second.token.as_deref().unwrap());
    second_client.list_intents(&[], None, None).await.expect("a new key works");
    let revoked = client.revoke_api_key(sa.service_account_id, second.key_id).await.unwrap();
    assert_eq!(revoked.status, "revoked");
    let err = second_client.list_intents(&[], None, None).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    server.client_with_key(&first).list_intents(&[], None, None).await.expect("the other key still works");
}

#[tokio::test]
async fn third_parties_need_a_grant_from_the_sender_or_target() {
    let server = TestServer::spawn().await;
    let sender = server.client();
    let (_, outsider_key) = server.agent("outsider", None).await;
    let outsider = server.client_with_key(&outsider_key);
    let id = sender.create_intent(&notify("target"), None).await.unwrap().intent_id;

    for call in [
        outsider.resume(id, &json!({"approve_current_step": true})).await,
        outsider.update_controls(id, &json!({"controls_patch": {"timeout_seconds": 9}})).await,
        outsider.resolve(id, &json!({"status": "CANCELED"})).await,
    ] {
        let err = call.unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert_eq!(err.code(), Some(ErrorCode::PolicyDenied));
    }
    assert_eq!(sender.get_intent(id).await.unwrap().policy_generation, 0, "refused calls change nothing");

    let grant = json!({"grants_patch": {"delegate:agent://default/default/outsider": {"allow": ["resume"]}}});
    sender.update_policy(id, &grant).await.unwrap();
    outsider.resume(id, &json!({"approve_current_step": true})).await.expect("granted");
    let still = outsider.update_controls(id, &json!({"controls_patch": {}})).await.unwrap_err();
    assert_eq!(still.status(), Some(403), "the grant names resume only");
}

#[tokio::test]
async fn commands_with_an_idempotency_key_replay_instead_of_conflicting() {
    let server = TestServer::spawn().await;
    let id = server.client().create_intent(&notify("bot"), None).await.unwrap().intent_id;
    let url = format!("{}/v1/intents/{id}/resolve", server.base_url);
    let send = |body: Value| {
        http()
            .post(&url)
            .header("x-api-key", &server.admin_key)
            .header("Idempotency-Key", "resolve-once")
            .json(&body)
            .send()
    };
    let body = json!({"status": "COMPLETED", "result": {"n": 1}});
    let first = send(body.clone()).await.unwrap();
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    let retry = send(body).await.unwrap();
    assert_eq!(retry.status(), 200, "a retried resolve replays its first response");
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(retry.text().await.unwrap(), first);
    let different = send(json!({"status": "FAILED"})).await.unwrap();
    assert_eq!(different.status(), 409);
    let events = server.client().list_events(id, 0).await.unwrap().events;
    assert_eq!(events.len(), 3, "resolved exactly once");
}
