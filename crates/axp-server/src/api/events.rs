//! An intent's lifecycle: the event list and its SSE stream (contract §4.4, §4.5).

use std::time::Duration;

use axp_core::api::EventsResponse;
use axp_store::Topic;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, PathParams, QueryMap, intent_id};
use crate::sse::{self, Source};
use crate::state::AppState;
use crate::streams::Hold;

/// Most events one list call returns.
const LIST_LIMIT: u32 = 1000;

/// `GET /v1/intents/{id}/events?since=N`: events with `seq > N` (exclusive), ascending.
#[utoipa::path(
    get,
    path = "/v1/intents/{intent_id}/events",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("since" = Option<u64>, Query, description = "Only events with a greater `seq`; default 0"),
    ),
    responses((status = 200, body = EventsResponse)),
)]
pub(super) async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    query: QueryMap,
) -> ApiResult<Json<EventsResponse>> {
    let id = intent_id(&id)?;
    caller.require_sees_intent(&state, id).await?;
    let since = query.u64("since")?.unwrap_or(0);
    let events = state
        .store
        .events_since(&caller.0.tenant, id, since, LIST_LIMIT)
        .await
        .map_err(ApiError::missing("intent"))?;
    let next_since = events.last().map_or(since, |e| e.seq);
    Ok(Json(EventsResponse { ok: true, events, next_since }))
}

/// The resume cursor: `since`, or the standard `Last-Event-ID` header, whichever is larger.
pub(super) fn cursor(query: &QueryMap, headers: &HeaderMap) -> ApiResult<u64> {
    let since = query.u64("since")?;
    let last_event_id =
        headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    Ok(since.max(last_event_id).unwrap_or(0))
}

/// `wait_seconds`: 1 to 60, default 15 (§4.5).
pub(super) fn wait(query: &QueryMap) -> ApiResult<Duration> {
    Ok(Duration::from_secs(query.bounded("wait_seconds", 1, 60)?.unwrap_or(15)))
}

/// `GET /v1/intents/{id}/events/stream?since=N&wait_seconds=W`: replays stored events after
/// `since`, then streams new ones until a terminal event or `stream.timeout`. 429 when the key
/// or workspace has its cap of open streams (`streams`).
#[utoipa::path(
    get,
    path = "/v1/intents/{intent_id}/events/stream",
    tag = "intents",
    params(
        ("intent_id" = String, Path, description = "The intent's id (UUID)"),
        ("since" = Option<u64>, Query, description = "Replay events after this `seq`; default 0"),
        ("wait_seconds" = Option<u64>, Query, description = "1 to 60 (default 15): how long the stream stays open without events"),
        ("Last-Event-ID" = Option<u64>, Header, description = "The standard SSE resume cursor; the larger of it and `since` counts"),
    ),
    responses((status = 200, description = "An SSE stream (contract §4.5): one `intent.*` frame per event, `id` its `seq`; `stream.timeout` when idle", content_type = "text/event-stream")),
)]
pub(crate) async fn stream_events(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    query: QueryMap,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = intent_id(&id)?;
    caller.require_sees_intent(&state, id).await?;
    let since = cursor(&query, &headers)?;
    let wait = wait(&query)?;
    let slot = state.streams.acquire(&caller.0, Hold::Stream)?;
    let tenant = caller.0.tenant;
    let mut subscription = state.notifier.subscribe(Topic::Intent(id));
    subscription.mark_seen();
    let source = Source::Intent(id);
    let first = source.fetch(&state, &tenant, since).await.map_err(ApiError::missing("intent"))?;
    Ok(sse::stream(state, slot, tenant, source, subscription, since, wait, first))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_events, stream_events))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/intents/{intent_id}/events", get(list_events))
        .route("/v1/intents/{intent_id}/events/stream", get(stream_events))
}
