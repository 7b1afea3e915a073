//! Quota enforcement at admission (contract §6; the model is `axp_core::quota`, the counts
//! `axp_engine::usage`): every authenticated request counts toward `requests_per_minute`; an
//! intent create toward `intents_per_day` and an inbox write toward `inbox_writes_per_day`,
//! counted only when it succeeds. Past a limit under `block`: 429 `quota_exceeded` with
//! `Retry-After` = seconds to the window's end; at the soft threshold (or past a limit under
//! `grace`/`bill_overage`): the response carries `X-Quota-Warning: <dimension>=<percent>%`,
//! and the first warning of a workspace's dimension each day is logged.

use axp_core::Timestamp;
use axp_core::error::ErrorCode;
use axp_core::quota::{Dimension, QuotaPolicy, Verdict, seconds_to_window_end};
use axp_store::Principal;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The daily dimension a request uses, if any: `POST /v1/intents` (a create) and a `POST`
/// under `/v1/inbox/` (a reply, delegation, decision, …).
pub(super) fn daily_dimension(request: &Request) -> Option<Dimension> {
    if request.method() != Method::POST {
        return None;
    }
    match request.uri().path() {
        "/v1/intents" => Some(Dimension::IntentsPerDay),
        p if p.starts_with("/v1/inbox/") => Some(Dimension::InboxWritesPerDay),
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
            Verdict::Block => return Err(exceeded(&policy, dimension, used, now)),
        }
    }
    Ok(marks)
}
