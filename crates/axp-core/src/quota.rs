//! Workspace quotas (contract §6 "Quotas", "Usage"): the policy a workspace is held to and the
//! decision for one use of a dimension. No storage and no HTTP here: the engine's usage meter
//! counts, the server answers.
//!
//! Which dimensions are enforced, and where: `requests_per_minute` (every authenticated API
//! request, counted per replica in memory), `intents_per_day` (intent creates),
//! `inbox_writes_per_day` (inbox writes), `schema_writes_per_day` (schema upserts),
//! `webhook_deliveries_per_day` (push and webhook attempts, in the engine's dispatcher: past the
//! limit an attempt waits for the next UTC day). The media dimensions are stored and reported;
//! they are enforced when that family counts its uses.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Timestamp;
use crate::ids::{OrgId, WorkspaceId};
use crate::validate::{Fields, Invalid};

/// One quota dimension (the keys of `quota_policy.dimensions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// API requests per minute (a per-replica, in-memory count).
    RequestsPerMinute,
    /// Intents created per UTC day.
    IntentsPerDay,
    /// Inbox writes (replies, delegations, decisions, …) per UTC day.
    InboxWritesPerDay,
    /// Media bytes uploaded per UTC day (stored and reported; no media family yet).
    MediaUploadBytesPerDay,
    /// Media bytes stored at once (stored and reported; no media family yet).
    MediaStorageBytes,
    /// Webhook and push delivery attempts per UTC day (the dispatcher defers the rest to the
    /// next day).
    WebhookDeliveriesPerDay,
    /// Schema upserts per UTC day (`POST /v1/schemas`).
    SchemaWritesPerDay,
}

/// The window a dimension's use is counted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// The current UTC minute.
    Minute,
    /// The current UTC day.
    Day,
    /// A level, not a rate (storage).
    Level,
}

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

impl Dimension {
    /// Every dimension, in wire order.
    pub const ALL: [Dimension; 7] = [
        Dimension::RequestsPerMinute,
        Dimension::IntentsPerDay,
        Dimension::InboxWritesPerDay,
        Dimension::MediaUploadBytesPerDay,
        Dimension::MediaStorageBytes,
        Dimension::WebhookDeliveriesPerDay,
        Dimension::SchemaWritesPerDay,
    ];

    /// The wire name, e.g. `intents_per_day`.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::RequestsPerMinute => "requests_per_minute",
            Dimension::IntentsPerDay => "intents_per_day",
            Dimension::InboxWritesPerDay => "inbox_writes_per_day",
            Dimension::MediaUploadBytesPerDay => "media_upload_bytes_per_day",
            Dimension::MediaStorageBytes => "media_storage_bytes",
            Dimension::WebhookDeliveriesPerDay => "webhook_deliveries_per_day",
            Dimension::SchemaWritesPerDay => "schema_writes_per_day",
        }
    }

    /// The dimension named `name` on the wire.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// The window its use is counted in.
    pub fn window(self) -> Window {
        match self {
            Dimension::RequestsPerMinute => Window::Minute,
            Dimension::MediaStorageBytes => Window::Level,
            _ => Window::Day,
        }
    }

    /// The self-hosted default limit: high enough that a normal deployment never meets it.
    pub fn default_limit(self) -> u64 {
        match self {
            Dimension::RequestsPerMinute => 600_000,
            Dimension::IntentsPerDay | Dimension::InboxWritesPerDay | Dimension::WebhookDeliveriesPerDay => {
                100_000_000
            }
            Dimension::MediaUploadBytesPerDay => 100 << 30,
            Dimension::MediaStorageBytes => 1 << 40,
            Dimension::SchemaWritesPerDay => 1_000_000,
        }
    }
}

/// The UTC day of `at`, as days since 1970-01-01 (the usage counters' day key).
pub fn day_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(DAY_MS)
}

/// The start of the UTC day after the one of `at` (where a deferred push waits).
pub fn next_day_start(at: Timestamp) -> Timestamp {
    Timestamp::from_millis((day_of(at) + 1) * DAY_MS)
}

