//! A person's credentials (contract §1.1; axp extensions, `GET /openapi.json`):
//! actor tokens `axme_at_…` issued by an admin (or by accepting an invite), revoked by an admin
//! or the person, and `GET /v1/me`, who the caller is.
//!
//! Access (`docs/access.md`, "people"): issuing needs a workspace admin; revoking, a workspace
//! admin or the token's own person; `GET /v1/me` is open to every caller.

use axp_core::api::{ActorKind, ActorTokenResponse, Me, MeResponse, NewActorTokenResponse};
use axp_core::ids::{ActorTokenId, UserId};
use axp_core::validate::Fields;
use axp_store::{Actor, generate_actor_token};
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams};
use crate::state::AppState;

/// How long an actor token authenticates unless `ttl_seconds` says otherwise: 30 days.
pub(crate) const DEFAULT_TTL_SECONDS: u64 = 30 * 24 * 3600;

/// `ttl_seconds` bounds: a minute to a year.
const TTL: std::ops::RangeInclusive<u64> = 60..=365 * 24 * 3600;

fn user_id(raw: &str) -> ApiResult<UserId> {
    raw.parse().map_err(|_| ApiError::not_found("user"))
}

/// `POST /v1/users/{user_id}/tokens` `{ttl_seconds?}` (60 s to a year, default 30 days): a new
/// actor token for the user, `{ok, token, token_id, expires_at}`; the token is shown this once.
/// 403 unless the caller administers the workspace; 404 for a user unknown in it.
#[utoipa::path(
    post,
    path = "/v1/users/{user_id}/tokens",
    tag = "actor-tokens",
    params(("user_id" = String, Path, description = "The user's id (UUID)")),
    request_body(content = Object, description = "`{ttl_seconds?}`: 60 to 31536000, default 2592000 (30 days)"),
    responses((status = 200, body = NewActorTokenResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(user): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<NewActorTokenResponse>> {
    caller.require_workspace_admin()?;
    let user = user_id(&user)?;
    let mut f = Fields::new(&body);
    let ttl = f.u64("ttl_seconds", &[]);
    if ttl.is_some_and(|t| !TTL.contains(&t)) {
        f.fail("ttl_seconds", "value_error", "must be 60 to 31536000");
    }
    let ttl = f.finish(ttl)?.unwrap_or(DEFAULT_TTL_SECONDS);
    let now = state.clock.now();
    let (token, new) = generate_actor_token(user, now, now.plus_seconds(ttl as i64));
    let record = state
        .store
        .issue_actor_token(&caller.0.tenant, new, &caller.audit())
        .await
        .map_err(ApiError::missing("user"))?;
    Ok(Json(NewActorTokenResponse {
        ok: true,
        token,
        token_id: record.token_id,
        expires_at: record.expires_at,
    }))
}

/// `POST /v1/users/{user_id}/tokens/{token_id}/revoke`: the token stops authenticating at once
/// (idempotent). 403 unless the caller administers the workspace or is that user; 404 for an
/// unknown user or token.
#[utoipa::path(
    post,
    path = "/v1/users/{user_id}/tokens/{token_id}/revoke",
    tag = "actor-tokens",
    params(
        ("user_id" = String, Path, description = "The user's id (UUID)"),
        ("token_id" = String, Path, description = "The actor token's id (UUID)"),
    ),
    responses((status = 200, body = ActorTokenResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    PathParams((user, token)): PathParams<(String, String)>,
) -> ApiResult<Json<ActorTokenResponse>> {
    let user = user_id(&user)?;
    let itself = matches!(caller.0.actor, Actor::User { id, .. } if id == user);
    if !itself {
        caller.require_workspace_admin()?;
    }
    let token: ActorTokenId = token.parse().map_err(|_| ApiError::not_found("actor token"))?;
    let actor_token = state
        .store
        .revoke_actor_token(&caller.0.tenant, user, token, state.clock.now(), &caller.audit())
        .await
        .map_err(ApiError::missing("actor token"))?;
    Ok(Json(ActorTokenResponse { ok: true, actor_token }))
}

/// `GET /v1/me`: `{ok, actor: {type, id, owner_agent, roles, workspace_id, org_id}}`, the
/// service account (API key) or person (actor token) calling.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "actor-tokens",
    responses((status = 200, body = MeResponse)),
    extensions(("x-axp-extension" = json!(true))),
)]
async fn me(caller: Caller) -> ApiResult<Json<MeResponse>> {
    let p = caller.0;
    let kind = match p.actor {
        Actor::ServiceAccount { .. } => ActorKind::ServiceAccount,
        Actor::User { .. } => ActorKind::User,
    };
    Ok(Json(MeResponse {
        ok: true,
        actor: Me {
            kind,
            id: p.actor.id(),
            owner_agent: p.agent_address.to_string(),
            roles: p.roles.iter().collect(),
            workspace_id: p.tenant.workspace_id,
            org_id: p.tenant.org_id,
        },
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(issue_token, revoke_token, me))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/users/{user_id}/tokens", post(issue_token))
        .route("/v1/users/{user_id}/tokens/{token_id}/revoke", post(revoke_token))
        .route("/v1/me", get(me))
}
