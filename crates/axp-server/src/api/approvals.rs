//! Approvals (contract §5.2) and the human-facing task list (§4.9).

use axp_core::api::{ApprovalResponse, ListTasksResponse, OpenTask};
use axp_core::validate::Fields;
use axp_core::{ApprovalId, ErrorCode, Status, WaitingReason};
use axp_store::{Actor, IntentFilter};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap, owner_scope};
use crate::state::AppState;

/// `POST /v1/approvals/{approval_id}/decision` `{decision: approve|reject, comment?}`: an
/// upsert. A new id is recorded (an id of an intent waiting for a person answers its task); the
/// same decision again is 200 with the first record; a different one is 409. Answering a task
/// follows the decision rule (`Acting::may_decide`): 403 for who may not, 404 when the caller
/// may not see the intent. Acts for the owner scope (§1.2) when one is given.
#[utoipa::path(
    post,
    path = "/v1/approvals/{approval_id}/decision",
    tag = "approvals",
    params(
        ("approval_id" = String, Path, description = "The approval's id (UUID); an intent's id answers its open human task"),
        ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)"),
    ),
    request_body(content = Object, description = "`{decision: approve|reject, comment?}`: the comment at most 1000 characters"),
    responses((status = 200, body = ApprovalResponse)),
)]
pub(crate) async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ApprovalResponse>> {
    let id: ApprovalId = id.parse().map_err(|_| ApiError::not_found("approval"))?;
    let acting = caller.acting(&caller.acting_owner(&headers, &query)?);
    let mut f = Fields::new(&body);
    let decision = f.string("decision", &[], true);
    let comment = f.bounded_string("comment", &[], false, 0, 1000);
    let approve = match decision.as_deref() {
        Some("approve") => Some(true),
        Some("reject") => Some(false),
        Some(_) => {
            f.fail("decision", "value_error", "must be approve or reject");
            None
        }
        None => None,
    };
    let approve = f.finish(approve)?.ok_or_else(|| ApiError::bad_request("decision is required"))?;
    let approval = state
        .store
        .decide_approval(&caller.0.tenant, id, approve, comment, &acting, state.clock.now(), &caller.audit())
        .await
        .map_err(|e| match e {
            axp_store::Error::Conflict { constraint } => {
                ApiError::new(ErrorCode::InvalidStateTransition, constraint)
            }
            other => other.into(),
        })?;
    Ok(Json(ApprovalResponse { ok: true, approval }))
}

/// `GET /v1/me/tasks?limit=`: open human tasks (WAITING_FOR_HUMAN) of the caller: those whose
/// assignees or `pending_with` name one of the caller's addresses, or that the caller sent.
/// The caller's addresses are `owner_agent` when given; else its own agent address and, for a
/// person (actor token), also their nick's `@nick` and public address `nick@ax`.
#[utoipa::path(
    get,
    path = "/v1/me/tasks",
    tag = "approvals",
    params(
        ("owner_agent" = Option<String>, Query, description = "Whose tasks (also the `x-owner-agent` header); default the caller's own addresses"),
        ("limit" = Option<u32>, Query, description = "1 to 500, default 100"),
    ),
    responses((status = 200, body = ListTasksResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn my_tasks(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<ListTasksResponse>> {
    let mut me = vec![caller.reading_owner(&headers, &query)?];
    if let (None, Actor::User { id, .. }) = (owner_scope(&headers, &query)?, &caller.0.actor) {
        let user = state.store.get_user(&caller.0.tenant, *id).await.map_err(ApiError::missing("user"))?;
        me.extend([user.nick, user.public_address]);
    }
    let limit = query.bounded("limit", 1, 500)?.unwrap_or(100) as u32;
    let filter = IntentFilter { statuses: vec![Status::Waiting], limit: 500, ..IntentFilter::default() };
    let intents = state.store.list_intents(&caller.0.tenant, &filter).await?;
    let mine = |address: &str| me.iter().any(|m| m == address);
    let tasks: Vec<OpenTask> = intents
        .iter()
        .filter(|i| i.waiting_reason == Some(WaitingReason::WaitingForHuman))
        .filter(|i| {
            let assigned = i
                .human_task
                .as_ref()
                .and_then(|t| t.get("assignees"))
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().filter_map(Value::as_str).any(mine));
            let pending = i.pending_with.as_ref().is_some_and(|p| mine(&p.reference));
            assigned || pending || mine(&i.from_agent)
        })
        .take(limit as usize)
        .map(|i| OpenTask {
            intent_id: i.intent_id,
            intent_type: i.intent_type.clone(),
            status: i.status,
            from_agent: i.from_agent.clone(),
            assigned_at: Some(i.updated_at),
            due_at: i.deadline_at,
            human_task: i.human_task.clone(),
            pending_with: i.pending_with.clone(),
            step_id: i.step_id.clone(),
            extra: Map::new(),
        })
        .collect();
    Ok(Json(ListTasksResponse { ok: true, tasks }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(decide, my_tasks))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/approvals/{approval_id}/decision", post(decide))
        .route("/v1/me/tasks", get(my_tasks))
}
