//! Users and their nicks (contract §6 "Users / nicks", `api.users.*.v1.json`). A user belongs to
//! the workspace of the caller that registered it; its owner address is `agent://user/<id>`.
//!
//! Access (`docs/access.md`, "people"): checking and resolving nicks is open to every caller;
//! registering needs a writer; reading a profile needs to read for its owner, and renaming or
//! updating it to act as its owner (the person themselves, or a `member` or admin).

use axp_core::ErrorCode;
use axp_core::api::{
    CheckNickResponse, ProfileResponse, RegisterNickRequest, RegisterNickResponse, RenameNickResponse,
    ResolveNickResponse, UpdateUserRequest, User,
};
use axp_core::ids::UserId;
use axp_core::users::{Nick, owner_agent, user_of};
use axp_core::validate::Fields;
use axp_store::UserUpdate;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, QueryMap};
use crate::state::AppState;

/// A nick from a query parameter: 422 when missing or invalid.
fn query_nick(query: &QueryMap) -> ApiResult<Nick> {
    let raw = query.str("nick").ok_or_else(|| ApiError::invalid_query("nick", "is required"))?;
    Nick::parse(raw).map_err(|e| ApiError::invalid_query("nick", &e.to_string()))
}

/// Reads a nick body field (1 to 64 characters before normalisation).
fn body_nick(f: &mut Fields<'_>, required: bool) -> Option<Nick> {
    let raw = f.bounded_string("nick", &[], required, 1, 64)?;
    match Nick::parse(&raw) {
        Ok(nick) => Some(nick),
        Err(e) => {
            f.fail("nick", "value_error", e.to_string());
            None
        }
    }
}

/// The profile fields every users body may carry, with the schemas' bounds.
fn profile_fields(f: &mut Fields<'_>) -> (Option<String>, Option<String>, Option<String>) {
    let display_name = f.bounded_string("display_name", &[], false, 1, 120);
    let phone = f.bounded_string("phone", &[], false, 3, 32);
    let email = f.bounded_string("email", &[], false, 3, 255);
    (display_name, phone, email)
}

/// An owner given as `agent://user/<id>`: its canonical spelling and its user, if it names one.
fn owner(raw: &str) -> (String, Option<UserId>) {
    match user_of(raw) {
        Some(id) => (owner_agent(id), Some(id)),
        None => (raw.trim().to_owned(), None),
    }
}

/// 409 for a nick another user has; 404 for an unknown user.
fn nick_taken(nick: Option<&Nick>) -> impl Fn(axp_store::Error) -> ApiError + '_ {
    move |e| match e {
        axp_store::Error::Conflict { .. } => {
            let nick = nick.map_or_else(String::new, |n| format!(" {n}"));
            ApiError::new(ErrorCode::AlreadyExists, format!("the nick{nick} is taken"))
        }
        axp_store::Error::NotFound => ApiError::not_found("user"),
        other => other.into(),
    }
}

