//! Each REST call's method, path, query and body: intents, service accounts and keys, agents,
//! deliveries, scenarios and bulk cancel.

use std::sync::{Arc, Mutex};

use axp_core::address::{AddressScope, AgentAddress};
use axp_core::intent::NewIntent;
use axp_core::{ErrorCode, IntentId, Status, Timestamp};
use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::{Map, Value, json};

use super::{delivery, envelope, spawn};
use crate::{AgentDelivery, Client, Error};

#[tokio::test]
async fn every_call_hits_its_path() {
    let id = IntentId::new();
    let scope = AddressScope { org_slug: "o", workspace_slug: "w" };
    let to = AgentAddress::parse("bot", &scope).unwrap();
    let (intent, events) =
        NewIntent::new("a.b.v1", to.clone(), Map::new()).into_intent(id, &to, Timestamp::from_millis(0));
    let wire = intent.to_wire();
    let sa_id = axp_core::ServiceAccountId::new();
    let key_id = axp_core::ApiKeyId::new();
    let account = json!({
        "service_account_id": sa_id, "org_id": axp_core::OrgId::new(), "workspace_id": axp_core::WorkspaceId::new(),
        "name": "bot", "description": null, "status": "active", "created_by_actor_id": "bootstrap",
        "created_at": "2026-02-28T00:00:10.000Z", "updated_at": "2026-02-28T00:00:10.000Z",
        "agent_address": "agent://o/w/bot", "address": "agent://o/w/bot", "display_name": "bot", "delivery_mode": "stream"
    });
    let key = json!({
        "key_id": key_id, "service_account_id": sa_id, "key_hint": "****abcd", "status": "active",
        "created_at": "2026-02-28T00:00:10.000Z", "expires_at": null, "token": "axme_sa_x_y"
    });
    let seen = Arc::new(Mutex::new(Vec::<(String, String, Value)>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
        let seen = record.clone();
        let (wire, account, key) = (wire.clone(), account.clone(), key.clone());
        let events = serde_json::to_value(&events).unwrap();
        async move {
            let parsed: Value = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() };
            seen.lock().unwrap().push((method.to_string(), uri.to_string(), parsed));
            let path = uri.path();
            axum::Json(if path.ends_with("/keys") || path.ends_with("/revoke") {
                json!({"ok": true, "key": key})
            } else if path == "/v1/service-accounts" {
                json!({"ok": true, "service_account": account})
            } else if path == "/v1/scenarios/validate" {
                json!({"ok": true, "valid": false, "errors": ["intent.type is required"], "warnings": []})
            } else if path == "/v1/intents" {
                json!({"ok": true, "intents": [wire]})
            } else if path.ends_with("/events") {
                json!({"ok": true, "events": events, "next_since": 2})
            } else {
                json!({"ok": true, "applied": true, "policy_generation": 0, "intent": wire, "event": null})
            })
        }
    });
    let client = spawn(router).await;
    use crate::IntentExt;
    let r = client.resolve(id, &json!({"status": "COMPLETED"})).await.unwrap();
    assert_eq!(r.typed_intent().unwrap().intent_id, id);
    client.resume(id, &json!({"approve_current_step": true})).await.unwrap();
    client.update_controls(id, &json!({"controls_patch": {}})).await.unwrap();
    client.update_policy(id, &json!({"grants_patch": {}})).await.unwrap();
    let request = crate::CreateServiceAccountRequest { name: "bot".into(), ..Default::default() };
    assert_eq!(client.create_service_account(&request).await.unwrap().service_account_id, sa_id);
    assert_eq!(client.create_api_key(sa_id).await.unwrap().token.as_deref(), Some("axme_sa_x_y"));
    assert_eq!(client.revoke_api_key(sa_id, key_id).await.unwrap().key_id, key_id);
    assert!(!client.validate_scenario(&json!({})).await.unwrap().valid);
    let listed = client
        .list_intents(&[Status::Submitted, Status::Delivered], Some("agent://o/w/bot"), Some(5))
        .await
        .unwrap();
    assert_eq!(listed[0].intent_id, id);
    client.list_intents(&[], None, None).await.unwrap();
    let query = crate::ListIntentsQuery {
        from_agent: Some("agent://o/w/me".into()),
        intent_type: Some("notify.message.v1".into()),
        created_after: Some(axp_core::Timestamp::from_millis(0)),
        order: Some(crate::SortOrder::Desc),
        cursor: Some("abc".into()),
        ..Default::default()
    };
    let page = client.list_intents_page(&query).await.unwrap();
    assert_eq!((page.intents[0].intent_id, page.next_cursor), (id, None), "a server without pages");
    assert_eq!(client.list_events(id, 0).await.unwrap().events.len(), 2);
    client.list_events(id, 1).await.unwrap();

    let seen = seen.lock().unwrap();
    let calls: Vec<String> = seen.iter().map(|(m, u, _)| format!("{m} {u}")).collect();
    assert_eq!(
        calls,
        [
            format!("POST /v1/intents/{id}/resolve"),
            format!("POST /v1/intents/{id}/resume"),
            format!("POST /v1/intents/{id}/controls"),
            format!("POST /v1/intents/{id}/policy"),
            "POST /v1/service-accounts".to_owned(),
            format!("POST /v1/service-accounts/{sa_id}/keys"),
            format!("POST /v1/service-accounts/{sa_id}/keys/{key_id}/revoke"),
            "POST /v1/scenarios/validate".to_owned(),
            "GET /v1/intents?status=SUBMITTED%2CDELIVERED&to_agent=agent%3A%2F%2Fo%2Fw%2Fbot&limit=5"
                .to_owned(),
            "GET /v1/intents".to_owned(),
            "GET /v1/intents?from_agent=agent%3A%2F%2Fo%2Fw%2Fme&intent_type=notify.message.v1&created_after=1970-01-01T00%3A00%3A00.000Z&order=desc&cursor=abc".to_owned(),
            format!("GET /v1/intents/{id}/events"),
            format!("GET /v1/intents/{id}/events?since=1"),
        ]
    );
    assert_eq!(seen[0].2, json!({"status": "COMPLETED"}));
    assert_eq!(seen[4].2, json!({"name": "bot"}));
    assert_eq!(seen[5].2, json!({}));
}

