//! Client behaviour over real HTTP, against tiny axum servers on `127.0.0.1:0`.
//!
//! Each server is bound before it is spawned, so no test waits for anything to start. Every
//! `Retry-After` is 0, so retries do not sleep, except in the one test that checks a real
//! `Retry-After: 1` is waited for.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axp_core::address::{AddressScope, AgentAddress};
use axp_core::event::EventType;
use axp_core::intent::NewIntent;
use axp_core::{ErrorBody, ErrorCode, IntentEvent, IntentId, Status, Timestamp};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use crate::{AgentDelivery, AgentStreamItem, Client, Error, StreamItem};

async fn spawn(router: Router) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Client::new(format!("http://{addr}"), "axme_sa_test_key")
}

fn envelope(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let mut response = (status, axum::Json(ErrorBody::new(code, message))).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, "0".parse().unwrap());
    response.headers_mut().insert("x-request-id", "req-42".parse().unwrap());
    response
}

fn health_body() -> Value {
    json!({"ok": true, "service": "axp", "version": "0.1.0", "deployment_profile": "dev"})
}

fn sse(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
}

fn event(id: IntentId, seq: u64, status: Status) -> IntentEvent {
    let event_type = match status {
        Status::Created => EventType::Created,
        Status::Submitted => EventType::Submitted,
        Status::InProgress => EventType::InProgress,
        Status::Completed => EventType::Completed,
        _ => EventType::Delivered,
    };
    IntentEvent {
        intent_id: id,
        seq,
        event_type,
        status,
        waiting_reason: None,
        handler: "agent://o/w/bot".into(),
        actor: "gateway".into(),
        at: Timestamp::from_millis(0),
        details: Map::new(),
        pending_with: None,
        human_task: None,
    }
}

fn event_frame(e: &IntentEvent) -> String {
    format!("id: {}\nevent: {}\ndata: {}\n\n", e.seq, e.event_type, serde_json::to_string(e).unwrap())
}

fn delivery(seq: u64) -> AgentDelivery {
    AgentDelivery {
        intent_id: IntentId::new(),
        seq,
        event_type: "intent.delivered".into(),
        status: Status::Delivered,
        at: Timestamp::from_millis(0),
        intent_type: "intent.report.generate.v1".into(),
        from_agent: "agent://acme/main/me".into(),
        to_agent: "agent://acme/main/bot".into(),
        correlation_id: uuid::Uuid::new_v4(),
        payload: Map::new(),
        step_id: None,
        delivery_attempt: 1,
        pending_with: None,
    }
}

fn delivery_frame(d: &AgentDelivery) -> String {
    format!("id: {}\nevent: intent.delivered\ndata: {}\n\n", d.seq, serde_json::to_string(d).unwrap())
}

/// The wire form of an intent `id` with `status` and `last_seq`.
fn intent_wire(id: IntentId, status: Status, last_seq: u64) -> Value {
    let scope = AddressScope { org_slug: "o", workspace_slug: "w" };
    let to = AgentAddress::parse("bot", &scope).unwrap();
    let (mut intent, _) = NewIntent::new("notify.message.v1", to.clone(), Map::new()).into_intent(
        id,
        &to,
        Timestamp::from_millis(0),
    );
    intent.status = status;
    intent.last_seq = last_seq;
    intent.to_wire()
}

/// Adds `GET /v1/intents/{id}` answering with `wires` in turn (the last one repeated), and
/// counting the calls in `gets`.
fn with_intent_route(router: Router, wires: Vec<Value>, gets: Arc<AtomicUsize>) -> Router {
    router.route(
        "/v1/intents/{id}",
        get(move || {
            let n = gets.fetch_add(1, Ordering::SeqCst);
            let wire = wires[n.min(wires.len() - 1)].clone();
            async move { axum::Json(json!({"ok": true, "intent": wire})) }
        }),
    )
}

