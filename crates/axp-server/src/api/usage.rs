//! Workspace usage (contract §6 "Usage"): `GET /v1/usage/summary` and
//! `GET /v1/usage/timeseries`, from the usage counters (the stored ones plus what this
//! replica counted and has not flushed yet).

use std::collections::BTreeMap;

use axp_core::Timestamp;
use axp_core::quota::{Dimension, Window, day_of};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{Value, json};

use super::Success;
use super::quotas::own_workspace;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, QueryMap};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

fn day_start(day: i64) -> Timestamp {
    Timestamp::from_millis(day * DAY_MS)
}

/// Per day, per dimension: what the workspace used in days `from..=to`.
async fn daily(
    state: &AppState,
    caller: &Caller,
    from: i64,
    to: i64,
) -> ApiResult<BTreeMap<i64, BTreeMap<Dimension, u64>>> {
    let tenant = &caller.0.tenant;
    let mut days: BTreeMap<i64, BTreeMap<Dimension, u64>> =
        (from..=to).map(|d| (d, BTreeMap::new())).collect();
    let stored = state.store.usage(tenant, from, to).await?;
    for c in stored.into_iter().chain(state.meter.unflushed(tenant.workspace_id)) {
        if let Some(day) = days.get_mut(&c.day) {
            *day.entry(c.dimension).or_default() += c.count;
        }
    }
    Ok(days)
}

/// The body of `GET /v1/usage/summary` beside `ok`.
#[derive(Serialize, utoipa::ToSchema)]
struct SummaryBody {
    /// `{org_id, workspace_id, window, window_start, window_end, dimensions: {<dimension>: {used,
    /// limit, remaining}}}`.
    summary: Value,
}

/// `GET /v1/usage/summary?org_id=&workspace_id=&window=day|week|month`: what the workspace used
/// of each quota dimension in the window.
///
/// `window` defaults to `day` (the current UTC day); `week` and `month` are the last 7 and 30
/// days, today included. The answer: `{ok, summary: {org_id, workspace_id, window_start,
/// window_end, dimensions: {<dimension>: {used, limit, remaining}}}}`. A daily dimension's limit is its daily limit times the days;
/// `requests_per_minute` reports the current minute on this replica; `media_storage_bytes` is
/// a level (0 until media is stored). Any role (403 for an agent key); 404 for another
/// workspace; 422 for another window.
#[utoipa::path(
    get,
    path = "/v1/usage/summary",
    tag = "usage",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
        ("window" = Option<String>, Query, description = "`day` (the current UTC day, the default), `week` or `month` (the last 7 or 30 days, today included)"),
    ),
    responses((status = 200, body = Success<SummaryBody>)),
)]
async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<Success<SummaryBody>>> {
    caller.require_role()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    let days = match query.str("window").unwrap_or("day") {
        "day" => 1,
        "week" => 7,
        "month" => 30,
        _ => return Err(ApiError::invalid_query("window", "must be day, week or month")),
    };
    let now = state.clock.now();
    let today = day_of(now);
    let tenant = &caller.0.tenant;
    let policy = state.meter.policy(tenant).await?;
    let per_day = daily(&state, &caller, today - days + 1, today).await?;
    let mut dimensions = serde_json::Map::new();
    for d in Dimension::ALL {
        let (used, limit) = match d.window() {
            Window::Minute => (state.meter.requests_this_minute(tenant.workspace_id, now), policy.limit(d)),
            Window::Level => (0, policy.limit(d)),
            Window::Day => {
                let used = per_day.values().map(|m| m.get(&d).copied().unwrap_or(0)).sum();
                (used, policy.limit(d).saturating_mul(days as u64))
            }
        };
        dimensions.insert(
            d.as_str().into(),
            json!({"used": used, "limit": limit, "remaining": limit.saturating_sub(used)}),
        );
    }
    let summary = json!({
        "org_id": tenant.org_id,
        "workspace_id": tenant.workspace_id,
        "window": query.str("window").unwrap_or("day"),
        "window_start": day_start(today - days + 1),
        "window_end": day_start(today + 1),
        "dimensions": dimensions,
    });
    Ok(Json(Success::new(SummaryBody { summary })))
}

/// The body of `GET /v1/usage/timeseries` beside `ok`.
#[derive(Serialize, utoipa::ToSchema)]
struct SeriesBody {
    /// `{org_id, workspace_id, granularity: "day", points: [{at, dimensions: {<dimension>: int}}]}`.
    series: Value,
}

/// `GET /v1/usage/timeseries?org_id=&workspace_id=&window_days=`: the workspace's usage per UTC
/// day.
///
/// `window_days` is 1 to 90, default 7. The answer: `{ok, series: {org_id, workspace_id, granularity: "day", points: [{at, dimensions:
/// {<dimension>: int}}]}}`, one point per UTC day, oldest first, today last;
/// `requests_per_minute` counts that day's requests. Any role (403 for an agent key); 404 for
/// another workspace.
#[utoipa::path(
    get,
    path = "/v1/usage/timeseries",
    tag = "usage",
    params(
        ("org_id" = Option<String>, Query, description = "The caller's organization (UUID); another one is 404"),
        ("workspace_id" = Option<String>, Query, description = "The caller's workspace (UUID); another one is 404"),
        ("window_days" = Option<u32>, Query, description = "1 to 90, default 7"),
    ),
    responses((status = 200, body = Success<SeriesBody>)),
)]
async fn timeseries(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<Success<SeriesBody>>> {
    caller.require_role()?;
    own_workspace(&caller, query.str("org_id"), query.str("workspace_id"))?;
    let days = query.bounded("window_days", 1, 90)?.unwrap_or(7) as i64;
    let today = day_of(state.clock.now());
    let per_day = daily(&state, &caller, today - days + 1, today).await?;
    let points: Vec<Value> = per_day
        .into_iter()
        .map(|(day, used)| {
            let dims: serde_json::Map<String, Value> = Dimension::ALL
                .iter()
                .map(|d| (d.as_str().into(), json!(used.get(d).copied().unwrap_or(0))))
                .collect();
            json!({"at": day_start(day), "dimensions": dims})
        })
        .collect();
    let tenant = &caller.0.tenant;
    let series = json!({"org_id": tenant.org_id, "workspace_id": tenant.workspace_id, "granularity": "day", "points": points});
    Ok(Json(Success::new(SeriesBody { series })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(summary, timeseries))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/usage/summary", get(summary)).route("/v1/usage/timeseries", get(timeseries))
}