#[tokio::test]
async fn apply_scenario_puts_the_key_in_header_and_body() {
    let seen = Arc::new(Mutex::new(Vec::<(HeaderMap, Value)>::new()));
    let record = seen.clone();
    let router = Router::new().route(
        "/v1/scenarios/apply",
        post(move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
            let seen = record.clone();
            async move {
                let first = seen.lock().unwrap().is_empty();
                seen.lock().unwrap().push((headers, body));
                if first {
                    return envelope(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServiceUnavailable, "busy");
                }
                axum::Json(json!({
                    "ok": true, "intent_id": IntentId::new(), "scenario_id": "demo", "status": "SUBMITTED",
                    "compile_id": "c1", "workflow_compile_id": "c1", "agents": [], "agents_provisioned": [],
                    "pending_with": "agent://o/w/bot", "deadline_at": null,
                    "created_at": "2026-02-28T00:00:10.000Z", "idempotent": false
                }))
                .into_response()
            }
        }),
    );
    let client = spawn(router).await;
    let out = client.apply_scenario(&json!({"intent": {"type": "a.b"}}), Some("scn-1")).await.unwrap();
    assert_eq!(out.compile_id, "c1");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "retried thanks to the idempotency key");
    assert_eq!(seen[1].0["idempotency-key"], "scn-1");
    assert_eq!(seen[1].1["idempotency_key"], "scn-1");
}

