//! Invites (contract §6 "Invites", `api.invites.*.v1.json`): an owner invites a person, who
//! accepts with a nick and becomes a user of the owner's workspace, with an actor token (an axp
//! extension of the accept response). Tokens are stored as SHA-256 hashes, shown once at
//! creation; expiry is checked against the server clock.
//!
//! Access (`docs/access.md`, "people"): creating needs to act as the inviting owner; reading
//! an invite is open to every caller of its workspace (the token is the capability); accepting
//! needs a writer.

use axp_core::ErrorCode;
use axp_core::api::{
    AcceptInviteRequest, AcceptInviteResponse, CreateInviteRequest, CreateInviteResponse, Invite,
    InviteResponse, InviteStatus, User,
};
use axp_core::ids::UserId;
use axp_core::users::Nick;
use axp_core::validate::Fields;
use axp_store::{InviteAcceptance, KeyHash, generate_actor_token, generate_invite_token};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::actor_tokens::DEFAULT_TTL_SECONDS;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Caller, JsonObject, PathParams};
use crate::state::AppState;

/// How long an invite stays acceptable unless `ttl_seconds` says otherwise: 7 days.
pub(crate) const DEFAULT_INVITE_TTL_SECONDS: u64 = 7 * 24 * 3600;

/// `ttl_seconds` bounds of `api.invites.create.request.v1.json`.
const INVITE_TTL: std::ops::RangeInclusive<u64> = 60..=1_209_600;

/// `http(s)://<host>/v1/invites/<token>`, from the request's `Host` (and `x-forwarded-proto`).
fn invite_url(headers: &HeaderMap, token: &str) -> String {
    format!("{}/v1/invites/{token}", super::media::public_base(headers))
}

/// `POST /v1/invites/create` `{owner_agent, recipient_hint?, ttl_seconds?}`: a pending invite;
/// its token appears in this response only. 403 unless the caller acts as `owner_agent`; 422
/// for an invalid field (`ttl_seconds` 60 to 1209600, default 604800).
#[utoipa::path(
    post,
    path = "/v1/invites/create",
    tag = "invites",
    request_body = CreateInviteRequest,
    responses((status = 200, body = CreateInviteResponse)),
)]
async fn create_invite(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<CreateInviteResponse>> {
    let mut f = Fields::new(&body);
    let scope = caller.0.tenant.scope();
    let owner = f.bounded_string("owner_agent", &[], true, 3, 255);
    let owner = owner.and_then(|raw| match axp_core::AgentAddress::parse(&raw, &scope) {
        Ok(a) => Some(a.into_string()),
        Err(e) => {
            f.fail("owner_agent", "invalid_agent_address", e.to_string());
            None
        }
    });
    let recipient_hint = f.bounded_string("recipient_hint", &[], false, 1, 255);
    let ttl = f.u64("ttl_seconds", &[]);
    if ttl.is_some_and(|t| !INVITE_TTL.contains(&t)) {
        f.fail("ttl_seconds", "value_error", "must be 60 to 1209600");
    }
    let owner = f.finish(owner)?.ok_or_else(|| ApiError::bad_request("owner_agent is required"))?;
    caller.require_act_as(&owner)?;
    let now = state.clock.now();
    let ttl = ttl.unwrap_or(DEFAULT_INVITE_TTL_SECONDS);
    let invite = Invite {
        owner_agent: owner,
        recipient_hint,
        created_at: now,
        expires_at: now.plus_seconds(ttl as i64),
        accepted_at: None,
        accepted_owner_agent: None,
        nick: None,
        public_address: None,
    };
    let (token, hash) = generate_invite_token();
    let invite = state.store.create_invite(&caller.0.tenant, hash, invite).await?;
    Ok(Json(CreateInviteResponse {
        ok: true,
        invite_url: invite_url(&headers, &token),
        token,
        owner_agent: invite.owner_agent,
        recipient_hint: invite.recipient_hint,
        status: InviteStatus::Pending,
        created_at: invite.created_at,
        expires_at: invite.expires_at,
    }))
}

/// `GET /v1/invites/{token}`: the invite and where it stands now (`pending`, `accepted`,
/// `expired`). 404 for a token unknown in the caller's workspace.
#[utoipa::path(
    get,
    path = "/v1/invites/{token}",
    tag = "invites",
    params(("token" = String, Path, description = "The invite token (shown once at creation)")),
    responses((status = 200, body = InviteResponse)),
)]
async fn get_invite(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(token): PathParams<String>,
) -> ApiResult<Json<InviteResponse>> {
    let invite = state
        .store
        .get_invite(&caller.0.tenant, KeyHash::of(&token))
        .await
        .map_err(ApiError::missing("invite"))?;
    Ok(Json(InviteResponse::new(token, invite, state.clock.now())))
}

