//! The inbox (contract §5.1): one thread per intent, seen by its sender, recipients, `reply_to`
//! after completion, and delegates. Every call acts for an owner (`owner_agent` query or
//! `x-owner-agent`, default the caller's address).

use axp_core::api::{
    DeleteMessagesRequest, DeleteMode, DeletedMessages, InboxChanges, ListThreadsResponse, ThreadChange,
    ThreadResponse,
};
use axp_core::inbox::{Thread, ThreadAction, ThreadStatus};
use axp_core::validate::Fields;
use axp_core::{AgentAddress, ErrorCode, IntentId};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};

use super::Success;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams, QueryMap};
use crate::state::AppState;

/// Threads listed at most (`limit` default 50).
const LIST_MAX: u64 = 200;

fn thread_id(raw: &str) -> ApiResult<IntentId> {
    raw.parse().map_err(|_| ApiError::not_found("thread"))
}

/// Changes cursors are opaque strings; this server writes `cur_<n>`.
fn encode_cursor(seq: u64) -> String {
    format!("cur_{seq}")
}

fn decode_cursor(raw: &str) -> ApiResult<u64> {
    raw.strip_prefix("cur_").and_then(|n| n.parse().ok()).ok_or_else(|| {
        ApiError::bad_request(format!("unknown inbox cursor {raw:?}; use a next_cursor this server returned"))
    })
}

/// `GET /v1/inbox?owner_agent=&status=pending|active|done&limit=`: the owner's threads, newest
/// change first.
#[utoipa::path(
    get,
    path = "/v1/inbox",
    tag = "inbox",
    params(
        ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)"),
        ("status" = Option<String>, Query, description = "`pending`, `active` or `done`"),
        ("limit" = Option<u32>, Query, description = "1 to 200, default 50"),
    ),
    responses((status = 200, body = ListThreadsResponse)),
)]
pub(super) async fn list_inbox(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<ListThreadsResponse>> {
    let owner = caller.reading_owner(&headers, &query)?;
    let status = match query.str("status") {
        None => None,
        Some(s) => Some(
            ThreadStatus::parse(s)
                .ok_or_else(|| ApiError::invalid_query("status", "must be pending, active or done"))?,
        ),
    };
    let limit = query.bounded("limit", 1, LIST_MAX)?.unwrap_or(50) as u32;
    let threads = state.store.list_threads(&caller.0.tenant, &owner, status, limit).await?;
    Ok(Json(ListThreadsResponse { ok: true, threads }))
}

/// `GET /v1/inbox/changes?owner_agent=&cursor=&limit=`: threads changed after `cursor` (from
/// the start without one), oldest change first, at most `limit` (default 50, at most 200);
/// `next_cursor` resumes, `has_more` says whether to. An unknown cursor is 400.
#[utoipa::path(
    get,
    path = "/v1/inbox/changes",
    tag = "inbox",
    params(
        ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)"),
        ("cursor" = Option<String>, Query, description = "A `next_cursor` of an earlier page; from the start without one"),
        ("limit" = Option<u32>, Query, description = "1 to 200, default 50"),
    ),
    responses((status = 200, body = Success<InboxChanges>)),
)]
async fn inbox_changes(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<Success<InboxChanges>>> {
    let owner = caller.reading_owner(&headers, &query)?;
    let after = query.str("cursor").map(decode_cursor).transpose()?;
    let limit = query.bounded("limit", 1, LIST_MAX)?.unwrap_or(50) as u32;
    let (changes, has_more) =
        state.store.thread_changes(&caller.0.tenant, &owner, after.unwrap_or(0), limit).await?;
    let next_cursor = changes.last().map(|(seq, _)| encode_cursor(*seq)).or_else(|| after.map(encode_cursor));
    let changes: Vec<ThreadChange> = changes
        .into_iter()
        .map(|(seq, thread)| ThreadChange { cursor: encode_cursor(seq), thread })
        .collect();
    Ok(Json(Success::new(InboxChanges { changes, next_cursor, has_more })))
}

/// `GET /v1/inbox/{thread_id}`: one thread as the owner sees it; 404 when unknown or not visible
/// to the owner.
#[utoipa::path(
    get,
    path = "/v1/inbox/{thread_id}",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    responses((status = 200, body = ThreadResponse)),
)]
async fn get_thread(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<ThreadResponse>> {
    let owner = caller.reading_owner(&headers, &query)?;
    let thread = state
        .store
        .get_thread(&caller.0.tenant, &owner, thread_id(&id)?)
        .await
        .map_err(ApiError::missing("thread"))?;
    Ok(Json(ThreadResponse { ok: true, thread }))
}

/// Runs an action for the owner: the thread afterwards, and the message ids it deleted.
async fn act(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    query: &QueryMap,
    id: &str,
    action: ThreadAction,
) -> ApiResult<(Thread, Vec<String>)> {
    let acting = caller.acting(&caller.acting_owner(headers, query)?);
    state
        .store
        .act_on_thread(&caller.0.tenant, &acting, thread_id(id)?, action, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("thread"))
}

fn optional_comment(f: &mut Fields<'_>) -> Option<String> {
    f.bounded_string("comment", &[], false, 0, 2000)
}

/// `POST /v1/inbox/{id}/reply` `{message}` (1 to 5000 characters): adds a reply to the thread.
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/reply",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{message}`: 1 to 5000 characters"),
    responses((status = 200, body = ThreadResponse)),
)]
pub(super) async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ThreadResponse>> {
    let mut f = Fields::new(&body);
    let message = f.bounded_string("message", &[], true, 1, 5000);
    let message = f.finish(message)?.ok_or_else(|| ApiError::bad_request("message is required"))?;
    let (thread, _) = act(&state, &caller, &headers, &query, &id, ThreadAction::Reply { message }).await?;
    Ok(Json(ThreadResponse { ok: true, thread }))
}

