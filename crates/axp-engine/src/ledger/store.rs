//! [`Store`] for [`Ledger`]: each method is a job of its family module, or a plain read.

use async_trait::async_trait;
use axp_core::access::{Acting, Role};
use axp_core::api::{
    AccessRequest, ActorToken, AgentDelivery, Alias, AliasResolution, ApplyScenarioResponse, AuditEntry,
    DirectoryPrincipal, Invite, Member, Organization, OrganizationDetail, User, Workspace,
};
use axp_core::ids::{
    AccessRequestId, ActorTokenId, AliasId, ApiKeyId, ApprovalId, IntentId, MemberId, OrgId, PrincipalId,
    ServiceAccountId, UploadId, UserId, WorkspaceId,
};
use axp_core::inbox::{Approval, Thread, ThreadAction, ThreadStatus};
use axp_core::lifecycle::Request;
use axp_core::media::{MediaConflict, MediaUpload, StoredBytes};
use axp_core::schema::{Schema, UpsertSchema};
use axp_core::users::Nick;
use axp_core::{AgentAddress, Intent, IntentEvent, Status, Timestamp};
use axp_store::{
    AccessRequestFilter, ApiKeyRecord, Audit, AuditFilter, BindingUpdate, ByteStream, Created, Error,
    Executed, IdempotencyClaim, IntentFilter, IntentRows, InviteAcceptance, KeyHash, MemberUpdate,
    NewAccessRequest, NewActorToken, NewAlias, NewApiKey, NewOrganization, NewPrincipal, NewServiceAccount,
    NewWorkspace, OrganizationUpdate, Principal, Result, Review, ScenarioWrite, ServiceAccountRecord, Store,
    Tenant, TenantSpec, UploadRefused, UserUpdate, WorkspaceUpdate,
};

use super::Ledger;

#[async_trait]
impl Store for Ledger {
    async fn bootstrap(&self, spec: TenantSpec) -> Result<Option<Principal>> {
        Ledger::bootstrap(self, spec).await
    }

    async fn has_tenant(&self) -> Result<bool> {
        self.read((), |(), tx| tx.any_org()).await
    }

    fn fault(&self) -> Option<String> {
        Ledger::fault(self)
    }

    fn maintenance(&self) -> &dyn axp_store::Maintenance {
        self.backend.maintenance()
    }

    async fn create_tenant(&self, spec: TenantSpec) -> Result<Principal> {
        Ledger::create_tenant(self, spec).await
    }

