//! Request and response bodies of the REST API, shared by the server and `axp-client`.
//!
//! Every success body carries `"ok": true` (contract §1.3). Intents travel as JSON objects
//! ([`Intent::to_wire`](crate::Intent::to_wire)) so the wire form has the derived fields; the
//! client reads them back into [`Intent`](crate::Intent), which ignores the extras.
//!
//! Bodies the SDK reads from servers of other versions are tolerant: their optional fields
//! default, and some keep every field they do not name in an `extra` map.
//!
//! The types live in files by family (intents, agents and service accounts, scenarios, the
//! inbox and approvals, webhooks and deliveries, organizations and members, the directory of
//! principals and aliases, access requests, the audit log, users and invites) and are all
//! re-exported here, so each is `axp_core::api::X`.

use serde::{Deserialize, Serialize};

mod access_requests;
mod admin;
mod agents;
mod audit;
mod directory;
mod inbox;
mod intent_list;
mod intents;
mod invites;
mod media;
mod members;
mod organizations;
mod routing;
mod scenarios;
mod users;
mod webhooks;

pub use access_requests::{
    AccessRequest, AccessRequestResponse, CreateAccessRequest, ListAccessRequestsResponse,
    ReviewAccessRequest,
};
pub use admin::StoreStats;
pub use agents::{
    Agent, AgentDelivery, AgentResponse, ApiKey, ApiKeyResponse, ClaimIntentsResponse,
    CreateServiceAccountRequest, DeliveryBinding, ListAgentsResponse, ServiceAccount, ServiceAccountResponse,
};
pub use audit::{
    AuditActor, AuditActorType, AuditEntry, AuditQuery, AuditTarget, ListAuditResponse, actions,
};
pub use directory::{
    Alias, AliasResolution, AliasResponse, BindAliasRequest, CreatePrincipalRequest, DirectoryPrincipal,
    ListAliasesResponse, PrincipalResponse, ResolveAliasResponse, ResolvedPrincipal,
};
pub use inbox::{
    ApprovalResponse, Decision, DeleteMessagesRequest, DeleteMode, DeletedMessages, InboxChanges,
    ListTasksResponse, ListThreadsResponse, OpenTask, ThreadChange, ThreadResponse,
};
pub use intent_list::{IntentCursor, IntentPosition, ListIntentsQuery, SortOrder};
pub use intents::{
    BulkCancelRequest, BulkCancelResponse, CreateIntentRequest, CreateIntentResponse, EventsResponse,
    IntentResponse, ListIntentsResponse, MutationResponse,
};
pub use invites::{
    AcceptInviteRequest, AcceptInviteResponse, CreateInviteRequest, CreateInviteResponse, Invite,
    InviteResponse, InviteStatus,
};
pub use media::{
    CreateUploadRequest, CreateUploadResponse, DeletedUpload, FinalizeUploadRequest, FinalizeUploadResponse,
    MediaResponse, MediaView, UploadBytesResponse,
};
pub use members::{ListMembersResponse, Member, MemberResponse};
pub use organizations::{
    AddMemberRequest, CreateOrganizationRequest, CreateWorkspaceRequest, ListWorkspacesResponse,
    Organization, OrganizationDetail, OrganizationDetailResponse, OrganizationResponse, RemovedMember,
    UpdateMemberRequest, UpdateOrganizationRequest, UpdateWorkspaceRequest, Workspace, WorkspaceResponse,
};
pub use routing::{
    ListRoutedDeliveriesResponse, ListRoutesResponse, ListTransportBindingsResponse, RemoveRouteResponse,
    RemoveTransportBindingResponse, RemovedRoute, RemovedTransportBinding, ResolveRouteResponse,
    RouteResolution, RouteResponse, RoutedDeliveryResponse, TransportBindingResponse,
};
pub use scenarios::{ApplyScenarioResponse, ProvisionedAgent, ValidateScenarioResponse};
pub use users::{
    ActorKind, ActorToken, ActorTokenResponse, CheckNickResponse, Me, MeResponse, NewActorTokenResponse,
    NickedUser, ProfileResponse, RegisterNickRequest, RegisterNickResponse, RenameNickResponse,
    ResolveNickResponse, UpdateUserRequest, User,
};
pub use webhooks::{
    DeliveryResponse, ListDeliveriesResponse, ListSubscriptionsResponse, RevokedSubscription,
    SubscriptionRequest, SubscriptionResponse, WebhookEventReceipt,
};

/// The default of `ok` in envelopes the SDK reads: a 2xx body is a success even without it.
fn yes() -> bool {
    true
}

/// `GET /health` (§1.9).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// Always true.
    pub ok: bool,
    /// `axp`.
    pub service: String,
    /// The server's version.
    pub version: String,
    /// `dev`.
    pub deployment_profile: String,
}

/// Response of `GET /v1/capabilities` (§5.3): what the server supports.
///
/// ```
/// let caps: axp_core::api::Capabilities = serde_json::from_value(serde_json::json!({
///     "ok": true, "capabilities": ["intents", "inbox"], "supported_intent_types": ["intent.ask.v1"]
/// }))?;
/// assert!(caps.supports("inbox"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capabilities {
    /// Feature families: `intents`, `inbox`, `approvals`, `webhooks`, `scenarios`, `agents`, …
    pub capabilities: Vec<String>,
    /// Intent types the server knows (built-in, and those registered by applied scenarios), each
    /// `intent.<…>.v1`.
    pub supported_intent_types: Vec<String>,
}

impl Capabilities {
    /// Whether `capability` is listed.
    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}
