//! Tenants, service accounts (agents) and their keys, delivery bindings, authentication.

use axp_core::access::{Role, Roles};
use axp_core::api::{AuditTarget, actions};
use axp_core::ids::{ApiKeyId, ServiceAccountId};
use axp_core::{AgentAddress, Timestamp};
use axp_store::{
    Actor, ApiKeyRecord, Audit, BindingUpdate, Error, KeyHash, NewApiKey, NewServiceAccount, Principal,
    Result, ServiceAccountRecord, Tenant, TenantSpec, Transaction, push_config,
};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

/// Records that `by` minted key `key` for service account `account` (never its token).
pub(super) async fn key_created(
    tx: &mut dyn Transaction,
    by: &Audit,
    tenant: &Tenant,
    account: ServiceAccountId,
    key: &NewApiKey,
) -> Result<()> {
    let details = details([
        ("service_account_id", Value::String(account.to_string())),
        ("expires_at", serde_json::to_value(key.expires_at).unwrap_or(Value::Null)),
    ]);
    let target = AuditTarget::new("api_key", key.key_id);
    record(tx, by, At::tenant(tenant, key.created_at), actions::API_KEY_CREATED, target, details).await
}

/// Records that `by` created service account `account`.
pub(super) async fn account_created(
    tx: &mut dyn Transaction,
    by: &Audit,
    tenant: &Tenant,
    account: &NewServiceAccount,
) -> Result<()> {
    let details = details([
        ("name", Value::String(account.name.clone())),
        ("agent_address", Value::String(account.agent_address.to_string())),
        ("delivery_mode", Value::String(account.delivery_mode.as_str().to_owned())),
    ]);
    let target = AuditTarget::new("service_account", account.id);
    let at = At::tenant(tenant, account.created_at);
    record(tx, by, at, actions::SERVICE_ACCOUNT_CREATED, target, details).await
}

/// Creates the organization (or reuses it), the workspace, its admin and the admin's key.
async fn create_tenant_in(tx: &mut dyn Transaction, spec: &TenantSpec) -> Result<Principal> {
    let now = spec.admin.created_at;
    let org_id = tx.ensure_org(&spec.org_slug, now).await?;
    // The first admin of an organization owns it; a later workspace's admin administers that one.
    let created_org = tx.list_members(org_id, None, 1).await?.is_empty();
    let workspace_id = tx.insert_workspace(org_id, &spec.workspace_slug, now).await?;
    let tenant = Tenant {
        org_id,
        workspace_id,
        org_slug: spec.org_slug.clone(),
        workspace_slug: spec.workspace_slug.clone(),
    };
    tx.insert_service_account(&tenant, &spec.admin).await?;
    tx.insert_api_key(&tenant, spec.admin.id, &spec.key).await?;
    let role = if created_org { Role::OrgOwner } else { Role::WorkspaceAdmin };
    let scope = (!created_org).then_some(workspace_id);
    super::members::add(tx, org_id, scope, &spec.admin.id.to_string(), role, now).await?;
    Ok(Principal {
        tenant,
        actor: Actor::ServiceAccount { id: spec.admin.id, key_id: spec.key.key_id },
        agent_address: spec.admin.agent_address.clone(),
        roles: Roles::of(role),
        grants: Vec::new(),
    })
}

impl Ledger {
    pub(super) async fn create_service_account(
        &self,
        tenant: &Tenant,
        account: NewServiceAccount,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        self.write((tenant.clone(), account, by.clone()), |(tenant, account, by), tx| {
            Box::pin(async move {
                let created = tx.insert_service_account(tenant, account).await?;
                account_created(tx, by, tenant, account).await?;
                Ok(created)
            })
        })
        .await
    }

    pub(super) async fn bootstrap(&self, spec: TenantSpec) -> Result<Option<Principal>> {
        self.write(spec, |spec, tx| {
            Box::pin(async move {
                // Replicas starting together: one bootstraps, the others wait and find an org.
                tx.lock_bootstrap().await?;
                if tx.any_org().await? { Ok(None) } else { create_tenant_in(tx, spec).await.map(Some) }
            })
        })
        .await
    }

    pub(super) async fn create_tenant(&self, spec: TenantSpec) -> Result<Principal> {
        self.write(spec, |spec, tx| Box::pin(create_tenant_in(tx, spec))).await
    }

    /// An API key's service account or, failing that, an actor token's person. Answered from
    /// the backend's [`axp_store::PrincipalCache`] when it can; the backend drops the cache
    /// after every commit that changed keys, tokens or memberships.
    pub(super) async fn authenticate(&self, hash: &KeyHash, now: Timestamp) -> Result<Option<Principal>> {
        let cache = self.backend.principals();
        if let Some(principal) = cache.get(&hash.0, now) {
            return Ok(Some(principal));
        }
        // Read before the lookup, so an invalidation during it keeps its result out.
        let generation = cache.generation();
        let found = self
            .read((hash.0, now), |(hash, now), tx| {
                Box::pin(async move {
                    let found = match tx.principal(hash, *now).await? {
                        Some(found) => Some(found),
                        None => tx.actor_principal(hash, *now).await?,
                    };
                    let Some((principal, expires_at)) = found else {
                        return Ok(None);
                    };
                    Ok(Some((super::members::with_access(tx, principal).await?, expires_at)))
                })
            })
            .await?;
        Ok(found.map(|(principal, expires_at)| {
            self.backend.principals().insert(hash.0, &principal, expires_at, generation);
            principal
        }))
    }

