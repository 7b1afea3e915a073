//! Retry rules (contract §1.5) and error decoding, over real HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axp_core::{ErrorCode, IntentId};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Map, Value, json};

use super::{Hits, envelope, spawn};
use crate::{Client, Error};

fn health_body() -> Value {
    json!({"ok": true, "service": "axp", "version": "0.1.0", "deployment_profile": "dev"})
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
