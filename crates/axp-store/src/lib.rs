//! Storage for axp, in two layers:
//!
//! - [`tables`]: one trait per aggregate (intents and events, agent queue, timers, deliveries,
//!   webhooks, inbox, idempotency, accounts, memberships, organizations, the directory of
//!   principals and aliases, access requests), which a backend implements with SQL and row
//!   mapping only, and [`Backend`], which runs [`Job`]s in its transactions. The backends are
//!   `axp-store-sqlite` and `axp-store-postgres`.
//! - [`Store`]: everything the server asks of storage, as aggregate-level operations, each one
//!   unit of work that commits atomically or not at all: creating an intent writes the intent,
//!   its first events, its agent-queue row and its idempotency record in one transaction. It is
//!   implemented once, by `axp_engine::Ledger`, over a [`Backend`]: the write rules live there,
//!   never in a backend.
//!   Its larger areas are supertraits of their own ([`RoutingStore`], [`RetentionStore`],
//!   [`UiSessionStore`], [`MeshStore`], [`DeliveryStore`], [`WebhookStore`]), one module each.
//!
//! Every row carries a `workspace_id` and every method takes the caller's [`Tenant`]: there is no
//! way to read another workspace's data through this trait. An id of another workspace is
//! [`Error::NotFound`]. The exceptions are the tenancy methods (contract §6): organizations,
//! their workspaces and memberships are keyed by organization, and a few lookups find an object
//! by id alone ([`Store::find_service_account`], [`Store::get_principal`], [`Store::get_alias`],
//! [`Store::get_access_request`], [`Store::workspace_tenant`]) so the server can check the
//! caller's access to the workspace the object names before it uses it.
//!
//! After a commit, a backend tells its [`CommitListener`] which [`Topic`]s changed, so SSE streams
//! wake up. Readers always re-read by cursor, so a lost wake-up delays and never loses an event.
//!
//! With the `test-suite` feature, [`conformance`] holds the behaviour every backend must show.

mod audit;
mod auth;
mod body_codec;
mod cache;
#[cfg(feature = "test-suite")]
pub mod conformance;
mod deliveries;
mod error;
mod event_rows;
mod maintenance;
mod media;
mod mesh;
pub mod metrics;
mod principals;
mod retention;
mod routing;
pub mod tables;
mod tenancy;
mod types;
mod ui_sessions;
mod webhooks;

use async_trait::async_trait;
use axp_core::api::{ActorToken, AgentDelivery, ApplyScenarioResponse, Invite, User};
use axp_core::ids::{
    AccessRequestId, ActorTokenId, AliasId, ApiKeyId, ApprovalId, IntentId, MemberId, OrgId, PrincipalId,
    ServiceAccountId, UploadId, UserId, WorkspaceId,
};
use axp_core::inbox::{Approval, Thread, ThreadAction, ThreadStatus};
use axp_core::lifecycle::Request;
use axp_core::media::{MediaConflict, MediaUpload, StoredBytes};
use axp_core::users::Nick;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};

pub use audit::{Audit, AuditFilter};
pub use auth::{
    KeyHash, NewActorToken, NewApiKey, generate_actor_token, generate_api_key, generate_invite_token,
    generate_ui_secret,
};
pub use body_codec::{pack_intent, unpack_intent};
pub use cache::InvalidatedCache;
pub use deliveries::DeliveryStore;
pub use error::{Error, Result};
pub use event_rows::{EventRow, pack_events, unpack_events};
pub use maintenance::{Maintenance, Snapshot};
pub use media::{ByteStream, MediaBlobs, MeterReading, Metered, UploadRefused};
pub use mesh::MeshStore;
pub use principals::PrincipalCache;
pub use retention::{PruneStep, RetentionStore};
pub use routing::RoutingStore;
pub use tables::{Backend, Job, Transaction};
pub use tenancy::*;
pub use types::*;
pub use ui_sessions::{UiSecret, UiSecretKind, UiSessionStore};
pub use webhooks::WebhookStore;