/// The UTC minute of `at`, as minutes since 1970-01-01.
pub fn minute_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(MINUTE_MS)
}

/// Whole seconds from `at` to the end of `window` (at least 1): a refusal's `Retry-After`.
pub fn seconds_to_window_end(window: Window, at: Timestamp) -> u64 {
    let len = if window == Window::Minute { MINUTE_MS } else { DAY_MS };
    let left = len - at.as_millis().rem_euclid(len);
    (left as u64).div_ceil(1000).max(1)
}

/// What happens past a hard limit (contract §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OverageMode {
    /// Refuse (429 `quota_exceeded`).
    #[default]
    Block,
    /// Allow, and mark the response (`X-Quota-Warning`).
    Grace,
    /// Allow and mark, like `grace`; self-hosted servers bill nothing.
    BillOverage,
}

impl OverageMode {
    /// The wire name: `block`, `grace` or `bill_overage`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverageMode::Block => "block",
            OverageMode::Grace => "grace",
            OverageMode::BillOverage => "bill_overage",
        }
    }

    /// The mode named `name` on the wire.
    pub fn parse(name: &str) -> Option<Self> {
        [OverageMode::Block, OverageMode::Grace, OverageMode::BillOverage]
            .into_iter()
            .find(|m| m.as_str() == name)
    }
}

/// `quota_policy` (contract §6): a workspace's limits. Stored when changed; a workspace that
/// never changed it has [`QuotaPolicy::default_for`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QuotaPolicy {
    /// `qp_<workspace uuid>` (one policy per workspace).
    pub quota_policy_id: String,
    /// The organization.
    pub org_id: OrgId,
    /// The workspace.
    pub workspace_id: WorkspaceId,
    /// Every dimension's limit (units: requests, intents, writes, deliveries, bytes).
    pub dimensions: BTreeMap<Dimension, u64>,
    /// The percentage of a limit at which responses carry `X-Quota-Warning` (1 to 100).
    pub soft_threshold_percent: u8,
    /// Whether a limit is enforced at all (`false`: counted and reported only).
    pub hard_enforcement: bool,
    /// What happens past a limit when enforced.
    pub overage_mode: OverageMode,
    /// Who changed it last (`null` for the default).
    pub updated_by_actor_id: Option<String>,
    /// When it changed last; for the default, when the workspace was created (`null` only
    /// before the engine reads it).
    pub updated_at: Option<Timestamp>,
}

/// The decision for one more use of a dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Under the soft threshold.
    Allow,
    /// Allowed, at or past the soft threshold (or past the limit under `grace`/`bill_overage`):
    /// mark the response. Carries the percentage of the limit used.
    Warn(u64),
    /// Refused: 429 `quota_exceeded`.
    Block,
}

impl QuotaPolicy {
    /// The default policy of workspace `ws` ([`Dimension::default_limit`], warning at 80%,
    /// enforced, `block`).
    pub fn default_for(org: OrgId, ws: WorkspaceId) -> Self {
        Self {
            quota_policy_id: format!("qp_{}", ws.0.simple()),
            org_id: org,
            workspace_id: ws,
            dimensions: Dimension::ALL.into_iter().map(|d| (d, d.default_limit())).collect(),
            soft_threshold_percent: 80,
            hard_enforcement: true,
            overage_mode: OverageMode::Block,
            updated_by_actor_id: None,
            updated_at: None,
        }
    }

    /// The limit of `dimension`.
    pub fn limit(&self, dimension: Dimension) -> u64 {
        self.dimensions.get(&dimension).copied().unwrap_or_else(|| dimension.default_limit())
    }