/// `GET /v1/users/check-nick?nick=`: the nick normalised, its public address, and whether no
/// user of the caller's workspace has it. 422 for an invalid nick.
#[utoipa::path(
    get,
    path = "/v1/users/check-nick",
    tag = "users",
    params(("nick" = String, Query, description = "The nick, with or without `@`, any case")),
    responses((status = 200, body = CheckNickResponse)),
)]
pub(super) async fn check_nick(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<CheckNickResponse>> {
    let nick = query_nick(&query)?;
    let taken = state.store.find_user_by_nick(&caller.0.tenant, &nick).await?.is_some();
    Ok(Json(CheckNickResponse {
        ok: true,
        nick: nick.handle(),
        normalized_nick: nick.as_str().to_owned(),
        public_address: nick.public_address(),
        available: !taken,
    }))
}

/// `POST /v1/users/register-nick` `{nick, display_name?, phone?, email?}`: a new user of the
/// caller's workspace. 403 for a read-only caller; 422 for an invalid field; 409 when the nick
/// is taken.
#[utoipa::path(
    post,
    path = "/v1/users/register-nick",
    tag = "users",
    request_body = RegisterNickRequest,
    responses((status = 200, body = RegisterNickResponse)),
)]
async fn register_nick(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<RegisterNickResponse>> {
    caller.require_writer()?;
    let mut f = Fields::new(&body);
    let nick = body_nick(&mut f, true);
    let (display_name, phone, email) = profile_fields(&mut f);
    let nick = f.finish(nick)?.ok_or_else(|| ApiError::bad_request("nick is required"))?;
    let mut user = User::new(UserId::new(), &nick, state.clock.now());
    (user.display_name, user.phone, user.email) = (display_name, phone, email);
    let user = state.store.register_user(&caller.0.tenant, user).await.map_err(nick_taken(Some(&nick)))?;
    Ok(Json(user.into()))
}

/// Reads `owner_agent` and the profile fields of a rename or update body, checks that the caller
/// acts as that owner, and changes the user.
async fn change_user(
    state: &AppState,
    caller: &Caller,
    body: &serde_json::Map<String, serde_json::Value>,
    nick_required: bool,
) -> ApiResult<User> {
    let mut f = Fields::new(body);
    let raw_owner = f.bounded_string("owner_agent", &[], true, 3, 255);
    let nick = body_nick(&mut f, nick_required);
    let (display_name, phone, email) = profile_fields(&mut f);
    let raw_owner = f.finish(raw_owner)?.ok_or_else(|| ApiError::bad_request("owner_agent is required"))?;
    let (owner, user) = owner(&raw_owner);
    caller.require_act_as(&owner)?;
    let user = user.ok_or_else(|| ApiError::not_found("user"))?;
    let update = UserUpdate { nick: nick.clone(), display_name, phone, email };
    let now = state.clock.now();
    state.store.update_user(&caller.0.tenant, user, update, now).await.map_err(nick_taken(nick.as_ref()))
}

/// `POST /v1/users/rename-nick` `{owner_agent, nick, display_name?, phone?, email?}`: renames
/// the user (its public address follows). 403 unless the caller acts as `owner_agent`; 404 for
/// an unknown owner; 409 when the nick is another user's.
#[utoipa::path(
    post,
    path = "/v1/users/rename-nick",
    tag = "users",
    request_body(content = UpdateUserRequest, description = "`nick` is required here"),
    responses((status = 200, body = RenameNickResponse)),
)]
async fn rename_nick(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<RenameNickResponse>> {
    Ok(Json(change_user(&state, &caller, &body, true).await?.into()))
}

/// `POST /v1/users/profile/update` `{owner_agent, nick?, display_name?, phone?, email?}`: the
/// profile after the change. Errors as `rename-nick`.
#[utoipa::path(
    post,
    path = "/v1/users/profile/update",
    tag = "users",
    request_body = UpdateUserRequest,
    responses((status = 200, body = ProfileResponse)),
)]
async fn update_profile(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<ProfileResponse>> {
    Ok(Json(change_user(&state, &caller, &body, false).await?.into()))
}

/// `GET /v1/users/profile?owner_agent=`: 403 unless the caller may read for that owner; 404
/// for an unknown owner.
#[utoipa::path(
    get,
    path = "/v1/users/profile",
    tag = "users",
    params(("owner_agent" = String, Query, description = "The user's `agent://user/<user_id>`")),
    responses((status = 200, body = ProfileResponse)),
)]
async fn get_profile(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ProfileResponse>> {
    let raw =
        query.str("owner_agent").ok_or_else(|| ApiError::invalid_query("owner_agent", "is required"))?;
    let (owner, user) = owner(raw);
    caller.require_read_for(&owner)?;
    let user = user.ok_or_else(|| ApiError::not_found("user"))?;
    let user = state.store.get_user(&caller.0.tenant, user).await.map_err(ApiError::missing("user"))?;
    Ok(Json(user.into()))
}

/// `GET /v1/users/resolve-nick?nick=` (OAS `ResolveNickResponse`): who has the nick in the
/// caller's workspace (`resolved: false` and nulls when nobody). Phone and email only for a
/// caller who may read for that user.
#[utoipa::path(
    get,
    path = "/v1/users/resolve-nick",
    tag = "users",
    params(("nick" = String, Query, description = "The nick, with or without `@`, any case")),
    responses((status = 200, body = ResolveNickResponse)),
)]
pub(super) async fn resolve_nick(
    State(state): State<AppState>,
    caller: Caller,
    query: QueryMap,
) -> ApiResult<Json<ResolveNickResponse>> {
    let nick = query_nick(&query)?;
    let user = state.store.find_user_by_nick(&caller.0.tenant, &nick).await?;
    let private = user.as_ref().filter(|u| caller.reads_for(&u.owner_agent));
    Ok(Json(ResolveNickResponse {
        ok: true,
        resolved: user.is_some(),
        nick: nick.handle(),
        normalized_nick: nick.as_str().to_owned(),
        public_address: nick.public_address(),
        owner_agent: user.as_ref().map(|u| u.owner_agent.clone()),
        display_name: user.as_ref().and_then(|u| u.display_name.clone()),
        phone: private.and_then(|u| u.phone.clone()),
        email: private.and_then(|u| u.email.clone()),
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(check_nick, register_nick, rename_nick, get_profile, update_profile, resolve_nick))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/check-nick", get(check_nick))
        .route("/v1/users/register-nick", post(register_nick))
        .route("/v1/users/rename-nick", post(rename_nick))
        .route("/v1/users/profile", get(get_profile))
        .route("/v1/users/profile/update", post(update_profile))
        .route("/v1/users/resolve-nick", get(resolve_nick))
}