/// Everything the server asks of storage. Object-safe: the server holds an `Arc<dyn Store>`;
/// `axp_engine::Ledger` implements it over any [`Backend`], and the conformance suite
/// (feature `test-suite`) checks it on each backend.
#[async_trait]
pub trait Store:
    RoutingStore
    + RetentionStore
    + UiSessionStore
    + MeshStore
    + DeliveryStore
    + WebhookStore
    + Send
    + Sync
    + 'static
{
    /// On an empty store, creates the first organization, workspace and admin service account
    /// with `spec.key`, and returns the admin principal. On a store that has any organization,
    /// does nothing and returns `None`. Safe to call on every start.
    async fn bootstrap(&self, spec: TenantSpec) -> Result<Option<Principal>>;

    /// Whether any organization exists (false on a new or emptied database).
    async fn has_tenant(&self) -> Result<bool>;

    /// Why the store is faulted, once a call met [`Error::Corrupt`]: sticky until restart.
    /// `/ready` answers 503 while it is `Some`.
    fn fault(&self) -> Option<String>;

    /// The backend's operator maintenance: backups and stats ([`Maintenance`]).
    fn maintenance(&self) -> &dyn Maintenance;

    /// Creates an organization (or reuses the one with `spec.org_slug`), a workspace in it and its
    /// admin service account with `spec.key`. Errors: [`Error::Conflict`] if the workspace exists.
    async fn create_tenant(&self, spec: TenantSpec) -> Result<Principal>;

    /// The principal owning an active, unexpired API key with this hash (a service account), or
    /// else an unrevoked, unexpired actor token with it (a person, with the roles of their
    /// memberships), if any.
    async fn authenticate(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<Principal>>;

    /// Creates a service account, audited (`service_account.created`). Errors:
    /// [`Error::Conflict`] when its name or agent address is taken in the workspace.
    async fn create_service_account(
        &self,
        tenant: &Tenant,
        account: NewServiceAccount,
        by: &Audit,
    ) -> Result<ServiceAccountRecord>;

    /// One service account. Errors: [`Error::NotFound`].
    async fn get_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
    ) -> Result<ServiceAccountRecord>;

    /// The service account whose agent address is `address`, if any.
    async fn find_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
    ) -> Result<Option<ServiceAccountRecord>>;

    /// Deletes a service account: its status becomes `deleted` and every key it has is revoked
    /// at `now` (keys stop authenticating at once). Idempotent; the first deletion is audited
    /// (`service_account.deleted`). Errors: [`Error::NotFound`].
    async fn delete_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord>;

    /// Adds a key to a service account, audited (`api_key.created`). Errors:
    /// [`Error::NotFound`] for an unknown account.
    async fn create_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: NewApiKey,
        by: &Audit,
    ) -> Result<ApiKeyRecord>;

    /// Revokes a key (idempotent: revoking twice keeps the first `revoked_at`); the first
    /// revocation is audited (`api_key.revoked`). Errors: [`Error::NotFound`].
    async fn revoke_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ApiKeyRecord>;

    /// Adds an active membership: `actor_id` gets `role` in organization `org`, or only in its
    /// workspace `ws`; audited (`member.added`). Errors: [`Error::NotFound`] when `ws` is not
    /// `org`'s; [`Error::Conflict`] when the actor already has a membership there.
    async fn add_member(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        actor_id: &str,
        role: axp_core::access::Role,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Member>;

    /// Changes a membership's role or status, audited (`member.updated`). Errors:
    /// [`Error::NotFound`]; [`Error::Conflict`] with [`LAST_ORG_OWNER`] when it would leave the
    /// organization without an active owner.
    async fn update_member(
        &self,
        org: OrgId,
        id: MemberId,
        update: MemberUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Member>;

    /// Removes a membership and returns it, audited (`member.removed`, at `now`). Errors:
    /// [`Error::NotFound`]; [`Error::Conflict`] with [`LAST_ORG_OWNER`] when it is the
    /// organization's last active owner.
    async fn remove_member(
        &self,
        org: OrgId,
        id: MemberId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Member>;

    /// One membership. Errors: [`Error::NotFound`].
    async fn get_member(&self, org: OrgId, id: MemberId) -> Result<axp_core::api::Member>;

    /// The memberships of `org` (with `ws`: that workspace's and the organization-wide ones),
    /// oldest first, at most `limit`.
    async fn list_members(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        limit: u32,
    ) -> Result<Vec<axp_core::api::Member>>;

    /// Grants (`granted`) or withdraws service account `account` the agent address `address`;
    /// returns its grants after the change. A change is audited (`address_grant.added` /
    /// `address_grant.removed`, at `now`). Errors: [`Error::NotFound`] for an unknown account.
    async fn set_grant(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        address: &str,
        granted: bool,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Vec<String>>;

    /// The entries of an organization's audit log matching `filter`, newest first, at most
    /// `filter.limit`, and whether older ones match too. A page read below a cursor never
    /// changes (see [`tables::AuditTable`]).
    async fn list_audit(&self, filter: &AuditFilter) -> Result<(Vec<axp_core::api::AuditEntry>, bool)>;

    /// Records that `by` took a backup of the whole server ([`Maintenance::snapshot`]) at `now`:
    /// `backup.taken` in `tenant`'s workspace, with `details` (what the backup holds, never a
    /// secret).
    async fn audit_backup(
        &self,
        tenant: &Tenant,
        details: serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<()>;

    /// Creates an organization whose slug is derived from its name (with a `-2`, `-3`, …
    /// suffix when taken) and makes `owner` (an actor id) its `org_owner` through an
    /// organization-wide membership (contract §6 "Organizations").
    async fn create_organization(
        &self,
        owner: &str,
        org: NewOrganization,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Organization>;

    /// One organization with its workspace and membership counts. Errors: [`Error::NotFound`].
    async fn get_organization(&self, org: OrgId) -> Result<axp_core::api::OrganizationDetail>;

    /// Changes an organization. Errors: [`Error::NotFound`].
    async fn update_organization(
        &self,
        org: OrgId,
        update: OrganizationUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Organization>;

    /// Creates a workspace of `org` whose slug is derived from its name (unique in `org`, with a
    /// suffix when taken). Errors: [`Error::NotFound`] for an unknown organization.
    async fn create_workspace(
        &self,
        org: OrgId,
        workspace: NewWorkspace,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Workspace>;

    /// The workspaces of `org`, oldest first.
    async fn list_workspaces(&self, org: OrgId) -> Result<Vec<axp_core::api::Workspace>>;

    /// Changes a workspace of `org`. Errors: [`Error::NotFound`].
    async fn update_workspace(
        &self,
        org: OrgId,
        ws: WorkspaceId,
        update: WorkspaceUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::Workspace>;

    /// The tenant (ids and slugs) of workspace `ws`, whichever organization it is in: for an org
    /// admin acting in another workspace of its organization, once the server checked that it
    /// may. Errors: [`Error::NotFound`].
    async fn workspace_tenant(&self, ws: WorkspaceId) -> Result<Tenant>;

    /// The service account `id`, whichever workspace it is in (its record names it): the
    /// server checks the caller's access to that workspace before using it. Errors:
    /// [`Error::NotFound`].
    async fn find_service_account(&self, id: ServiceAccountId) -> Result<ServiceAccountRecord>;

    /// Every membership of `actor_id` in `org` (any status, organization-wide or of one
    /// workspace): what the caller may do there.
    async fn memberships_of(&self, org: OrgId, actor_id: &str) -> Result<Vec<axp_core::api::Member>>;

    /// Adds a principal to `tenant`'s directory (contract §6 "Principals, aliases").
    async fn create_principal(
        &self,
        tenant: &Tenant,
        principal: NewPrincipal,
        now: Timestamp,
    ) -> Result<axp_core::api::DirectoryPrincipal>;

    /// One principal, whichever workspace it is in (its record names it). Errors:
    /// [`Error::NotFound`].
    async fn get_principal(&self, id: PrincipalId) -> Result<axp_core::api::DirectoryPrincipal>;

    /// Binds an alias to principal `principal`, in its workspace. Errors: [`Error::NotFound`]
    /// for an unknown principal; [`Error::Conflict`] when an active alias of the workspace has
    /// the name.
    async fn bind_alias(
        &self,
        principal: PrincipalId,
        alias: NewAlias,
        now: Timestamp,
    ) -> Result<axp_core::api::Alias>;

    /// One alias, whichever workspace it is in. Errors: [`Error::NotFound`].
    async fn get_alias(&self, id: AliasId) -> Result<axp_core::api::Alias>;

    /// Revokes an alias: it resolves no more and its name is free again. Idempotent (a second
    /// revoke keeps the first `revoked_at`). Errors: [`Error::NotFound`].
    async fn revoke_alias(&self, id: AliasId, now: Timestamp) -> Result<axp_core::api::Alias>;

    /// The aliases of workspace `ws`, revoked ones included, oldest first, at most `limit`.
    async fn list_aliases(&self, ws: WorkspaceId, limit: u32) -> Result<Vec<axp_core::api::Alias>>;

    /// The active alias `name` of workspace `ws` and its principal. Errors: [`Error::NotFound`]
    /// (also for a revoked alias).
    async fn resolve_alias(&self, ws: WorkspaceId, name: &str) -> Result<axp_core::api::AliasResolution>;

    /// Records a pending access request (contract §6 "Access requests"). Errors:
    /// [`Error::NotFound`] when its organization, or its workspace in it, does not exist.
    async fn create_access_request(
        &self,
        request: NewAccessRequest,
        now: Timestamp,
    ) -> Result<axp_core::api::AccessRequest>;

    /// One access request. Errors: [`Error::NotFound`].
    async fn get_access_request(&self, id: AccessRequestId) -> Result<axp_core::api::AccessRequest>;

    /// The access requests matching `filter`, newest first.
    async fn list_access_requests(
        &self,
        filter: AccessRequestFilter,
    ) -> Result<Vec<axp_core::api::AccessRequest>>;

    /// Reviews an access request; approving a `join_organization` or `elevated_role` request
    /// gives its requester the role asked for ([`granted_role`]) in its organization (or its
    /// workspace) in the same transaction, as a new active membership or by changing the one
    /// they hold there. Errors: [`Error::NotFound`]; [`Error::Conflict`] with
    /// [`ALREADY_REVIEWED`] when it was reviewed before (nothing written).
    async fn review_access_request(
        &self,
        id: AccessRequestId,
        review: Review,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::api::AccessRequest>;

    /// Registers `user` in the workspace. Errors: [`Error::Conflict`] when its nick is taken.
    async fn register_user(&self, tenant: &Tenant, user: User) -> Result<User>;

    /// One user. Errors: [`Error::NotFound`].
    async fn get_user(&self, tenant: &Tenant, id: UserId) -> Result<User>;

    /// The user with this nick, if any.
    async fn find_user_by_nick(&self, tenant: &Tenant, nick: &Nick) -> Result<Option<User>>;

    /// Changes a user's nick and profile at `now`. Errors: [`Error::NotFound`];
    /// [`Error::Conflict`] when the new nick is another user's.
    async fn update_user(
        &self,
        tenant: &Tenant,
        id: UserId,
        update: UserUpdate,
        now: Timestamp,
    ) -> Result<User>;

    /// Stores an invite known by the hash of its token.
    async fn create_invite(&self, tenant: &Tenant, hash: KeyHash, invite: Invite) -> Result<Invite>;

    /// The invite with this token hash. Errors: [`Error::NotFound`].
    async fn get_invite(&self, tenant: &Tenant, hash: KeyHash) -> Result<Invite>;

    /// Accepts an invite at `accept.user.created_at`: registers the user, issues its actor
    /// token and records the acceptance, in one transaction. Errors: [`Error::NotFound`];
    /// [`Error::Conflict`] with constraint `invites.accepted` or `invites.expired` when it is
    /// no longer pending, or another when the nick is taken (nothing written).
    async fn accept_invite(
        &self,
        tenant: &Tenant,
        hash: KeyHash,
        accept: InviteAcceptance,
        by: &Audit,
    ) -> Result<(Invite, User, ActorToken)>;

    /// Stores a new pending upload and schedules its expiry at `upload.expires_at` (a durable
    /// timer, [`axp_core::timer::TimerKind::MediaExpiry`]).
    async fn create_upload(&self, tenant: &Tenant, upload: MediaUpload) -> Result<MediaUpload>;

    /// One upload. Errors: [`Error::NotFound`].
    async fn get_upload(&self, tenant: &Tenant, id: UploadId) -> Result<MediaUpload>;

    /// Whether an intent to one of `agents` referenced upload `id` (its sender owning it), so
    /// they may read it (see [`axp_core::media`]).
    async fn upload_readable_by(&self, tenant: &Tenant, id: UploadId, agents: Vec<String>) -> Result<bool>;

    /// The declared bytes of the workspace's uploads that have not expired.
    async fn media_bytes_stored(&self, tenant: &Tenant) -> Result<u64>;

    /// Streams `body` into the bytes of pending upload `id`, counted, hashed and stopped past
    /// `limit` bytes ([`Metered`]), then records them on the upload. Refused (nothing kept):
    /// past `limit`, or when the upload is no longer pending or its declared `sha256` differs.
    /// Errors: [`Error::NotFound`]; [`Error::Unavailable`] when the body or the storage fails.
    async fn put_upload_bytes(
        &self,
        tenant: &Tenant,
        id: UploadId,
        body: ByteStream,
        limit: u64,
    ) -> Result<std::result::Result<StoredBytes, UploadRefused>>;

    /// Finalizes upload `id` ([`MediaUpload::finalize`]) and drops its expiry timer; a refused
    /// finalize writes nothing. Errors: [`Error::NotFound`].
    async fn finalize_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        size_bytes: u64,
        sha256: Option<String>,
        now: Timestamp,
    ) -> Result<std::result::Result<MediaUpload, MediaConflict>>;

    /// The bytes of upload `id`, streamed; `None` when none were received or they are gone.
    async fn open_upload_bytes(&self, tenant: &Tenant, id: UploadId) -> Result<Option<ByteStream>>;

    /// Deletes upload `id`, audited (`media.deleted`), then its bytes. Returns what was
    /// deleted. Errors: [`Error::NotFound`].
    async fn delete_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<MediaUpload>;

    /// Issues an actor token to its user. Errors: [`Error::NotFound`] for an unknown user.
    async fn issue_actor_token(
        &self,
        tenant: &Tenant,
        token: NewActorToken,
        by: &Audit,
    ) -> Result<ActorToken>;

    /// Revokes `user`'s token `id` at `now`: it stops authenticating at once (idempotent:
    /// revoking twice keeps the first `revoked_at`). Errors: [`Error::NotFound`].
    async fn revoke_actor_token(
        &self,
        tenant: &Tenant,
        user: UserId,
        id: ActorTokenId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ActorToken>;

    /// Creates an intent with its first events (from [`axp_core::intent::NewIntent::into_intent`])
    /// and queues it for `to_agent` unless it waits for a person.
    ///
    /// With `idempotency`, a live record for the same key and fingerprint replays the stored
    /// response and writes nothing; one with another fingerprint is [`Error::IdempotencyConflict`].
    async fn create_intent(
        &self,
        tenant: &Tenant,
        intent: Intent,
        events: Vec<IntentEvent>,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created>;

    /// Applies a compiled scenario atomically: creates the missing agents (each audited as
    /// `service_account.created` and `api_key.created`), then the intent as
    /// [`Store::create_intent`] does. Idempotency as there.
    async fn apply_scenario(
        &self,
        tenant: &Tenant,
        write: ScenarioWrite,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Created<ApplyScenarioResponse>>;

    /// One intent. Errors: [`Error::NotFound`] (also for another workspace's id).
    async fn get_intent(&self, tenant: &Tenant, id: IntentId) -> Result<Intent>;

    /// The first `filter.limit` intents of the workspace that match `filter`, in
    /// `filter.order` by `(created_at, intent_id)`, starting after `filter.start_after`.
    async fn list_intents(&self, tenant: &Tenant, filter: &IntentFilter) -> Result<Vec<Intent>>;

    /// Events with `seq > since`, ascending, at most `limit`. Errors: [`Error::NotFound`] for an
    /// unknown intent (an intent with no newer events gives an empty list).
    async fn events_since(
        &self,
        tenant: &Tenant,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>>;

    /// Runs a lifecycle command in one transaction and answers with its response
    /// ([`axp_core::api::MutationResponse`]). With `idempotency`, a live record replays the stored
    /// response (nothing written; [`Answer::Replayed`]) and another fingerprint is
    /// [`Error::IdempotencyConflict`]. A resume whose `task_result` answers the open human task
    /// is audited (`human_task.decided`), and so is an applied change of controls or policy
    /// (`intent.controls_updated`, `intent.policy_updated`; contract §4.8). Errors:
    /// [`Error::NotFound`], [`Error::Lifecycle`] (nothing written).
    async fn execute(
        &self,
        tenant: &Tenant,
        id: IntentId,
        request: Request,
        now: Timestamp,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Executed>;

    /// The agent queue of `address` after cursor `since` (exclusive), at most `limit` items whose
    /// intent's status is in `statuses`, ascending by cursor. Each SUBMITTED intent among them is
    /// moved to DELIVERED (with `intent.delivered`) in the same transaction, before it is returned.
    async fn deliver_to_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        since: u64,
        statuses: &[Status],
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>>;

    /// The poll binding's claim: up to `limit` queue items of `address` not yet handed to it,
    /// oldest first, each delivered with a lease (SUBMITTED → DELIVERED, or a redelivery) and
    /// marked handed in the same transaction, so concurrent claimers never get the same item.
    async fn claim_for_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>>;

    /// When the earliest timer is due, across all workspaces (the scheduler's wake-up time).
    async fn next_timer_due(&self) -> Result<Option<Timestamp>>;

    /// Fires up to `limit` timers due at `now`, earliest first. Each timer is deleted and its
    /// [`axp_core::lifecycle::Command::Fire`] applied in the same transaction, so a timer fires
    /// once even across crashes. Returns how many were taken.
    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u32>;

    /// The agents (service accounts) of the workspace, oldest first, at most `limit`.
    async fn list_agents(&self, tenant: &Tenant, limit: u32) -> Result<Vec<ServiceAccountRecord>>;

    /// Sets the delivery binding of the agent with `address`, audited
    /// (`agent.binding_changed`). Errors: [`Error::NotFound`].
    async fn set_agent_binding(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        binding: BindingUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord>;

    /// The threads `owner` can see, newest change first, at most `limit`; with `status`, only
    /// those in it among the 500 most recently changed.
    async fn list_threads(
        &self,
        tenant: &Tenant,
        owner: &str,
        status: Option<ThreadStatus>,
        limit: u32,
    ) -> Result<Vec<Thread>>;

    /// One thread as `owner` sees it. Errors: [`Error::NotFound`] when it does not exist or
    /// `owner` cannot see it.
    async fn get_thread(&self, tenant: &Tenant, owner: &str, thread: IntentId) -> Result<Thread>;

    /// `owner`'s threads changed after cursor `after` (0: from the start), oldest change first,
    /// at most `limit`, each with its cursor; and whether more remain. A thread appears once,
    /// at its latest change.
    async fn thread_changes(
        &self,
        tenant: &Tenant,
        owner: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<(u64, Thread)>, bool)>;

    /// `acting` (as the owner `acting.address()`) acts on a thread that owner can see (§5.1):
    /// reply, delegate, approve/reject (answering an open human task: audited as
    /// `human_task.decided`), read, delete messages. Returns the thread after it and the ids of
    /// the messages deleted. Errors: [`Error::NotFound`]; [`Error::Lifecycle`] when a decision is
    /// not a valid `task_result` or `acting` may not decide the task
    /// ([`axp_core::access::Acting::may_decide`]; nothing written).
    async fn act_on_thread(
        &self,
        tenant: &Tenant,
        acting: &axp_core::access::Acting,
        thread: IntentId,
        action: ThreadAction,
        now: Timestamp,
        by: &Audit,
    ) -> Result<(Thread, Vec<String>)>;

    /// Records an approval decision (§5.2, upsert): a new id is recorded (and, when it is an
    /// intent waiting for a person, answers that task); the same decision again returns the
    /// first record; a different one is [`Error::Conflict`]. A new decision is audited:
    /// `human_task.decided` when it answered a task, else `approval.decided`.
    #[allow(clippy::too_many_arguments, reason = "the decision, who decides, when, and the audit")]
    async fn decide_approval(
        &self,
        tenant: &Tenant,
        id: ApprovalId,
        approve: bool,
        comment: Option<String>,
        acting: &axp_core::access::Acting,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Approval>;

    /// Intent types scenarios registered in the workspace.
    async fn intent_types(&self, tenant: &Tenant) -> Result<Vec<String>>;

    /// `tenant`'s workspace quota policy (contract §6): the stored one, or
    /// [`axp_core::quota::QuotaPolicy::default_for`] when it never changed.
    async fn get_quota_policy(&self, tenant: &Tenant) -> Result<axp_core::quota::QuotaPolicy>;

    /// Applies a `PATCH /v1/quotas` body to the current policy (in the same transaction that
    /// reads it, so concurrent patches do not lose each other's fields), stamped with `by` and
    /// `now`, audited (`quota.updated`). The caller validates the body first
    /// ([`axp_core::quota::QuotaPolicy::patched`]); an invalid one is [`Error::Internal`].
    async fn update_quota_policy(
        &self,
        tenant: &Tenant,
        patch: serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::quota::QuotaPolicy>;

    /// Adds usage counted by a meter (any workspaces) in one transaction.
    async fn add_usage(&self, counts: Vec<tables::UsageCount>) -> Result<()>;

    /// `tenant`'s usage counters for UTC days `from_day..=to_day`, by day then dimension.
    async fn usage(&self, tenant: &Tenant, from_day: i64, to_day: i64) -> Result<Vec<tables::UsageCount>>;

    /// Registers `request` as the schema of its type in its scope (`tenant`'s workspace, or the
    /// server's for `core`), owned by `owner_agent`, replacing the one there (the replaced
    /// `schema_json` is kept for `backward`) and audited (`schema.upserted`); an upsert that
    /// changes nothing writes nothing. Returns the schema as it now is.
    async fn upsert_schema(
        &self,
        tenant: &Tenant,
        request: axp_core::schema::UpsertSchema,
        owner_agent: Option<String>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::schema::Schema>;

    /// The schema of type `semantic_type` `tenant` reads: its workspace's, else the core one.
    /// Errors: [`Error::NotFound`].
    async fn get_schema(&self, tenant: &Tenant, semantic_type: &str) -> Result<axp_core::schema::Schema>;

    /// Every schema `tenant`'s workspace reads (its own and the core ones), for a cache.
    async fn schemas_of(&self, tenant: &Tenant) -> Result<Vec<axp_core::schema::Schema>>;
}