    async fn authenticate(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<Principal>> {
        Ledger::authenticate(self, hash, now).await
    }

    async fn create_service_account(
        &self,
        tenant: &Tenant,
        account: NewServiceAccount,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        Ledger::create_service_account(self, tenant, account, by).await
    }

    async fn get_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
    ) -> Result<ServiceAccountRecord> {
        self.read((tenant.clone(), id), |(tenant, id), tx| {
            Box::pin(async move { tx.service_account(tenant, *id, false).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    async fn find_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
    ) -> Result<Option<ServiceAccountRecord>> {
        self.read((tenant.workspace_id, address.to_string()), |(ws, address), tx| {
            Box::pin(tx.agent_by_address(*ws, address, false))
        })
        .await
    }

    async fn delete_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        Ledger::delete_service_account(self, tenant, id, now, by).await
    }

    async fn create_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: NewApiKey,
        by: &Audit,
    ) -> Result<ApiKeyRecord> {
        Ledger::create_api_key(self, tenant, account, key, by).await
    }

    async fn revoke_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ApiKeyRecord> {
        Ledger::revoke_api_key(self, tenant, account, key, now, by).await
    }

    async fn add_member(
        &self,
        org: OrgId,
        ws: Option<WorkspaceId>,
        actor_id: &str,
        role: Role,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Member> {
        Ledger::add_member(self, org, ws, actor_id, role, now, by).await
    }

    async fn update_member(
        &self,
        org: OrgId,
        id: MemberId,
        update: MemberUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Member> {
        Ledger::update_member(self, org, id, update, now, by).await
    }

    async fn remove_member(&self, org: OrgId, id: MemberId, now: Timestamp, by: &Audit) -> Result<Member> {
        Ledger::remove_member(self, org, id, now, by).await
    }

    async fn get_member(&self, org: OrgId, id: MemberId) -> Result<Member> {
        Ledger::get_member(self, org, id).await
    }

    async fn list_members(&self, org: OrgId, ws: Option<WorkspaceId>, limit: u32) -> Result<Vec<Member>> {
        Ledger::list_members(self, org, ws, limit).await
    }

    async fn set_grant(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        address: &str,
        granted: bool,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Vec<String>> {
        Ledger::set_grant(self, tenant, account, address, granted, now, by).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, bool)> {
        Ledger::list_audit(self, filter).await
    }

    async fn audit_backup(
        &self,
        tenant: &Tenant,
        details: serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<()> {
        Ledger::audit_backup(self, tenant, details, now, by).await
    }

    async fn create_organization(
        &self,
        owner: &str,
        org: NewOrganization,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Organization> {
        Ledger::create_organization(self, owner, org, now, by).await
    }

    async fn get_organization(&self, org: OrgId) -> Result<OrganizationDetail> {
        Ledger::get_organization(self, org).await
    }

    async fn update_organization(
        &self,
        org: OrgId,
        update: OrganizationUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Organization> {
        Ledger::update_organization(self, org, update, now, by).await
    }

    async fn create_workspace(
        &self,
        org: OrgId,
        workspace: NewWorkspace,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Workspace> {
        Ledger::create_workspace(self, org, workspace, now, by).await
    }

    async fn list_workspaces(&self, org: OrgId) -> Result<Vec<Workspace>> {
        Ledger::list_workspaces(self, org).await
    }

    async fn update_workspace(
        &self,
        org: OrgId,
        ws: WorkspaceId,
        update: WorkspaceUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Workspace> {
        Ledger::update_workspace(self, org, ws, update, now, by).await
    }

    async fn workspace_tenant(&self, ws: WorkspaceId) -> Result<Tenant> {
        Ledger::workspace_tenant(self, ws).await
    }

    async fn find_service_account(&self, id: ServiceAccountId) -> Result<ServiceAccountRecord> {
        Ledger::find_service_account(self, id).await
    }

    async fn memberships_of(&self, org: OrgId, actor_id: &str) -> Result<Vec<Member>> {
        Ledger::memberships_of(self, org, actor_id).await
    }

    async fn create_principal(
        &self,
        tenant: &Tenant,
        principal: NewPrincipal,
        now: Timestamp,
    ) -> Result<DirectoryPrincipal> {
        Ledger::create_principal(self, tenant, principal, now).await
    }

    async fn get_principal(&self, id: PrincipalId) -> Result<DirectoryPrincipal> {
        Ledger::get_principal(self, id).await
    }

    async fn bind_alias(&self, principal: PrincipalId, alias: NewAlias, now: Timestamp) -> Result<Alias> {
        Ledger::bind_alias(self, principal, alias, now).await
    }

    async fn get_alias(&self, id: AliasId) -> Result<Alias> {
        Ledger::get_alias(self, id).await
    }

    async fn revoke_alias(&self, id: AliasId, now: Timestamp) -> Result<Alias> {
        Ledger::revoke_alias(self, id, now).await
    }

    async fn list_aliases(&self, ws: WorkspaceId, limit: u32) -> Result<Vec<Alias>> {
        Ledger::list_aliases(self, ws, limit).await
    }

    async fn resolve_alias(&self, ws: WorkspaceId, name: &str) -> Result<AliasResolution> {
        Ledger::resolve_alias(self, ws, name).await
    }

    async fn create_access_request(
        &self,
        request: NewAccessRequest,
        now: Timestamp,
    ) -> Result<AccessRequest> {
        Ledger::create_access_request(self, request, now).await
    }

    async fn get_access_request(&self, id: AccessRequestId) -> Result<AccessRequest> {
        Ledger::get_access_request(self, id).await
    }

    async fn list_access_requests(&self, filter: AccessRequestFilter) -> Result<Vec<AccessRequest>> {
        Ledger::list_access_requests(self, filter).await
    }

    async fn review_access_request(
        &self,
        id: AccessRequestId,
        review: Review,
        now: Timestamp,
        by: &Audit,
    ) -> Result<AccessRequest> {
        Ledger::review_access_request(self, id, review, now, by).await
    }

    async fn register_user(&self, tenant: &Tenant, user: User) -> Result<User> {
        Ledger::register_user(self, tenant, user).await
    }

    async fn get_user(&self, tenant: &Tenant, id: UserId) -> Result<User> {
        Ledger::get_user(self, tenant, id).await
    }

    async fn find_user_by_nick(&self, tenant: &Tenant, nick: &Nick) -> Result<Option<User>> {
        Ledger::find_user_by_nick(self, tenant, nick).await
    }

    async fn update_user(
        &self,
        tenant: &Tenant,
        id: UserId,
        update: UserUpdate,
        now: Timestamp,
    ) -> Result<User> {
        Ledger::update_user(self, tenant, id, update, now).await
    }

    async fn create_invite(&self, tenant: &Tenant, hash: KeyHash, invite: Invite) -> Result<Invite> {
        Ledger::create_invite(self, tenant, hash, invite).await
    }

    async fn get_invite(&self, tenant: &Tenant, hash: KeyHash) -> Result<Invite> {
        Ledger::get_invite(self, tenant, hash).await
    }

    async fn accept_invite(
        &self,
        tenant: &Tenant,
        hash: KeyHash,
        accept: InviteAcceptance,
        by: &Audit,
    ) -> Result<(Invite, User, ActorToken)> {
        Ledger::accept_invite(self, tenant, hash, accept, by).await
    }

    async fn create_upload(&self, tenant: &Tenant, upload: MediaUpload) -> Result<MediaUpload> {
        Ledger::create_upload(self, tenant, upload).await
    }

    async fn get_upload(&self, tenant: &Tenant, id: UploadId) -> Result<MediaUpload> {
        Ledger::get_upload(self, tenant, id).await
    }

    async fn upload_readable_by(&self, tenant: &Tenant, id: UploadId, agents: Vec<String>) -> Result<bool> {
        Ledger::upload_readable_by(self, tenant, id, agents).await
    }

    async fn media_bytes_stored(&self, tenant: &Tenant) -> Result<u64> {
        Ledger::media_bytes_stored(self, tenant).await
    }

    async fn put_upload_bytes(
        &self,
        tenant: &Tenant,
        id: UploadId,
        body: ByteStream,
        limit: u64,
    ) -> Result<std::result::Result<StoredBytes, UploadRefused>> {
        Ledger::put_upload_bytes(self, tenant, id, body, limit).await
    }

    async fn finalize_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        size_bytes: u64,
        sha256: Option<String>,
        now: Timestamp,
    ) -> Result<std::result::Result<MediaUpload, MediaConflict>> {
        Ledger::finalize_upload(self, tenant, id, size_bytes, sha256, now).await
    }

    async fn open_upload_bytes(&self, tenant: &Tenant, id: UploadId) -> Result<Option<ByteStream>> {
        Ledger::open_upload_bytes(self, tenant, id).await
    }

    async fn delete_upload(
        &self,
        tenant: &Tenant,
        id: UploadId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<MediaUpload> {
        Ledger::delete_upload(self, tenant, id, now, by).await
    }

    async fn issue_actor_token(
        &self,
        tenant: &Tenant,
        token: NewActorToken,
        by: &Audit,
    ) -> Result<ActorToken> {
        Ledger::issue_actor_token(self, tenant, token, by).await
    }

    async fn revoke_actor_token(
        &self,
        tenant: &Tenant,
        user: UserId,
        id: ActorTokenId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ActorToken> {
        Ledger::revoke_actor_token(self, tenant, user, id, now, by).await
    }

    async fn create_intent(
        &self,
        tenant: &Tenant,
        intent: Intent,
        events: Vec<IntentEvent>,
        idempotency: Option<IdempotencyClaim>,
    ) -> Result<Created> {
        // Serialized here, on the caller's thread, not inside the write transaction.
        let rows = IntentRows::new(intent, events)?;
        Ledger::create_intent(self, tenant, rows, idempotency).await
    }

    async fn apply_scenario(
        &self,
        tenant: &Tenant,
        write: ScenarioWrite,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Created<ApplyScenarioResponse>> {
        Ledger::apply_scenario(self, tenant, write, idempotency, by).await
    }

    async fn get_intent(&self, tenant: &Tenant, id: IntentId) -> Result<Intent> {
        self.read((tenant.workspace_id, id), |(ws, id), tx| {
            Box::pin(async move { tx.intent(*ws, *id).await?.ok_or(Error::NotFound) })
        })
        .await
    }

    async fn list_intents(&self, tenant: &Tenant, filter: &IntentFilter) -> Result<Vec<Intent>> {
        self.read((tenant.workspace_id, filter.clone()), |(ws, filter), tx| {
            Box::pin(tx.list_intents(*ws, filter))
        })
        .await
    }

    async fn events_since(
        &self,
        tenant: &Tenant,
        id: IntentId,
        since: u64,
        limit: u32,
    ) -> Result<Vec<IntentEvent>> {
        self.read((tenant.workspace_id, id, since, limit), |(ws, id, since, limit), tx| {
            Box::pin(async move {
                let events = tx.events_since(*ws, *id, *since, *limit).await?;
                if events.is_empty() && !tx.intent_exists(*ws, *id).await? {
                    return Err(Error::NotFound);
                }
                Ok(events)
            })
        })
        .await
    }

    async fn execute(
        &self,
        tenant: &Tenant,
        id: IntentId,
        request: Request,
        now: Timestamp,
        idempotency: Option<IdempotencyClaim>,
        by: &Audit,
    ) -> Result<Executed> {
        Ledger::execute(self, tenant, id, request, now, idempotency, by).await
    }

    async fn deliver_to_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        since: u64,
        statuses: &[Status],
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        Ledger::deliver_to_agent(self, tenant, address, (since, statuses.to_vec(), limit), now).await
    }

    async fn claim_for_agent(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<AgentDelivery>> {
        Ledger::claim_for_agent(self, tenant, address, limit, now).await
    }

    async fn next_timer_due(&self) -> Result<Option<Timestamp>> {
        self.read((), |(), tx| tx.next_timer_due()).await
    }

    async fn fire_due_timers(&self, now: Timestamp, limit: u32) -> Result<u32> {
        Ledger::fire_due_timers(self, now, limit).await
    }

    async fn list_agents(&self, tenant: &Tenant, limit: u32) -> Result<Vec<ServiceAccountRecord>> {
        self.read((tenant.workspace_id, limit), |(ws, limit), tx| tx.list_agents(*ws, *limit)).await
    }

    async fn set_agent_binding(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        binding: BindingUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        Ledger::set_agent_binding(self, tenant, address, binding, now, by).await
    }

    async fn list_threads(
        &self,
        tenant: &Tenant,
        owner: &str,
        status: Option<ThreadStatus>,
        limit: u32,
    ) -> Result<Vec<Thread>> {
        Ledger::list_threads(self, tenant, owner, status, limit).await
    }

    async fn get_thread(&self, tenant: &Tenant, owner: &str, thread: IntentId) -> Result<Thread> {
        Ledger::get_thread(self, tenant, owner, thread).await
    }

    async fn thread_changes(
        &self,
        tenant: &Tenant,
        owner: &str,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<(u64, Thread)>, bool)> {
        Ledger::thread_changes(self, tenant, owner, after, limit).await
    }

    async fn act_on_thread(
        &self,
        tenant: &Tenant,
        acting: &Acting,
        thread: IntentId,
        action: ThreadAction,
        now: Timestamp,
        by: &Audit,
    ) -> Result<(Thread, Vec<String>)> {
        Ledger::act_on_thread(self, tenant, acting, thread, action, now, by).await
    }

    #[allow(clippy::too_many_arguments, reason = "the decision, who decides, when, and the audit")]
    async fn decide_approval(
        &self,
        tenant: &Tenant,
        id: ApprovalId,
        approve: bool,
        comment: Option<String>,
        acting: &Acting,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Approval> {
        Ledger::decide_approval(self, tenant, id, (approve, comment), acting, now, by).await
    }

    async fn intent_types(&self, tenant: &Tenant) -> Result<Vec<String>> {
        self.read(tenant.workspace_id, |ws, tx| tx.intent_types(*ws)).await
    }

    async fn get_quota_policy(&self, tenant: &Tenant) -> Result<axp_core::quota::QuotaPolicy> {
        Ledger::get_quota_policy(self, tenant).await
    }

    async fn update_quota_policy(
        &self,
        tenant: &Tenant,
        patch: serde_json::Map<String, serde_json::Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<axp_core::quota::QuotaPolicy> {
        Ledger::update_quota_policy(self, tenant, patch, now, by).await
    }

    async fn add_usage(&self, counts: Vec<axp_store::tables::UsageCount>) -> Result<()> {
        Ledger::add_usage(self, counts).await
    }

    async fn usage(
        &self,
        tenant: &Tenant,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<axp_store::tables::UsageCount>> {
        Ledger::usage(self, tenant, from_day, to_day).await
    }

    async fn upsert_schema(
        &self,
        tenant: &Tenant,
        request: UpsertSchema,
        owner_agent: Option<String>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Schema> {
        Ledger::upsert_schema(self, tenant, request, owner_agent, now, by).await
    }

    async fn get_schema(&self, tenant: &Tenant, semantic_type: &str) -> Result<Schema> {
        Ledger::get_schema(self, tenant, semantic_type).await
    }

    async fn schemas_of(&self, tenant: &Tenant) -> Result<Vec<Schema>> {
        Ledger::schemas_of(self, tenant).await
    }
}