#[tokio::test]
async fn identity_agent_and_task_calls_hit_their_paths() {
    let sa_id = crate::ServiceAccountId::new();
    let account = json!({
        "service_account_id": sa_id, "org_id": axp_core::OrgId::new(), "workspace_id": axp_core::WorkspaceId::new(),
        "name": "bot", "description": null, "status": "active", "created_by_actor_id": "bootstrap",
        "created_at": "2026-02-28T00:00:10.000Z", "updated_at": "2026-02-28T00:00:10.000Z",
        "agent_address": "agent://o/w/bot", "address": "agent://o/w/bot", "display_name": "bot", "delivery_mode": "stream"
    });
    let agent = json!({
        "address": "agent://o/w/bot", "service_account_id": sa_id, "service_account_name": "bot",
        "display_name": "Bot", "status": "active", "delivery_mode": "poll", "created_at": "2026-02-28T00:00:10.000Z",
        "updated_at": "2026-02-28T00:00:10.000Z", "delivery_config": {"url": null}, "region": "eu-1"
    });
    let key = json!({
        "key_id": axp_core::ApiKeyId::new(), "service_account_id": sa_id, "key_hint": "****abcd", "status": "active",
        "created_at": "2026-02-28T00:00:10.000Z", "expires_at": "2027-01-01T00:00:00.000Z", "token": "axme_sa_x_y"
    });
    let id = IntentId::new();
    let (intent, _) = {
        let scope = AddressScope { org_slug: "o", workspace_slug: "w" };
        let to = AgentAddress::parse("bot", &scope).unwrap();
        NewIntent::new("a.b.v1", to.clone(), Map::new()).into_intent(id, &to, Timestamp::from_millis(0))
    };
    let wire = intent.to_wire();
    let seen = Arc::new(Mutex::new(Vec::<(String, String, Value)>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
        let seen = record.clone();
        let (account, agent, key, wire) = (account.clone(), agent.clone(), key.clone(), wire.clone());
        async move {
            let parsed: Value = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() };
            seen.lock().unwrap().push((method.to_string(), uri.path().to_owned(), parsed));
            let path = uri.path();
            axum::Json(if path.starts_with("/v1/service-accounts/") && path.ends_with("/keys") {
                json!({"ok": true, "key": key})
            } else if path.starts_with("/v1/service-accounts/") {
                json!({"ok": true, "service_account": account})
            } else if path.starts_with("/v1/agents/") {
                json!({"ok": true, "agent": agent})
            } else {
                json!({"ok": true, "applied": true, "policy_generation": 0, "intent": wire, "event": null})
            })
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let client = Client::new(format!("http://{addr}"), format!("axme_sa_{sa_id}_s3cret"));

    assert_eq!(client.get_service_account(sa_id).await.unwrap().name, "bot");
    assert_eq!(client.whoami().await.unwrap().agent_address, "agent://o/w/bot");
    let got = client.get_agent("agent://o/w/bot").await.unwrap();
    assert_eq!(got.delivery_mode, Some(crate::Binding::Poll));
    assert!(got.delivery_config.is_some());
    assert_eq!(got.extra["region"], "eu-1", "unknown fields are kept");
    client.cancel(id, "superseded").await.unwrap();
    client.submit_task_result(id, &json!({"outcome": "approved", "comment": "ok"})).await.unwrap();
    let until = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
    assert_eq!(client.create_api_key_expiring(sa_id, until).await.unwrap().expires_at, Some(until));

    let not_a_sa_key = Client::new(format!("http://{addr}"), "some-other-token");
    assert!(matches!(not_a_sa_key.whoami().await, Err(Error::Config(_))));

    let seen = seen.lock().unwrap();
    let calls: Vec<String> = seen.iter().map(|(m, p, _)| format!("{m} {p}")).collect();
    assert_eq!(
        calls,
        [
            format!("GET /v1/service-accounts/{sa_id}"),
            format!("GET /v1/service-accounts/{sa_id}"),
            "GET /v1/agents/o/w/bot".to_owned(),
            format!("POST /v1/intents/{id}/resolve"),
            format!("POST /v1/intents/{id}/resume"),
            format!("POST /v1/service-accounts/{sa_id}/keys"),
        ]
    );
    assert_eq!(seen[3].2, json!({"status": "CANCELED", "reason": "superseded"}));
    assert_eq!(seen[4].2, json!({"task_result": {"outcome": "approved", "comment": "ok"}}));
    assert_eq!(seen[5].2, json!({"expires_at": "2027-01-01T00:00:00.000Z"}));
}

#[test]
fn service_account_ids_come_out_of_keys() {
    let id = crate::ServiceAccountId::new();
    assert_eq!(crate::service_account_id_from_key(&format!("axme_sa_{id}_abc_def")), Some(id));
    assert_eq!(crate::service_account_id_from_key(&format!(" axme_sa_{id}_x \n")), Some(id));
    for key in
        ["", "axme_sa_", "axme_sa_nope_x", &format!("axme_sa_{id}_"), &format!("axme_sa_{id}"), "bearer"]
    {
        assert_eq!(crate::service_account_id_from_key(key), None, "{key:?}");
    }
}

#[tokio::test]
async fn registry_delivery_and_bulk_calls_hit_their_paths() {
    let sa_id = crate::ServiceAccountId::new();
    let delivery_id = crate::DeliveryId::new();
    let intent_id = IntentId::new();
    let account = json!({
        "service_account_id": sa_id, "org_id": axp_core::OrgId::new(), "workspace_id": axp_core::WorkspaceId::new(),
        "name": "w", "description": null, "status": "active", "created_by_actor_id": "bootstrap",
        "created_at": "2026-02-28T00:00:10.000Z", "updated_at": "2026-02-28T00:00:10.000Z",
        "agent_address": "agent://o/w/w", "address": "agent://o/w/w", "display_name": "w", "delivery_mode": "poll",
        "lease_seconds": 30
    });
    let agent = json!({"address": "agent://o/w/w", "delivery_mode": "http", "delivery_config": {"url": "https://h/x"}});
    let delivery = json!({
        "delivery_id": delivery_id, "replay_of_delivery_id": null, "org_id": axp_core::OrgId::new(),
        "workspace_id": axp_core::WorkspaceId::new(), "kind": "agent_push", "transport_type": "http",
        "message_id": "m1", "intent_id": intent_id, "event_id": null, "subscription_id": null,
        "target": "agent://o/w/w", "url": "https://h/x", "status": "dead_lettered", "attempt": 2,
        "next_attempt_at": null, "last_response_code": 500, "error_detail": "HTTP 500",
        "attempts": [{"attempt": 1, "at": "2026-02-28T00:00:10.000Z", "status_code": 500, "error": null, "duration_ms": 3}],
        "payload": {}, "created_at": "2026-02-28T00:00:10.000Z", "updated_at": "2026-02-28T00:00:10.000Z"
    });
    let frame = serde_json::to_value(delivery_frame_value(intent_id)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::<(String, String, Value)>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |method: axum::http::Method, uri: axum::http::Uri, body: String| {
        let seen = record.clone();
        let (account, agent, delivery, frame) = (account.clone(), agent.clone(), delivery.clone(), frame.clone());
        async move {
            let parsed: Value = if body.is_empty() { Value::Null } else { serde_json::from_str(&body).unwrap() };
            seen.lock().unwrap().push((method.to_string(), uri.to_string(), parsed));
            let path = uri.path();
            axum::Json(if path == "/v1/agents" {
                json!({"ok": true, "agents": [agent]})
            } else if path == "/v1/service-accounts" {
                json!({"ok": true, "service_account": account})
            } else if path.ends_with("/delivery") {
                json!({"ok": true, "agent": agent})
            } else if path.ends_with("/claim") {
                json!({"ok": true, "intents": [frame]})
            } else if path == "/v1/deliveries" {
                json!({"ok": true, "deliveries": [delivery]})
            } else if path.starts_with("/v1/deliveries/") {
                json!({"ok": true, "delivery": delivery})
            } else {
                json!({"ok": true, "dry_run": true, "would_cancel": 1, "canceled": 0, "intent_ids": [intent_id]})
            })
        }
    });
    let client = spawn(router).await;

    assert_eq!(client.list_agents(Some(5)).await.unwrap()[0].delivery_mode, Some(crate::Binding::Http));
    client.list_agents(None).await.unwrap();
    let request = crate::RegisterAgentRequest {
        name: "w".into(),
        binding: Some(crate::DeliveryBinding { lease_seconds: Some(30), ..crate::DeliveryBinding::poll() }),
        ..Default::default()
    };
    assert_eq!(client.register_agent(&request).await.unwrap().lease_seconds, Some(30));
    client.set_agent_delivery("agent://o/w/w", &crate::DeliveryBinding::http("https://h/x")).await.unwrap();
    assert_eq!(client.claim_intents("o/w/w", 10, 0).await.unwrap()[0].intent_id, intent_id);
    let dead = client.list_deliveries(Some(crate::DeliveryStatus::DeadLettered), Some(3)).await.unwrap();
    assert_eq!(dead[0].attempts[0].status_code, Some(500));
    client.list_deliveries(None, None).await.unwrap();
    assert_eq!(client.get_delivery(delivery_id).await.unwrap().delivery_id, delivery_id);
    client.replay_delivery(delivery_id).await.unwrap();
    let bulk = crate::BulkCancelRequest {
        older_than_hours: 2,
        dry_run: true,
        status_filter: vec![Status::Waiting],
        ..Default::default()
    };
    assert_eq!(client.bulk_cancel(&bulk).await.unwrap().intent_ids, [intent_id]);

    let seen = seen.lock().unwrap();
    let calls: Vec<String> = seen.iter().map(|(m, u, _)| format!("{m} {u}")).collect();
    assert_eq!(
        calls,
        [
            "GET /v1/agents?limit=5".to_owned(),
            "GET /v1/agents".to_owned(),
            "POST /v1/service-accounts".to_owned(),
            "PUT /v1/agents/o/w/w/delivery".to_owned(),
            "POST /v1/agents/o/w/w/intents/claim".to_owned(),
            "GET /v1/deliveries?status=dead_lettered&limit=3".to_owned(),
            "GET /v1/deliveries".to_owned(),
            format!("GET /v1/deliveries/{delivery_id}"),
            format!("POST /v1/deliveries/{delivery_id}/replay"),
            "POST /v1/intents/bulk-cancel".to_owned(),
        ]
    );
    assert_eq!(seen[2].2, json!({"name": "w", "delivery_mode": "poll", "lease_seconds": 30}));
    assert_eq!(seen[3].2, json!({"delivery_mode": "http", "delivery_config": {"url": "https://h/x"}}));
    assert_eq!(seen[4].2, json!({"limit": 10, "wait_seconds": 0}));
    assert_eq!(seen[9].2, json!({"older_than_hours": 2, "dry_run": true, "status_filter": ["WAITING"]}));
}

fn delivery_frame_value(intent_id: IntentId) -> AgentDelivery {
    AgentDelivery { intent_id, ..delivery(1) }
}

#[tokio::test]
async fn the_audit_log_is_read_with_its_filters() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let record = seen.clone();
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = record.clone();
        async move {
            seen.lock().unwrap().push(uri.to_string());
            axum::Json(json!({"ok": true, "entries": [], "next_cursor": "41"}))
        }
    });
    let client = spawn(router).await;
    let page = client.list_audit(&crate::AuditQuery::default()).await.unwrap();
    assert_eq!((page.entries.len(), page.next_cursor.as_deref()), (0, Some("41")));
    let query = crate::AuditQuery {
        action: Some("api_key.created".into()),
        since: Some(Timestamp::from_millis(0)),
        limit: Some(5),
        cursor: page.next_cursor,
        ..Default::default()
    };
    client.list_audit(&query).await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "/v1/audit".to_owned(),
            "/v1/audit?action=api_key.created&since=1970-01-01T00%3A00%3A00.000Z&limit=5&cursor=41"
                .to_owned()
        ]
    );
}