/// `POST /v1/inbox/{id}/delegate` `{delegate_to, note?}`: the delegate joins the thread and an
/// open human task moves to them.
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/delegate",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{delegate_to, note?}`: an agent address, or a person (e-mail, role) kept as given; the note at most 2000 characters"),
    responses((status = 200, body = ThreadResponse)),
)]
async fn delegate(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ThreadResponse>> {
    let mut f = Fields::new(&body);
    let to = f.bounded_string("delegate_to", &[], true, 3, 383);
    let note = f.bounded_string("note", &[], false, 0, 2000);
    let to = f.finish(to)?.ok_or_else(|| ApiError::bad_request("delegate_to is required"))?;
    // An agent address is normalised; a person (e-mail, role) is kept as given.
    let to = if to.contains('@') && !to.starts_with(axp_core::address::SCHEME) {
        to
    } else {
        AgentAddress::parse(&to, &caller.0.tenant.scope())
            .map_err(|e| ApiError::new(ErrorCode::InvalidAgentAddress, e.to_string()))?
            .into_string()
    };
    let (thread, _) =
        act(&state, &caller, &headers, &query, &id, ThreadAction::Delegate { to, note }).await?;
    Ok(Json(ThreadResponse { ok: true, thread }))
}

async fn decide(
    state: AppState,
    caller: Caller,
    id: String,
    headers: HeaderMap,
    query: QueryMap,
    body: Map<String, Value>,
    approve: bool,
) -> ApiResult<Json<ThreadResponse>> {
    let mut f = Fields::new(&body);
    let comment = optional_comment(&mut f);
    f.finish(())?;
    let (thread, _) =
        act(&state, &caller, &headers, &query, &id, ThreadAction::Decide { approve, comment }).await?;
    Ok(Json(ThreadResponse { ok: true, thread }))
}

/// `POST /v1/inbox/{id}/approve` `{comment?}`: answers an open human task (outcome `approved`,
/// or the task type's affirmative outcome); 422 `task_result_invalid` if the task needs more.
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/approve",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{comment?}`: at most 2000 characters"),
    responses((status = 200, body = ThreadResponse)),
)]
async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ThreadResponse>> {
    decide(state, caller, id, headers, query, body, true).await
}

