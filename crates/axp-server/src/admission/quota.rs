//! Quota enforcement at admission (contract §6; the model is `axp_core::quota`, the counts
//! `axp_engine::usage`): every authenticated request counts toward `requests_per_minute`; an
//! intent create toward `intents_per_day`, an inbox write toward `inbox_writes_per_day` and a
//! schema upsert toward `schema_writes_per_day`, each counted only when it succeeds. Past a limit under `block`: 429 `quota_exceeded` with
//! `Retry-After` = seconds to the window's end; at the soft threshold (or past a limit under
//! `grace`/`bill_overage`): the response carries `X-Quota-Warning: <dimension>=<percent>%`,
//! and the first warning of a workspace's dimension each day is logged.

use axp_core::Timestamp;
use axp_core::error::ErrorCode;
use axp_core::quota::{Dimension, QuotaPolicy, Verdict, seconds_to_window_end};
use axp_store::{Principal, Tenant};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The daily dimension a request uses, if any: `POST /v1/intents` (a create), a `POST`
/// under `/v1/inbox/` (a reply, delegation, decision, …) and `POST /v1/schemas` (an upsert).
pub(super) fn daily_dimension(request: &Request) -> Option<Dimension> {
    if request.method() != Method::POST {
        return None;
    }
    match request.uri().path() {
        "/v1/intents" => Some(Dimension::IntentsPerDay),
        p if p.starts_with("/v1/inbox/") => Some(Dimension::InboxWritesPerDay),
        "/v1/schemas" => Some(Dimension::SchemaWritesPerDay),
        _ => None,
    }
}

/// 429 `quota_exceeded` for `dimension` of `policy`, `used` counted in its window at `now`;
/// `Retry-After` is the seconds to the window's end.
pub(crate) fn exceeded(policy: &QuotaPolicy, dimension: Dimension, used: u64, now: Timestamp) -> ApiError {
    let limit = policy.limit(dimension);
    ApiError::new(
        ErrorCode::QuotaExceeded,
        format!("the workspace used its {} quota ({limit})", dimension.as_str()),
    )
    .with_details(json!({"dimension": dimension.as_str(), "limit": limit, "used": used}))
    .with_retry_after(seconds_to_window_end(dimension.window(), now))
}

/// What admission found for one request: the warnings to put on its response.
#[derive(Default)]
pub(super) struct QuotaMarks(Vec<String>);

impl QuotaMarks {
    /// Sets `X-Quota-Warning` on a response (dimensions comma-separated).
    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        if let Ok(v) = HeaderValue::from_str(&self.0.join(", "))
            && !self.0.is_empty()
        {
            headers.insert("x-quota-warning", v);
        }
    }
}

/// Checks `principal`'s workspace against its policy for this request (and counts the
/// request): the warnings, or 429 `quota_exceeded`.
pub(super) async fn check(
    state: &AppState,
    principal: &Principal,
    daily: Option<Dimension>,
) -> Result<QuotaMarks, ApiError> {
    let (tenant, now) = (&principal.tenant, state.clock.now());
    let policy = state.meter.policy(tenant).await?;
    let mut marks = QuotaMarks::default();
    let before = state.meter.count_request(tenant.workspace_id, now);
    let mut uses = vec![(Dimension::RequestsPerMinute, before)];
    if let Some(d) = daily {
        uses.push((d, state.meter.used_today(tenant, d, now).await?));
    }
    for (dimension, used) in uses {
        judge(state, tenant, &policy, dimension, used, &mut marks)?;
    }
    Ok(marks)
}

/// The verdict of `policy` on `used` of `dimension`: a warning added to `marks` (the first of
/// the day logged), or 429 `quota_exceeded` with `Retry-After` to the window's end.
fn judge(
    state: &AppState,
    tenant: &Tenant,
    policy: &QuotaPolicy,
    dimension: Dimension,
    used: u64,
    marks: &mut QuotaMarks,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    match policy.verdict(dimension, used) {
        Verdict::Allow => {}
        Verdict::Warn(percent) => {
            marks.0.push(format!("{}={percent}%", dimension.as_str()));
            if dimension != Dimension::RequestsPerMinute
                && state.meter.first_warning(tenant.workspace_id, dimension, now)
            {
                let (ws, dim) = (tenant.workspace_id, dimension.as_str());
                tracing::warn!(workspace = %ws, dimension = dim, percent, "workspace quota soft threshold reached");
            }
        }
        Verdict::Block => return Err(exceeded(policy, dimension, used, now)),
    }
    Ok(())
}

/// Runs `write`, a write that counts toward the daily `dimension` but does not come through
/// the REST path admission counts it by (an MCP tool): refused with 429 `quota_exceeded` past a
/// blocking limit, counted once it succeeded. (The request itself was counted at admission.)
pub(crate) async fn counted<T>(
    state: &AppState,
    principal: &Principal,
    dimension: Dimension,
    write: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let (tenant, now) = (&principal.tenant, state.clock.now());
    let policy = state.meter.policy(tenant).await?;
    let used = state.meter.used_today(tenant, dimension, now).await?;
    judge(state, tenant, &policy, dimension, used, &mut QuotaMarks::default())?;
    let done = write.await?;
    state.meter.record(tenant.workspace_id, dimension, 1, state.clock.now());
    Ok(done)
}
