//! Invites (contract §6 "Invites", `api.invites.*.v1.json`): an owner invites a person, who
//! accepts by choosing a nick and becomes a user of the owner's workspace.

use serde::{Deserialize, Serialize};

use super::yes;
use crate::ids::{ActorTokenId, UserId};
use crate::time::Timestamp;

/// Where an invite stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InviteStatus {
    /// Open until `expires_at`.
    Pending,
    /// A person accepted it.
    Accepted,
    /// Not accepted before `expires_at`.
    Expired,
}

/// An invite as stored: everything but its token (kept as a SHA-256 hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invite {
    /// Who invites: the owner the new user is invited by.
    pub owner_agent: String,
    /// Free text naming the invited person.
    pub recipient_hint: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it stops being acceptable.
    pub expires_at: Timestamp,
    /// When it was accepted.
    pub accepted_at: Option<Timestamp>,
    /// The user who accepted it: `agent://user/<user_id>`.
    pub accepted_owner_agent: Option<String>,
    /// That user's `@<nick>` when they accepted.
    pub nick: Option<String>,
    /// That user's `<nick>@ax` when they accepted.
    pub public_address: Option<String>,
}

impl Invite {
    /// Its status at `now`: accepted once accepted, else expired from `expires_at` on.
    pub fn status_at(&self, now: Timestamp) -> InviteStatus {
        if self.accepted_at.is_some() {
            InviteStatus::Accepted
        } else if now >= self.expires_at {
            InviteStatus::Expired
        } else {
            InviteStatus::Pending
        }
    }
}

/// Body of `POST /v1/invites/create` (`api.invites.create.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInviteRequest {
    /// The inviting owner (the caller must act as it).
    pub owner_agent: String,
    /// Free text naming the invited person, 1 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_hint: Option<String>,
    /// How long it stays acceptable: 60 to 1209600 seconds, default 604800 (7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u32>,
}

/// `POST /v1/invites/create` (`api.invites.create.response.v1.json`): the token appears here only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInviteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The invite's secret: `axme_inv_<32 hex>`.
    pub token: String,
    /// `http(s)://<host>/v1/invites/<token>`.
    pub invite_url: String,
    /// The inviting owner.
    pub owner_agent: String,
    /// As given.
    pub recipient_hint: Option<String>,
    /// `pending`.
    pub status: InviteStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it stops being acceptable.
    pub expires_at: Timestamp,
}

/// `GET /v1/invites/{token}` (`api.invites.get.response.v1.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The token asked about.
    pub token: String,
    /// The inviting owner.
    pub owner_agent: String,
    /// As given at creation.
    pub recipient_hint: Option<String>,
    /// Where it stands now.
    pub status: InviteStatus,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it stops being acceptable.
    pub expires_at: Timestamp,
    /// When it was accepted.
    pub accepted_at: Option<Timestamp>,
    /// The user who accepted it.
    pub accepted_owner_agent: Option<String>,
    /// That user's nick when they accepted.
    pub nick: Option<String>,
    /// That user's public address when they accepted.
    pub public_address: Option<String>,
}

impl InviteResponse {
    /// The answer for `invite`, known by `token`, at `now`.
    pub fn new(token: String, invite: Invite, now: Timestamp) -> Self {
        Self {
            ok: true,
            token,
            status: invite.status_at(now),
            owner_agent: invite.owner_agent,
            recipient_hint: invite.recipient_hint,
            created_at: invite.created_at,
            expires_at: invite.expires_at,
            accepted_at: invite.accepted_at,
            accepted_owner_agent: invite.accepted_owner_agent,
            nick: invite.nick,
            public_address: invite.public_address,
        }
    }
}

/// Body of `POST /v1/invites/{token}/accept` (`api.invites.accept.request.v1.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptInviteRequest {
    /// The nick the new user takes.
    pub nick: String,
    /// 1 to 120 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// `POST /v1/invites/{token}/accept` (`api.invites.accept.response.v1.json`) plus the axp
/// extension `actor_token`, `actor_token_id` and `actor_token_expires_at`: the new person's
/// credential, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AcceptInviteResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The invite's token.
    pub token: String,
    /// `accepted`.
    pub status: InviteStatus,
    /// Who invited.
    pub invite_owner_agent: String,
    /// The new user.
    pub user_id: UserId,
    /// `agent://user/<user_id>`.
    pub owner_agent: String,
    /// `@<nick>`.
    pub nick: String,
    /// `<nick>@ax`.
    pub public_address: String,
    /// As given.
    pub display_name: Option<String>,
    /// When it was accepted.
    pub accepted_at: Timestamp,
    /// `disabled`: a self-hosted server propagates to no registry.
    pub registry_bind_status: String,
    /// axp extension: `axme_at_<64 hex>`, the new user's actor token.
    pub actor_token: String,
    /// axp extension: its id, to revoke it.
    pub actor_token_id: ActorTokenId,
    /// axp extension: when it stops authenticating.
    pub actor_token_expires_at: Timestamp,
}