#[derive(Clone, Default)]
struct Hits {
    count: Arc<AtomicUsize>,
    headers: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Hits {
    /// Records one request; returns how many came before it.
    fn record(&self, headers: &HeaderMap) -> usize {
        self.headers.lock().unwrap().push(headers.clone());
        self.count.fetch_add(1, Ordering::SeqCst)
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn get_is_retried_after_429_and_sends_the_key() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/health",
            get(|State(hits): State<Hits>, headers: HeaderMap| async move {
                if hits.record(&headers) == 0 {
                    envelope(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimitExceeded, "slow down")
                } else {
                    axum::Json(health_body()).into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;
    let health = client.health().await.unwrap();
    assert!(health.ok);
    assert_eq!(hits.count(), 2);
    let headers = hits.headers.lock().unwrap();
    assert_eq!(headers[1]["x-api-key"], "axme_sa_test_key");
    assert!(headers[1].get("idempotency-key").is_none());
}

#[tokio::test]
async fn post_without_idempotency_key_is_not_retried() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/v1/intents",
            post(|State(hits): State<Hits>, headers: HeaderMap| async move {
                hits.record(&headers);
                envelope(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimitExceeded, "slow down")
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;
    let err = client.create_intent_raw(&json!({"intent_type": "a.b.v1"}), None).await.unwrap_err();
    assert_eq!(hits.count(), 1);
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.code(), Some(ErrorCode::RateLimitExceeded));
    assert_eq!(err.retry_after(), Some(0));
    assert_eq!(err.request_id(), Some("req-42"));
    assert!(err.is_rate_limited());
}

#[tokio::test]
async fn post_with_idempotency_key_is_retried() {
    let hits = Hits::default();
    let created = json!({"ok": true, "intent_id": IntentId::new(), "status": "SUBMITTED",
                         "created_at": "2026-02-28T00:00:10.000Z"});
    let response = created.clone();
    let router = Router::new()
        .route(
            "/v1/intents",
            post(move |State(hits): State<Hits>, headers: HeaderMap, body: String| {
                let response = response.clone();
                async move {
                    assert!(body.contains("notify.message.v1"));
                    if hits.record(&headers) == 0 {
                        envelope(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServiceUnavailable, "busy")
                    } else {
                        axum::Json(response).into_response()
                    }
                }
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;
    let request = crate::CreateIntentRequest {
        intent_type: "notify.message.v1".into(),
        to_agent: "agent://o/w/bot".into(),
        payload: Map::new(),
        correlation_id: None,
        reply_to: None,
        deadline_at: None,
        max_delivery_attempts: None,
        human_task: None,
    };
    let out = client.create_intent(&request, Some("idem-1")).await.unwrap();
    assert_eq!(serde_json::to_value(out.intent_id).unwrap(), created["intent_id"]);
    assert_eq!(hits.count(), 2);
    let headers = hits.headers.lock().unwrap();
    assert!(headers.iter().all(|h| h["idempotency-key"] == "idem-1"));
    assert_eq!(headers[0]["content-type"], "application/json");
}

#[tokio::test]
async fn retries_stop_after_max_retries() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/health",
            get(|State(hits): State<Hits>, headers: HeaderMap| async move {
                hits.record(&headers);
                envelope(StatusCode::BAD_GATEWAY, ErrorCode::InternalError, "upstream down")
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;
    let err = client.health().await.unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(hits.count(), 3, "first attempt + 2 retries");

    let hits_before = hits.count();
    let no_retry = Client::builder(client.base_url().as_str(), "k").max_retries(0).build().unwrap();
    no_retry.health().await.unwrap_err();
    assert_eq!(hits.count(), hits_before + 1);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_decode_the_envelope() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/v1/intents/{id}",
            get(|State(hits): State<Hits>, headers: HeaderMap| async move {
                hits.record(&headers);
                envelope(StatusCode::NOT_FOUND, ErrorCode::NotFound, "intent not found")
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;
    let err = client.get_intent(IntentId::new()).await.unwrap_err();
    assert_eq!(hits.count(), 1);
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some(ErrorCode::NotFound));
    assert_eq!(err.body().unwrap().detail, "intent not found");
    match err {
        Error::Api { message, .. } => assert_eq!(message, "intent not found"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn transport_failure_is_reported() {
    // Bind and drop a listener to get a port nothing listens on.
    let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let client = Client::builder(format!("http://127.0.0.1:{port}"), "k").max_retries(0).build().unwrap();
    let err = client.health().await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn bad_success_body_is_a_decode_error() {
    let router = Router::new().route("/health", get(|| async { "not json" }));
    let client = spawn(router).await;
    assert!(matches!(client.health().await, Err(Error::Decode { .. })));
}

/// Serves an intent stream whose responses depend on `since`, recording each `since` asked for.
fn intent_stream_router(id: IntentId, sinces: Arc<Mutex<Vec<u64>>>) -> Router {
    Router::new().route(
        "/v1/intents/{id}/events/stream",
        get(move |Path(path_id): Path<String>, Query(q): Query<HashMap<String, String>>| {
            let sinces = sinces.clone();
            async move {
                assert_eq!(path_id, id.to_string());
                assert!(q.contains_key("wait_seconds"));
                let since: u64 = q["since"].parse().unwrap();
                sinces.lock().unwrap().push(since);
                let body = match since {
                    0 => format!(
                        ": keepalive\n\n{}{}event: stream.timeout\ndata: {{\"ok\":true,\"next_seq\":2}}\n\n",
                        event_frame(&event(id, 1, Status::Created)),
                        event_frame(&event(id, 2, Status::Submitted)),
                    ),
                    // A replayed duplicate, a new event, then the response just ends.
                    2 => format!(
                        "{}{}",
                        event_frame(&event(id, 2, Status::Submitted)),
                        event_frame(&event(id, 3, Status::InProgress))
                    ),
                    3 => event_frame(&event(id, 4, Status::Completed)),
                    other => format!("event: stream.timeout\ndata: {{\"ok\":true,\"next_seq\":{other}}}\n\n"),
                };
                sse(body)
            }
        }),
    )
}

#[tokio::test]
async fn events_stream_once_yields_one_response() {
    let id = IntentId::new();
    let sinces = Arc::new(Mutex::new(Vec::new()));
    let client = spawn(intent_stream_router(id, sinces.clone())).await;
    let items: Vec<StreamItem> = client.events_stream_once(id, 0, 2).try_collect().await.unwrap();
    assert_eq!(items.len(), 3);
    assert!(matches!(&items[0], StreamItem::Event(e) if e.seq == 1));
    assert_eq!(items[2], StreamItem::Timeout { next_seq: 2 });
    assert_eq!(*sinces.lock().unwrap(), [0]);
}

#[tokio::test]
async fn observe_reconnects_without_gaps_or_duplicates() {
    let id = IntentId::new();
    let sinces = Arc::new(Mutex::new(Vec::new()));
    let gets = Arc::new(AtomicUsize::new(0));
    let router = intent_stream_router(id, sinces.clone());
    let router = with_intent_route(router, vec![intent_wire(id, Status::Submitted, 2)], gets.clone());
    let client = spawn(router).await;
    let events: Vec<IntentEvent> = client.observe(id, 0).try_collect().await.unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    assert_eq!(events[3].status, Status::Completed);
    assert_eq!(*sinces.lock().unwrap(), [0, 2, 3]);
    assert_eq!(gets.load(Ordering::SeqCst), 2, "one intent check per reconnect");
}

#[tokio::test]
async fn observe_past_the_terminal_event_ends() {
    let id = IntentId::new();
    let sinces = Arc::new(Mutex::new(Vec::new()));
    let gets = Arc::new(AtomicUsize::new(0));
    let router = intent_stream_router(id, sinces.clone());
    let router = with_intent_route(router, vec![intent_wire(id, Status::Completed, 4)], gets.clone());
    let client = spawn(router).await;
    let events: Vec<IntentEvent> = client.observe(id, 4).try_collect().await.unwrap();
    assert!(events.is_empty());
    assert_eq!(*sinces.lock().unwrap(), [4], "one window, then the intent check ends it");
}

#[tokio::test]
async fn observe_ends_with_an_error_when_the_stream_cannot_open() {
    let router = Router::new().route(
        "/v1/intents/{id}/events/stream",
        get(|| async { envelope(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such intent") }),
    );
    let client = spawn(router).await;
    let items: Vec<_> = client.observe(IntentId::new(), 0).collect().await;
    assert_eq!(items.len(), 1);
    assert!(items[0].as_ref().unwrap_err().is_not_found());
    let once: Vec<_> = client.events_stream_once(IntentId::new(), 0, 1).collect().await;
    assert!(matches!(&once[..], [Err(e)] if e.is_not_found()));
}

#[tokio::test]
async fn observe_gives_up_on_responses_without_progress() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/v1/intents/{id}/events/stream",
            get(|State(hits): State<Hits>, headers: HeaderMap| async move {
                hits.record(&headers);
                sse(": keepalive\n\n".into())
            }),
        )
        .with_state(hits.clone());
    let id = IntentId::new();
    let router = with_intent_route(router, vec![intent_wire(id, Status::Submitted, 2)], Arc::default());
    let client =
        Client::builder(spawn(router).await.base_url().as_str(), "k").max_retries(1).build().unwrap();
    let items: Vec<_> = client.observe(id, 0).collect().await;
    assert!(matches!(&items[..], [Err(Error::Protocol(_))]), "{items:?}");
    assert_eq!(hits.count(), 2);
}

#[tokio::test]
async fn wait_for_follows_the_intent_to_its_end() {
    let id = IntentId::new();
    let gets = Arc::new(AtomicUsize::new(0));
    let sinces = Arc::new(Mutex::new(Vec::new()));
    let wires = vec![
        intent_wire(id, Status::Submitted, 2),
        intent_wire(id, Status::InProgress, 3),
        intent_wire(id, Status::Completed, 4),
    ];
    let router = with_intent_route(intent_stream_router(id, sinces.clone()), wires, gets.clone());
    let client = spawn(router).await;
    let done = client.wait_for(id).await.unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!(*sinces.lock().unwrap(), [2, 3], "observe starts at the intent's last_seq");
    assert_eq!(gets.load(Ordering::SeqCst), 3, "before, on the reconnect, and after");
}

#[tokio::test]
async fn listen_reconnects_from_the_highest_cursor() {
    let sinces = Arc::new(Mutex::new(Vec::new()));
    let recorded = sinces.clone();
    let router = Router::new().route(
        "/v1/agents/{*rest}",
        get(move |Path(rest): Path<String>, Query(q): Query<HashMap<String, String>>| {
            let sinces = recorded.clone();
            async move {
                assert_eq!(rest, "acme/main/bot/intents/stream");
                let since: u64 = q["since"].parse().unwrap();
                sinces.lock().unwrap().push(since);
                let body = match since {
                    0 => format!(
                        "{}: keepalive\n\n{}event: stream.timeout\ndata: {{\"ok\":true,\"next_since\":7}}\n\n",
                        delivery_frame(&delivery(5)),
                        delivery_frame(&delivery(7)),
                    ),
                    7 => format!("{}{}", delivery_frame(&delivery(7)), delivery_frame(&delivery(9))),
                    _ => "event: stream.timeout\ndata: {\"ok\":true,\"next_since\":9}\n\n".to_owned(),
                };
                sse(body)
            }
        }),
    );
    let client = spawn(router).await;
    let deliveries: Vec<AgentDelivery> =
        client.listen("agent://acme/main/bot", 0).take(3).try_collect().await.unwrap();
    let cursors: Vec<u64> = deliveries.iter().map(|d| d.seq).collect();
    assert_eq!(cursors, [5, 7, 9]);
    assert_eq!(*sinces.lock().unwrap(), [0, 7]);

    let once: Vec<AgentStreamItem> = client.listen_once("acme/main/bot", 9, 1).try_collect().await.unwrap();
    assert_eq!(once, [AgentStreamItem::Timeout { next_since: 9 }]);
}

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
async fn retry_after_seconds_are_waited_and_capped() {
    let hits = Hits::default();
    let router = Router::new()
        .route(
            "/health",
            get(|State(hits): State<Hits>, headers: HeaderMap| async move {
                if hits.record(&headers) % 2 == 0 {
                    let mut r =
                        envelope(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimitExceeded, "slow down");
                    r.headers_mut().insert(header::RETRY_AFTER, "1".parse().unwrap());
                    r
                } else {
                    axum::Json(health_body()).into_response()
                }
            }),
        )
        .with_state(hits.clone());
    let client = spawn(router).await;

    // The server asked for 1 s: the retry comes no sooner (the backoff alone would be 200 ms).
    let started = std::time::Instant::now();
    client.health().await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(hits.count(), 2);

    // A cap below the server's ask wins.
    let capped = Client::builder(client.base_url().as_str(), "k")
        .retry_after_cap(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    capped.health().await.unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(hits.count(), 4);
}

#[tokio::test]
async fn posts_without_a_key_are_sent_once_whatever_the_failure() {
    let hits = Hits::default();
    let router = Router::new()
        .fallback(|State(hits): State<Hits>, headers: HeaderMap| async move {
            hits.record(&headers);
            envelope(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ServiceUnavailable, "busy")
        })
        .with_state(hits.clone());
    let client = spawn(router).await;
    let id = IntentId::new();
    let calls = [
        client.resolve(id, &json!({"status": "COMPLETED"})).await.map(drop),
        client.resume(id, &json!({"approve_current_step": true})).await.map(drop),
        client.cancel(id, "no").await.map(drop),
        client.submit_task_result(id, &json!({"outcome": "approved"})).await.map(drop),
        client.update_controls(id, &json!({"controls_patch": {}})).await.map(drop),
        client.create_intent_raw(&json!({}), None).await.map(drop),
        client.create_api_key(crate::ServiceAccountId::new()).await.map(drop),
        client.validate_scenario(&json!({})).await.map(drop),
        client.reply_inbox_thread(id, "hi", None).await.map(drop),
        client.approve_inbox_thread(id, None, None).await.map(drop),
        client.decide_approval(crate::ApprovalId(id.0), crate::Decision::Reject, None).await.map(drop),
    ];
    for (n, call) in calls.into_iter().enumerate() {
        assert_eq!(call.unwrap_err().status(), Some(503), "call {n}");
    }
    assert_eq!(hits.count(), 11, "one request per call: none was retried");

    // A connection dropped before any answer: the GET is retried, the POST is not.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let client = Client::builder(format!("http://{addr}"), "k").build().unwrap();
    let err = client.resume(id, &json!({"action": "complete"})).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "the POST went out once");
    client.health().await.unwrap_err();
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "the GET went out 1 + 2 times");
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
