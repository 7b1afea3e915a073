//! The audit log (an axp extension, `GET /openapi.json`): every admin and
//! security action of the caller's organization, newest first.

use axp_core::api::ListAuditResponse;
use axp_core::ids::WorkspaceId;
use axp_store::AuditFilter;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, QueryMap};
use crate::state::AppState;

/// `GET /v1/audit?action=&actor_id=&target_id=&workspace_id=&since=&until=&limit=&cursor=`:
/// `{ok, entries, next_cursor}`, the caller's organization's entries **newest first** (highest
/// `audit_id` first), at most `limit` (1 to 500, default 100); `next_cursor` (or `null` on the
/// last page) continues with the older ones. `since` (inclusive) and `until` (exclusive) bound
/// `created_at`. Pages below a cursor never change: an entry committed later always sorts above
/// the cursor.
///
/// For `org_owner`, `org_admin` and `security_auditor` only (403 otherwise). An org admin reads
/// every workspace of its organization (`workspace_id` narrows it to one); a `security_auditor`
/// that administers nothing reads its own workspace's entries and the organization-wide ones
/// (403 for another `workspace_id`). Another organization's entries are never listed.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(
        ("action" = Option<String>, Query, description = "Only this action (e.g. `member.added`)"),
        ("actor_id" = Option<String>, Query, description = "Only this actor's entries"),
        ("target_id" = Option<String>, Query, description = "Only entries about this target"),
        ("workspace_id" = Option<String>, Query, description = "Only this workspace (UUID); a `security_auditor` may name only its own"),
        ("since" = Option<String>, Query, description = "RFC 3339, inclusive, on `created_at`"),
        ("until" = Option<String>, Query, description = "RFC 3339, exclusive, on `created_at`"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
        ("cursor" = Option<String>, Query, description = "A page's `next_cursor`: the older entries"),
    ),
    responses((status = 200, body = ListAuditResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ListAuditResponse>> {
    caller.require_auditor()?;
    let limit = query.bounded("limit", 1, 500)?.unwrap_or(100) as u32;
    let workspace_id = query
        .str("workspace_id")
        .map(|s| {
            s.parse::<WorkspaceId>().map_err(|_| ApiError::invalid_query("workspace_id", "must be a UUID"))
        })
        .transpose()?;
    let before = query
        .str("cursor")
        .map(|s| s.parse::<u64>().map_err(|_| ApiError::invalid_query("cursor", "must be a next_cursor")))
        .transpose()?;
    let mut filter = AuditFilter {
        workspace_id,
        action: query.str("action").map(str::to_owned),
        actor_id: query.str("actor_id").map(str::to_owned),
        target_id: query.str("target_id").map(str::to_owned),
        since: query.time("since")?,
        until: query.time("until")?,
        before,
        ..AuditFilter::org(caller.0.tenant.org_id, limit)
    };
    if !caller.0.roles.administers_org() {
        let own = caller.0.tenant.workspace_id;
        if workspace_id.is_some_and(|ws| ws != own) {
            return Err(ApiError::new(
                axp_core::ErrorCode::PolicyDenied,
                "a security_auditor reads its own workspace's audit log",
            ));
        }
        filter.workspace_id = Some(own);
        filter.org_wide = true;
    }
    let (entries, more) = state.store.list_audit(&filter).await?;
    let next_cursor = entries.last().filter(|_| more).map(|e| e.audit_id.to_string());
    Ok(Json(ListAuditResponse { ok: true, entries, next_cursor }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_audit))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/v1/audit", get(list_audit))
}