    pub(super) async fn delete_service_account(
        &self,
        tenant: &Tenant,
        id: ServiceAccountId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        self.write((tenant.clone(), id, now, by.clone()), |(tenant, id, now, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let mut sa = tx.service_account(tenant, *id, true).await?.ok_or(Error::NotFound)?;
                if sa.status != "deleted" {
                    sa.status = "deleted".into();
                    sa.updated_at = *now;
                    let secret = tx.push_secret(ws, &sa.agent_address).await?;
                    tx.update_agent(ws, &sa, secret.as_deref()).await?;
                    // Its keys stop authenticating at once.
                    let mut revoked = Vec::new();
                    for mut key in tx.active_keys_for_update(ws, *id).await? {
                        key.revoked_at = Some(*now);
                        key.status = "revoked".into();
                        tx.update_api_key(ws, &key).await?;
                        revoked.push(Value::String(key.key_id.to_string()));
                    }
                    tx.principals_changed();
                    let details = details([
                        ("agent_address", Value::String(sa.agent_address.clone())),
                        ("revoked_key_ids", Value::Array(revoked)),
                    ]);
                    let target = AuditTarget::new("service_account", id);
                    let at = At::tenant(tenant, *now);
                    record(tx, by, at, actions::SERVICE_ACCOUNT_DELETED, target, details).await?;
                }
                Ok(sa)
            })
        })
        .await
    }

    pub(super) async fn create_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: NewApiKey,
        by: &Audit,
    ) -> Result<ApiKeyRecord> {
        self.write((tenant.clone(), account, key, by.clone()), |(tenant, account, key, by), tx| {
            Box::pin(async move {
                tx.service_account(tenant, *account, false).await?.ok_or(Error::NotFound)?;
                let record = tx.insert_api_key(tenant, *account, key).await?;
                key_created(tx, by, tenant, *account, key).await?;
                Ok(record)
            })
        })
        .await
    }

    pub(super) async fn revoke_api_key(
        &self,
        tenant: &Tenant,
        account: ServiceAccountId,
        key: ApiKeyId,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ApiKeyRecord> {
        let args = (tenant.clone(), account, key, now, by.clone());
        self.write(args, |(tenant, account, key, now, by), tx| {
            Box::pin(async move {
                let mut key_record =
                    tx.api_key_for_update(tenant, *account, *key).await?.ok_or(Error::NotFound)?;
                if key_record.revoked_at.is_none() {
                    key_record.revoked_at = Some(*now);
                    key_record.status = "revoked".into();
                    tx.update_api_key(tenant.workspace_id, &key_record).await?;
                    tx.principals_changed();
                    let details = details([("service_account_id", Value::String(account.to_string()))]);
                    let target = AuditTarget::new("api_key", key);
                    record(tx, by, At::tenant(tenant, *now), actions::API_KEY_REVOKED, target, details)
                        .await?;
                }
                Ok(key_record)
            })
        })
        .await
    }

    pub(super) async fn set_agent_binding(
        &self,
        tenant: &Tenant,
        address: &AgentAddress,
        binding: BindingUpdate,
        now: Timestamp,
        by: &Audit,
    ) -> Result<ServiceAccountRecord> {
        let args = (tenant.clone(), address.to_string(), binding, now, by.clone());
        self.write(args, |(tenant, address, binding, now, by), tx| {
            Box::pin(async move {
                let ws = tenant.workspace_id;
                let mut sa = tx.agent_by_address(ws, address, true).await?.ok_or(Error::NotFound)?;
                let previous = sa.delivery_mode;
                sa.delivery_mode = binding.delivery_mode;
                sa.lease_seconds = binding.lease_seconds;
                sa.delivery_config = binding.push.as_ref().map(|p| push_config(&p.url));
                sa.updated_at = *now;
                tx.update_agent(ws, &sa, binding.push.as_ref().map(|p| p.secret.as_str())).await?;
                // The URL is recorded, its signing secret never.
                let details = details([
                    ("agent_address", Value::String(address.clone())),
                    ("delivery_mode", Value::String(sa.delivery_mode.as_str().to_owned())),
                    ("previous_delivery_mode", Value::String(previous.as_str().to_owned())),
                    ("url", binding.push.as_ref().map_or(Value::Null, |p| Value::String(p.url.clone()))),
                ]);
                let target = AuditTarget::new("service_account", sa.service_account_id);
                record(tx, by, At::tenant(tenant, *now), actions::BINDING_CHANGED, target, details).await?;
                Ok(sa)
            })
        })
        .await
    }
}