/// `POST /v1/inbox/{id}/reject` `{comment?}`: answers an open human task with a rejection (outcome
/// `rejected`, or the task type's negative outcome).
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/reject",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body(content = Object, description = "`{comment?}`: at most 2000 characters"),
    responses((status = 200, body = ThreadResponse)),
)]
async fn reject(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ThreadResponse>> {
    decide(state, caller, id, headers, query, body, false).await
}

/// `POST /v1/inbox/{id}/read` (no body): marks the thread read for the owner.
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/read",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    responses((status = 200, body = ThreadResponse)),
)]
async fn read(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
) -> ApiResult<Json<ThreadResponse>> {
    let (thread, _) = act(&state, &caller, &headers, &query, &id, ThreadAction::Read).await?;
    Ok(Json(ThreadResponse { ok: true, thread }))
}

/// `POST /v1/inbox/{id}/messages/delete` `{mode: self|both, message_ids?, limit?}`: only
/// messages (replies) are deleted, never lifecycle entries; `self` hides them for this owner.
#[utoipa::path(
    post,
    path = "/v1/inbox/{thread_id}/messages/delete",
    tag = "inbox",
    params(("thread_id" = String, Path, description = "The thread's id: its intent's id (UUID)"), ("owner_agent" = Option<String>, Query, description = "The owner to act for (also the `x-owner-agent` header); default the caller's own address (contract §1.2)")),
    request_body = DeleteMessagesRequest,
    responses((status = 200, body = Success<DeletedMessages>)),
)]
async fn delete_messages(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(id): PathParams<String>,
    headers: HeaderMap,
    query: QueryMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<Success<DeletedMessages>>> {
    let mut f = Fields::new(&body);
    let mode = f.string("mode", &[], false).unwrap_or_else(|| "self".into());
    if mode != "self" && mode != "both" {
        f.fail("mode", "value_error", "must be self or both");
    }
    let limit = f.u32_at_least("limit", &[], 1).unwrap_or(100);
    if limit > 100 {
        f.fail("limit", "value_error", "must be 1 to 100");
    }
    let mut message_ids = Vec::new();
    match f.get("message_ids", &[]) {
        None => {}
        Some(Value::Array(ids)) if (1..=100).contains(&ids.len()) && ids.iter().all(Value::is_string) => {
            message_ids = ids.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        }
        Some(_) => f.fail("message_ids", "value_error", "must be 1 to 100 message ids"),
    }
    f.finish(())?;
    let mode = if mode == "both" { DeleteMode::ForEveryone } else { DeleteMode::ForMe };
    let action = ThreadAction::DeleteMessages {
        both: mode == DeleteMode::ForEveryone,
        message_ids,
        limit: limit as usize,
    };
    let (thread, deleted) = act(&state, &caller, &headers, &query, &id, action).await?;
    Ok(Json(Success::new(DeletedMessages {
        thread,
        mode,
        deleted_count: deleted.len() as u64,
        message_ids: deleted,
    })))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(
    list_inbox,
    inbox_changes,
    get_thread,
    reply,
    delegate,
    approve,
    reject,
    read,
    delete_messages
))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/inbox", get(list_inbox))
        .route("/v1/inbox/changes", get(inbox_changes))
        .route("/v1/inbox/{thread_id}", get(get_thread))
        .route("/v1/inbox/{thread_id}/reply", post(reply))
        .route("/v1/inbox/{thread_id}/delegate", post(delegate))
        .route("/v1/inbox/{thread_id}/approve", post(approve))
        .route("/v1/inbox/{thread_id}/reject", post(reject))
        .route("/v1/inbox/{thread_id}/read", post(read))
        .route("/v1/inbox/{thread_id}/messages/delete", post(delete_messages))
}