    /// Applies a `PATCH /v1/quotas` body: any of `dimensions` (an object of known dimension
    /// names to integers ≥ 0; the others keep their limits), `soft_threshold_percent` (1 to
    /// 100), `hard_enforcement`, `overage_mode`. `org_id`/`workspace_id` select the policy and
    /// are ignored here. Errors: 422 naming every invalid field; nothing is applied then.
    pub fn patched(&self, body: &Map<String, Value>) -> Result<Self, Invalid> {
        let mut next = self.clone();
        let mut f = Fields::new(body);
        if let Some(dims) = f.object("dimensions", &[]) {
            for (name, value) in &dims {
                match (Dimension::parse(name), value.as_u64()) {
                    (Some(d), Some(n)) => {
                        next.dimensions.insert(d, n);
                    }
                    (None, _) => f.fail("dimensions", "value_error", format!("unknown dimension {name}")),
                    (_, None) => {
                        f.fail("dimensions", "value_error", format!("{name} must be an integer >= 0"))
                    }
                }
            }
        }
        if let Some(p) = f.u64("soft_threshold_percent", &[]) {
            match u8::try_from(p) {
                Ok(p @ 1..=100) => next.soft_threshold_percent = p,
                _ => f.fail("soft_threshold_percent", "value_error", "must be 1 to 100"),
            }
        }
        if let Some(hard) = f.bool("hard_enforcement", &[]) {
            next.hard_enforcement = hard;
        }
        if let Some(mode) = f.string("overage_mode", &[], false) {
            match OverageMode::parse(&mode) {
                Some(m) => next.overage_mode = m,
                None => f.fail("overage_mode", "value_error", "must be block, grace or bill_overage"),
            }
        }
        f.finish(next)
    }

    /// The decision for one more use of `dimension` when `used` were counted in its window.
    pub fn verdict(&self, dimension: Dimension, used: u64) -> Verdict {
        let limit = self.limit(dimension);
        let percent = (used + 1).saturating_mul(100) / limit.max(1);
        if used >= limit {
            if self.hard_enforcement && self.overage_mode == OverageMode::Block {
                return Verdict::Block;
            }
            return Verdict::Warn(percent);
        }
        if percent >= u64::from(self.soft_threshold_percent) {
            Verdict::Warn(percent)
        } else {
            Verdict::Allow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> QuotaPolicy {
        QuotaPolicy::default_for(OrgId(uuid::Uuid::nil()), WorkspaceId(uuid::Uuid::nil()))
    }

    #[test]
    fn wire_shape_names_every_dimension() {
        let v = serde_json::to_value(policy()).unwrap();
        for d in Dimension::ALL {
            assert!(v["dimensions"][d.as_str()].is_u64(), "{d:?}");
        }
        assert_eq!(v["overage_mode"], "block");
        assert_eq!(v["soft_threshold_percent"], 80);
    }

    #[test]
    fn verdicts_follow_threshold_and_mode() {
        let body = serde_json::json!({"dimensions": {"intents_per_day": 10}, "soft_threshold_percent": 50});
        let p = policy().patched(body.as_object().unwrap()).unwrap();
        assert_eq!(p.verdict(Dimension::IntentsPerDay, 0), Verdict::Allow);
        assert_eq!(p.verdict(Dimension::IntentsPerDay, 4), Verdict::Warn(50));
        assert_eq!(p.verdict(Dimension::IntentsPerDay, 10), Verdict::Block);
        let grace = p.patched(serde_json::json!({"overage_mode": "grace"}).as_object().unwrap()).unwrap();
        assert_eq!(grace.verdict(Dimension::IntentsPerDay, 10), Verdict::Warn(110));
    }

    #[test]
    fn a_bad_patch_changes_nothing() {
        let body = serde_json::json!({"dimensions": {"intents_per_day": 5, "bogus": 1}, "soft_threshold_percent": 0});
        let err = policy().patched(body.as_object().unwrap()).unwrap_err();
        assert_eq!(err.errors.len(), 2);
    }

    #[test]
    fn retry_after_is_the_window_end() {
        let at = Timestamp::from_millis(DAY_MS * 3 + 59_500);
        assert_eq!(seconds_to_window_end(Window::Minute, at), 1);
        assert_eq!(seconds_to_window_end(Window::Day, at), 86_400 - 59);
        assert_eq!(day_of(at), 3);
        assert_eq!(next_day_start(at), Timestamp::from_millis(DAY_MS * 4));
    }
}
