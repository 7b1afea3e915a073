//! A workspace's directory (contract §6 "Principals, aliases"): principals, and aliases bound
//! to them, unique among a workspace's active ones; a revoked alias resolves no more.

use axp_core::Timestamp;
use axp_core::api::{Alias, AliasResolution, DirectoryPrincipal, ResolvedPrincipal};
use axp_core::ids::{AliasId, PrincipalId, WorkspaceId};
use axp_core::tenancy::{AliasStatus, PrincipalStatus};
use axp_store::{Error, NewAlias, NewPrincipal, Result, Tenant};

use super::Ledger;

impl Ledger {
    pub(super) async fn create_principal(
        &self,
        tenant: &Tenant,
        principal: NewPrincipal,
        now: Timestamp,
    ) -> Result<DirectoryPrincipal> {
        let record = DirectoryPrincipal {
            principal_id: PrincipalId::new(),
            org_id: tenant.org_id,
            workspace_id: tenant.workspace_id,
            principal_type: principal.principal_type,
            display_name: principal.display_name,
            status: PrincipalStatus::Active,
            metadata: principal.metadata,
            created_at: now,
            updated_at: now,
        };
        self.write(record, |record, tx| {
            Box::pin(async move {
                tx.insert_principal(record).await?;
                Ok(record.clone())
            })
        })
        .await
    }

    pub(super) async fn get_principal(&self, id: PrincipalId) -> Result<DirectoryPrincipal> {
        self.read(id, |id, tx| Box::pin(async move { tx.principal_by_id(*id).await?.ok_or(Error::NotFound) }))
            .await
    }

    pub(super) async fn bind_alias(
        &self,
        principal: PrincipalId,
        alias: NewAlias,
        now: Timestamp,
    ) -> Result<Alias> {
        self.write((principal, alias, AliasId::new(), now), |(principal, new, id, now), tx| {
            Box::pin(async move {
                let p = tx.principal_by_id(*principal).await?.ok_or(Error::NotFound)?;
                let alias = Alias {
                    alias_id: *id,
                    principal_id: p.principal_id,
                    org_id: p.org_id,
                    workspace_id: p.workspace_id,
                    alias: new.alias.clone(),
                    alias_type: new.alias_type,
                    status: AliasStatus::Active,
                    metadata: new.metadata.clone(),
                    created_at: *now,
                    updated_at: *now,
                    revoked_at: None,
                };
                tx.insert_alias(&alias).await?;
                Ok(alias)
            })
        })
        .await
    }

    pub(super) async fn get_alias(&self, id: AliasId) -> Result<Alias> {
        self.read(id, |id, tx| Box::pin(async move { tx.alias(*id, false).await?.ok_or(Error::NotFound) }))
            .await
    }

    pub(super) async fn revoke_alias(&self, id: AliasId, now: Timestamp) -> Result<Alias> {
        self.write((id, now), |(id, now), tx| {
            Box::pin(async move {
                let mut alias = tx.alias(*id, true).await?.ok_or(Error::NotFound)?;
                if alias.status == AliasStatus::Active {
                    alias.status = AliasStatus::Revoked;
                    alias.revoked_at = Some(*now);
                    alias.updated_at = *now;
                    tx.update_alias(&alias).await?;
                }
                Ok(alias)
            })
        })
        .await
    }

    pub(super) async fn list_aliases(&self, ws: WorkspaceId, limit: u32) -> Result<Vec<Alias>> {
        self.read((ws, limit), |(ws, limit), tx| Box::pin(tx.list_aliases(*ws, *limit))).await
    }

    pub(super) async fn resolve_alias(&self, ws: WorkspaceId, name: &str) -> Result<AliasResolution> {
        self.read((ws, name.to_owned()), |(ws, name), tx| {
            Box::pin(async move {
                let alias = tx.active_alias(*ws, name).await?.ok_or(Error::NotFound)?;
                let principal = tx.principal_by_id(alias.principal_id).await?.ok_or(Error::NotFound)?;
                Ok(AliasResolution { alias, principal: ResolvedPrincipal::from(&principal) })
            })
        })
        .await
    }
}
