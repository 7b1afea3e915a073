//! Client behaviour over real HTTP, against tiny axum servers on `127.0.0.1:0`.
//!
//! Each server is bound before it is spawned, so no test waits for anything to start. Every
//! `Retry-After` is 0, so retries do not sleep, except in the one test that checks a real
//! `Retry-After: 1` is waited for.
//!
//! Shared fixtures live here; the tests are grouped by family: `retries` (retry rules and error
//! decoding), `streams` (observe, wait_for, listen), `calls` (each REST call's method, path and
//! body), `inbox` (inbox, approvals, tasks, capabilities) and `tenancy` (organizations,
//! workspaces, members, principals, aliases, access requests).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axp_core::{ErrorBody, ErrorCode, IntentId, Status, Timestamp};
use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Map;

use crate::{AgentDelivery, Client};

mod calls;
mod inbox;
mod retries;
mod streams;
mod tenancy;

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
