//! Workspace quota policies and usage counters (contract §6). The rule: a policy change is
//! applied to the row read in its own transaction and audited there (`quota.updated`); usage
//! arrives from the meters as sorted increments.

use axp_core::Timestamp;
use axp_core::api::{AuditTarget, actions};
use axp_core::quota::QuotaPolicy;
use axp_store::tables::UsageCount;
use axp_store::{Audit, Error, Result, Tenant};
use serde_json::{Map, Value};

use super::Ledger;
use super::audit::{At, record};

impl Ledger {
    pub(super) async fn get_quota_policy(&self, tenant: &Tenant) -> Result<QuotaPolicy> {
        self.read(tenant.clone(), |tenant, tx| {
            Box::pin(async move {
                if let Some(stored) = tx.get_quota_policy(tenant.workspace_id).await? {
                    return Ok(stored);
                }
                // The default has applied since the workspace was created
                // (`api.quotas.get.response.v1.json` requires `updated_at`).
                let mut default = QuotaPolicy::default_for(tenant.org_id, tenant.workspace_id);
                default.updated_at =
                    tx.workspace(tenant.org_id, tenant.workspace_id, false).await?.map(|ws| ws.created_at);
                Ok(default)
            })
        })
        .await
    }

    pub(super) async fn update_quota_policy(
        &self,
        tenant: &Tenant,
        patch: Map<String, Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<QuotaPolicy> {
        self.write((tenant.clone(), patch, now, by.clone()), |(tenant, patch, now, by), tx| {
            Box::pin(async move {
                let current = tx.get_quota_policy(tenant.workspace_id).await?;
                let current =
                    current.unwrap_or_else(|| QuotaPolicy::default_for(tenant.org_id, tenant.workspace_id));
                let mut next = current
                    .patched(patch)
                    .map_err(|e| Error::Internal(format!("unchecked quota patch: {e}")))?;
                next.updated_by_actor_id = Some(by.actor.id.clone());
                next.updated_at = Some(*now);
                tx.put_quota_policy(&next).await?;
                let target = AuditTarget::new("quota_policy", &next.quota_policy_id);
                record(tx, by, At::tenant(tenant, *now), actions::QUOTA_UPDATED, target, patch.clone())
                    .await?;
                Ok(next)
            })
        })
        .await
    }

    pub(super) async fn add_usage(&self, mut counts: Vec<UsageCount>) -> Result<()> {
        if counts.is_empty() {
            return Ok(());
        }
        // One lock order for every replica's flush (PostgreSQL row locks).
        counts.sort_by_key(|c| (c.workspace_id.0, c.day, c.dimension));
        self.write(counts, |counts, tx| Box::pin(tx.add_usage(counts))).await
    }

    pub(super) async fn usage(&self, tenant: &Tenant, from_day: i64, to_day: i64) -> Result<Vec<UsageCount>> {
        self.read((tenant.workspace_id, from_day, to_day), |(ws, from, to), tx| {
            Box::pin(tx.usage(*ws, *from, *to))
        })
        .await
    }
}
