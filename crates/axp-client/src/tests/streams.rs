//! The SSE streams: [`Client::events_stream_once`], [`Client::observe`], [`Client::wait_for`],
//! [`Client::listen`] and [`Client::listen_once`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axp_core::address::{AddressScope, AgentAddress};
use axp_core::event::EventType;
use axp_core::intent::NewIntent;
use axp_core::{ErrorCode, IntentEvent, IntentId, Status, Timestamp};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Map, Value, json};

use super::{Hits, delivery, envelope, spawn};
use crate::{AgentDelivery, AgentStreamItem, Client, Error, StreamItem};

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
