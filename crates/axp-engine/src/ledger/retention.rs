//! Retention (`docs/retention.md`): each workspace's periods, and the removal of finished work.
//! The rule kept here, once: only a finished intent is ever removed, re-read in the removing
//! transaction, whoever asked.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::api::{AuditTarget, actions};
use axp_core::ids::{IntentId, WorkspaceId};
use axp_core::retention::{ArchivedIntent, RetentionOverrides};
use axp_store::{Audit, Error, PruneStep, Result, RetentionStore, Tenant};
use serde_json::{Map, Value};

use super::Ledger;
use super::audit::{At, record};

/// Events read per intent for its archive line (an intent's events are few; this bounds one).
const EVENTS_PER_INTENT: u32 = 100_000;

#[async_trait]
impl RetentionStore for Ledger {
    async fn retention_overrides(&self, tenant: &Tenant) -> Result<RetentionOverrides> {
        self.read(tenant.workspace_id, |ws, tx| {
            Box::pin(async move { Ok(tx.retention_overrides(*ws).await?.unwrap_or_default()) })
        })
        .await
    }

    async fn update_retention(
        &self,
        tenant: &Tenant,
        patch: Map<String, Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<RetentionOverrides> {
        self.write((tenant.clone(), patch, now, by.clone()), |(tenant, patch, now, by), tx| {
            Box::pin(async move {
                let current = tx.retention_overrides(tenant.workspace_id).await?.unwrap_or_default();
                let next = current
                    .patched(patch)
                    .map_err(|e| Error::Internal(format!("unchecked retention patch: {e}")))?;
                tx.put_retention_overrides(tenant.workspace_id, &next, *now).await?;
                let target = AuditTarget::new("workspace", tenant.workspace_id.to_string());
                record(tx, by, At::tenant(tenant, *now), actions::RETENTION_UPDATED, target, patch.clone())
                    .await?;
                Ok(next)
            })
        })
        .await
    }

    async fn retention_workspaces(&self) -> Result<Vec<(WorkspaceId, RetentionOverrides)>> {
        self.read((), |(), tx| {
            Box::pin(async move {
                let rows = tx.retention_workspaces().await?;
                Ok(rows.into_iter().map(|(ws, o)| (ws, o.unwrap_or_default())).collect())
            })
        })
        .await
    }

    async fn finished_intents(
        &self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<ArchivedIntent>> {
        self.read((ws, before, limit, now), |(ws, before, limit, now), tx| {
            Box::pin(async move {
                let mut out = Vec::new();
                for id in tx.finished_before(*ws, *before, *limit).await? {
                    let Some(intent) = tx.intent(*ws, id).await? else { continue };
                    let events = tx.events_since(*ws, id, 0, EVENTS_PER_INTENT).await?;
                    let deliveries = tx.intent_deliveries(*ws, id).await?;
                    out.push(ArchivedIntent { archived_at: *now, intent, events, deliveries });
                }
                Ok(out)
            })
        })
        .await
    }

    async fn finished_intent_ids(
        &self,
        ws: WorkspaceId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<IntentId>> {
        self.read((ws, before, limit), |(ws, before, limit), tx| {
            Box::pin(tx.finished_before(*ws, *before, *limit))
        })
        .await
    }

    async fn remove_finished_intents(&self, ws: WorkspaceId, ids: Vec<IntentId>) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        self.write((ws, ids), |(ws, ids), tx| {
            Box::pin(async move {
                let found = tx.intents_for_update(*ws, ids).await?;
                let finished: Vec<IntentId> = ids
                    .iter()
                    .filter(|id| found.get(id).is_some_and(|i| i.status.is_terminal()))
                    .copied()
                    .collect();
                if finished.is_empty() {
                    return Ok(0);
                }
                tx.remove_intents(*ws, &finished).await
            })
        })
        .await
    }

    async fn prune(&self, step: PruneStep, limit: u32) -> Result<u64> {
        self.write((step, limit), |(step, limit), tx| {
            Box::pin(async move {
                match *step {
                    PruneStep::DeadLetters(ws, before) => tx.remove_dead_letters(ws, before, *limit).await,
                    PruneStep::WebhookEvents(ws, before) => {
                        tx.remove_webhook_events(ws, before, *limit).await
                    }
                    PruneStep::ExpiredIdempotency(now) => tx.remove_expired_idempotency(now, *limit).await,
                    PruneStep::Audit(before) => tx.remove_audit_before(before, *limit).await,
                }
            })
        })
        .await
    }

    async fn reclaim_space(&self, pages: u32) -> Result<()> {
        self.write(pages, |pages, tx| Box::pin(tx.reclaim_space(*pages))).await
    }
}