/// `POST /v1/invites/{token}/accept` `{nick, display_name?}`: the invited person becomes a user
/// of the workspace.
///
/// Creates the user (owner `agent://user/<id>`) and its first actor token (axp extension fields `actor_token`,
/// `actor_token_id`, `actor_token_expires_at`; valid 30 days); `registry_bind_status` is
/// `disabled`. 404 unknown token; 409 already accepted or expired (`invalid_state_transition`)
/// or nick taken (`already_exists`); 403 for a read-only caller.
#[utoipa::path(
    post,
    path = "/v1/invites/{token}/accept",
    tag = "invites",
    params(("token" = String, Path, description = "The invite token (shown once at creation)")),
    request_body = AcceptInviteRequest,
    responses((status = 200, body = AcceptInviteResponse)),
)]
async fn accept_invite(
    State(state): State<AppState>,
    caller: Caller,
    PathParams(token): PathParams<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Json<AcceptInviteResponse>> {
    caller.require_writer()?;
    let mut f = Fields::new(&body);
    let nick = f.bounded_string("nick", &[], true, 1, 64).and_then(|raw| match Nick::parse(&raw) {
        Ok(nick) => Some(nick),
        Err(e) => {
            f.fail("nick", "value_error", e.to_string());
            None
        }
    });
    let display_name = f.bounded_string("display_name", &[], false, 1, 120);
    let nick = f.finish(nick)?.ok_or_else(|| ApiError::bad_request("nick is required"))?;
    let now = state.clock.now();
    let mut user = User::new(UserId::new(), &nick, now);
    user.display_name = display_name;
    let expires_at = now.plus_seconds(DEFAULT_TTL_SECONDS as i64);
    let (secret, new_token) = generate_actor_token(user.user_id, now, expires_at);
    let accept = InviteAcceptance { user, token: new_token };
    let (invite, user, actor_token) = state
        .store
        .accept_invite(&caller.0.tenant, KeyHash::of(&token), accept, &caller.audit())
        .await
        .map_err(|e| match e {
            axp_store::Error::NotFound => ApiError::not_found("invite"),
            axp_store::Error::Conflict { constraint } if constraint == "invites.accepted" => {
                ApiError::new(ErrorCode::InvalidStateTransition, "the invite was already accepted")
            }
            axp_store::Error::Conflict { constraint } if constraint == "invites.expired" => {
                ApiError::new(ErrorCode::InvalidStateTransition, "the invite has expired")
            }
            axp_store::Error::Conflict { .. } => {
                ApiError::new(ErrorCode::AlreadyExists, format!("the nick {nick} is taken"))
            }
            other => other.into(),
        })?;
    Ok(Json(AcceptInviteResponse {
        ok: true,
        token,
        status: InviteStatus::Accepted,
        invite_owner_agent: invite.owner_agent,
        user_id: user.user_id,
        owner_agent: user.owner_agent,
        nick: user.nick,
        public_address: user.public_address,
        display_name: user.display_name,
        accepted_at: now,
        registry_bind_status: "disabled".into(),
        actor_token: secret,
        actor_token_id: actor_token.token_id,
        actor_token_expires_at: actor_token.expires_at,
    }))
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(create_invite, get_invite, accept_invite))]
pub(super) struct Doc;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/invites/create", post(create_invite))
        .route("/v1/invites/{token}", get(get_invite))
        .route("/v1/invites/{token}/accept", post(accept_invite))
}
