//! Webhook subscriptions and events (contract §5.4): owners subscribe callback URLs to event
//! types (`inbox.*`, `invite.accepted`, `auth.session_revoked`, and the `intent.*` lifecycle
//! events of intents they send, receive or get replies of); events go out through the same
//! dispatcher, signing, retries and dead letters as `http` agents.

use axp_core::api::{
    ListSubscriptionsResponse, RevokedSubscription, SubscriptionRequest, SubscriptionResponse,
    WebhookEventReceipt,
};
use axp_core::delivery::{WEBHOOK_EVENT_TYPES, WebhookEvent};
use axp_core::validate::Fields;
use axp_core::{ErrorCode, EventId, EventType, SubscriptionId};
use axp_engine::delivery::signing;
use axp_store::NewSubscription;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{delete, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Success;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap, owner_agent};
use crate::state::AppState;

fn is_intent_event(t: &str) -> bool {
    serde_json::from_value::<EventType>(Value::String(t.to_owned())).is_ok()
}

/// `POST /v1/webhooks/subscriptions` `{callback_url, event_types, secret?, active?, description?}`:
/// upserts by (owner, callback URL); a revoked subscription is reactivated. Without `secret`, a
/// new subscription gets a generated `whsec_…` secret, shown once as `subscription.secret`.
#[utoipa::path(
    post,
    path = "/v1/webhooks/subscriptions",
    tag = "webhooks",
    params(("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body = SubscriptionRequest,
    responses((status = 200, body = SubscriptionResponse, description = "The subscription; a secret the server generated is shown once, as `subscription.secret`")),
)]
pub(crate) async fn upsert_subscription(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Value>> {
    let owner = caller.acting_owner(&headers, &query)?;
    let mut f = Fields::new(&body);
    let url = f.bounded_string("callback_url", &[], true, 8, 2048);
    if let Some(u) = &url
        && let Err(e) = state.options.dispatcher.policy.check_registration(u).await
    {
        f.fail("callback_url", "value_error", e.to_string());
    }
    let mut event_types = Vec::new();
    match f.get("event_types", &[]) {
        Some(Value::Array(list)) if (1..=32).contains(&list.len()) => {
            for t in list {
                match t.as_str() {
                    Some(t) if WEBHOOK_EVENT_TYPES.contains(&t) || is_intent_event(t) => {
                        event_types.push(t.to_owned())
                    }
                    _ => f.fail(
                        "event_types",
                        "value_error",
                        format!("{t} is not one of {WEBHOOK_EVENT_TYPES:?} or an intent.* lifecycle event"),
                    ),
                }
            }
        }
        Some(_) => f.fail("event_types", "value_error", "must be a list of 1 to 32 event types"),
        None => f.fail("event_types", "missing", "field required"),
    }
    let secret = f.bounded_string("secret", &[], false, 16, 128);
    let active = f.bool("active", &[]).unwrap_or(true);
    let description = f.bounded_string("description", &[], false, 0, 255);
    let callback_url = f.finish(url)?.ok_or_else(|| ApiError::bad_request("callback_url is required"))?;
    let generated = signing::generate_secret();
    let chose_secret = secret.is_some();
    let new = NewSubscription {
        owner_agent: owner,
        callback_url,
        event_types,
        secret,
        new_secret: generated.clone(),
        active,
        description,
    };
    let now = state.clock.now();
    let subscription = state.store.upsert_subscription(&caller.0.tenant, new, now).await?;
    let mut body = serde_json::to_value(&subscription).unwrap_or(Value::Null);
    // A secret the server generated is shown once, in the response that created it.
    if !chose_secret && subscription.created_at == now {
        body["secret"] = Value::String(generated);
    }
    Ok(Json(json!({"ok": true, "subscription": body})))
}

/// `GET /v1/webhooks/subscriptions?owner_agent=&include_inactive=`: the owner's subscriptions
/// (active ones only unless `include_inactive`).
#[utoipa::path(
    get,
    path = "/v1/webhooks/subscriptions",
    tag = "webhooks",
    params(
        ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)"),
        ("include_inactive" = Option<bool>, Query, description = "`true` (or `1`) lists revoked and inactive ones too; default false"),
    ),
    responses((status = 200, body = ListSubscriptionsResponse)),
)]
pub(crate) async fn list_subscriptions(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<ListSubscriptionsResponse>> {
    let owner = caller.reading_owner(&headers, &query)?;
    let include_inactive = matches!(query.str("include_inactive"), Some("true" | "1"));
    let subscriptions = state.store.list_subscriptions(&caller.0.tenant, &owner, include_inactive).await?;
    Ok(Json(ListSubscriptionsResponse { ok: true, subscriptions }))
}

/// `DELETE /v1/webhooks/subscriptions/{id}`: revokes the subscription; 404 for an unknown id.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/subscriptions/{subscription_id}",
    tag = "webhooks",
    params(("subscription_id" = String, Path, description = "The subscription's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    responses((status = 200, body = Success<RevokedSubscription>)),
)]
pub(crate) async fn revoke_subscription(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<Success<RevokedSubscription>>> {
    let owner = caller.acting_owner(&headers, &query)?;
    let id: SubscriptionId = id.parse().map_err(|_| ApiError::not_found("subscription"))?;
    let sub = state
        .store
        .revoke_subscription(&caller.0.tenant, &owner, id, state.clock.now())
        .await
        .map_err(ApiError::missing("subscription"))?;
    Ok(Json(Success::new(RevokedSubscription {
        subscription_id: sub.subscription_id,
        revoked_at: sub.revoked_at,
    })))
}

/// Event type families that describe server state: only the server publishes them (issue 11,
/// item 4). `inbox.*`, `invite.*`, `auth.*` and other families stay publishable.
const RESERVED_FAMILIES: [&str; 4] = ["intent.", "workflow.", "delivery.", "agent."];

/// `POST /v1/webhooks/events` `{event_type, source, payload}`: records the event and queues it
/// to the owner's matching subscriptions; delivery is asynchronous, so `processed_deliveries`
/// is 0 and `pending` counts what was queued. Only as the caller's own owner (its address or
/// a granted one; 403 otherwise), and never a reserved family ([`RESERVED_FAMILIES`], 403).
#[utoipa::path(
    post,
    path = "/v1/webhooks/events",
    tag = "webhooks",
    params(("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{event_type, source, payload}`: `event_type` 3 to 120 characters, not of a reserved family; `source` 2 to 100 characters; `payload` an object"),
    responses((status = 200, body = Success<WebhookEventReceipt>)),
)]
async fn publish_event(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Success<WebhookEventReceipt>>> {
    let owner = owner_agent(&caller, &headers, &query)?;
    caller.require_writer()?;
    if !caller.is_own_address(&owner) {
        return Err(ApiError::new(
            ErrorCode::PolicyDenied,
            "events are published only as the caller's own owner",
        ));
    }
    let mut f = Fields::new(&body);
    let event_type = f.bounded_string("event_type", &[], true, 3, 120);
    let source = f.bounded_string("source", &[], true, 2, 100);
    let payload = f.object("payload", &[]);
    if payload.is_none() && !body.contains_key("payload") {
        f.fail("payload", "missing", "field required");
    }
    let (event_type, source) = f.finish((event_type, source))?;
    let (Some(event_type), Some(source)) = (event_type, source) else {
        return Err(ApiError::bad_request("event_type and source are required"));
    };
    if let Some(family) = RESERVED_FAMILIES.iter().find(|f| event_type.starts_with(*f)) {
        return Err(ApiError::new(
            ErrorCode::PolicyDenied,
            format!("{family}* events describe server state: only the server publishes them"),
        ));
    }
    let event = WebhookEvent {
        event_id: EventId::new(),
        event_type,
        source,
        owner_agent: owner,
        occurred_at: state.clock.now(),
        payload: Value::Object(payload.unwrap_or_default()),
    };
    let counters = state.store.publish_event(&caller.0.tenant, event.clone()).await?;
    Ok(Json(Success::new(WebhookEventReceipt {
        event_id: event.event_id,
        event_type: event.event_type,
        owner_agent: event.owner_agent,
        source: Some(event.source),
        accepted_at: Some(event.occurred_at),
        replayed_at: None,
        counters,
    })))
}

/// `POST /v1/webhooks/events/{event_id}/replay`: queues the event again to the owner's matching
/// active subscriptions; 404 for an unknown event.
#[utoipa::path(
    post,
    path = "/v1/webhooks/events/{event_id}/replay",
    tag = "webhooks",
    params(("event_id" = String, Path, description = "The event's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    responses((status = 200, body = Success<WebhookEventReceipt>)),
)]
async fn replay_event(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<Success<WebhookEventReceipt>>> {
    let owner = caller.acting_owner(&headers, &query)?;
    let id: EventId = id.parse().map_err(|_| ApiError::not_found("event"))?;
    let now = state.clock.now();
    let (event, counters) = state
        .store
        .replay_event(&caller.0.tenant, &owner, id, now)
        .await
        .map_err(ApiError::missing("event"))?;
    Ok(Json(Success::new(WebhookEventReceipt {
        event_id: event.event_id,
        event_type: event.event_type,
        owner_agent: event.owner_agent,
        source: None,
        accepted_at: None,
        replayed_at: Some(now),
        counters,
    })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(upsert_subscription, list_subscriptions, revoke_subscription, publish_event, replay_event))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks/subscriptions", post(upsert_subscription).get(list_subscriptions))
        .route("/v1/webhooks/subscriptions/{subscription_id}", delete(revoke_subscription))
        .route("/v1/webhooks/events", post(publish_event))
        .route("/v1/webhooks/events/{event_id}/replay", post(replay_event))
}
