//! A workspace's directory: principals and the aliases bound to them (contract §6 "Principals,
//! aliases", `api.principals.*.v1.json`, `api.aliases.*.v1.json`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::yes;
use crate::Timestamp;
use crate::ids::{AliasId, OrgId, PrincipalId, WorkspaceId};
use crate::tenancy::{AliasStatus, AliasType, PrincipalStatus, PrincipalType};

/// A principal of a workspace's directory (`api.principals.create.response.v1.json`): a person,
/// a service agent or a service account that aliases name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryPrincipal {
    /// Its id.
    pub principal_id: PrincipalId,
    /// Its organization.
    pub org_id: OrgId,
    /// Its workspace.
    pub workspace_id: WorkspaceId,
    /// What it stands for.
    pub principal_type: PrincipalType,
    /// Display name, 1 to 255 characters.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Where it stands.
    pub status: PrincipalStatus,
    /// Free-form metadata (default `{}`).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// `{"ok": true, "principal": {…}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PrincipalResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The principal.
    pub principal: DirectoryPrincipal,
}

/// Body of `POST /v1/principals` (`api.principals.create.request.v1.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatePrincipalRequest {
    /// The organization.
    pub org_id: OrgId,
    /// The workspace whose directory it joins.
    pub workspace_id: WorkspaceId,
    /// What it stands for.
    pub principal_type: PrincipalType,
    /// Display name, 1 to 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// An alias bound to a principal (`$defs.alias` of `api.aliases.*.response.v1.json`). Among the
/// active aliases of a workspace, each name is bound once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alias {
    /// Its id.
    pub alias_id: AliasId,
    /// The principal it names.
    pub principal_id: PrincipalId,
    /// The principal's organization.
    pub org_id: OrgId,
    /// The principal's workspace.
    pub workspace_id: WorkspaceId,
    /// The name, 3 to 255 characters.
    pub alias: String,
    /// What it is used for.
    pub alias_type: AliasType,
    /// Active (resolves) or revoked.
    pub status: AliasStatus,
    /// Free-form metadata (default `{}`).
    #[serde(default)]
    pub metadata: Map<String, Value>,
    /// When it was bound.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When it was revoked; `null` while active.
    pub revoked_at: Option<Timestamp>,
}

/// `{"ok": true, "alias": {…}}`: the answer to a bind or a revoke.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The alias.
    pub alias: Alias,
}

/// `{"ok": true, "aliases": […]}`, oldest first, revoked ones included.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ListAliasesResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The aliases.
    pub aliases: Vec<Alias>,
}

/// Body of `POST /v1/aliases` (`api.aliases.bind.request.v1.json`): the alias joins the
/// principal's workspace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BindAliasRequest {
    /// The principal it names.
    pub principal_id: PrincipalId,
    /// The name, 3 to 255 characters.
    pub alias: String,
    /// What it is used for.
    pub alias_type: AliasType,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

/// The principal an alias resolves to, as `api.aliases.resolve.response.v1.json` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolvedPrincipal {
    /// Its id.
    pub principal_id: PrincipalId,
    /// What it stands for.
    pub principal_type: PrincipalType,
    /// Display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Where it stands.
    pub status: PrincipalStatus,
}

impl From<&DirectoryPrincipal> for ResolvedPrincipal {
    fn from(p: &DirectoryPrincipal) -> Self {
        Self {
            principal_id: p.principal_id,
            principal_type: p.principal_type,
            display_name: p.display_name.clone(),
            status: p.status,
        }
    }
}

/// What an alias resolves to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AliasResolution {
    /// The active alias.
    pub alias: Alias,
    /// Its principal.
    pub principal: ResolvedPrincipal,
}

/// `{"ok": true, "resolution": {"alias": {…}, "principal": {…}}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolveAliasResponse {
    /// Always `true`.
    #[serde(default = "yes")]
    pub ok: bool,
    /// The alias and its principal.
    pub resolution: AliasResolution,
}
