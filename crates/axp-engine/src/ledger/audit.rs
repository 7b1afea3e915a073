//! The audit log: every admin and security action records who did it, to what, when and under
//! which trace id, in the action's own transaction, so an entry exists exactly when its action
//! committed (a failed job rolls both back).

use axp_core::access::awaits_decision;
use axp_core::api::{AuditEntry, AuditTarget, actions};
use axp_core::ids::{IntentId, OrgId, WorkspaceId};
use axp_core::lifecycle::Command;
use axp_core::{Intent, Timestamp};
use axp_store::{Audit, AuditFilter, Result, Tenant, Transaction};
use serde_json::{Map, Value};

use super::Ledger;

/// Where and when an audited action happened.
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) org: OrgId,
    pub(super) ws: Option<WorkspaceId>,
    pub(super) now: Timestamp,
}

impl At {
    /// In `tenant`'s workspace.
    pub(super) fn tenant(tenant: &Tenant, now: Timestamp) -> Self {
        Self { org: tenant.org_id, ws: Some(tenant.workspace_id), now }
    }

    /// In organization `org`: in its workspace `ws`, or organization-wide.
    pub(super) fn org(org: OrgId, ws: Option<WorkspaceId>, now: Timestamp) -> Self {
        Self { org, ws, now }
    }
}

/// Records that `by` did `action` to `target` (with `details`, never a secret) at `at`.
pub(super) async fn record(
    tx: &mut dyn Transaction,
    by: &Audit,
    at: At,
    action: &str,
    target: AuditTarget,
    details: Map<String, Value>,
) -> Result<()> {
    let entry = AuditEntry {
        audit_id: 0,
        org_id: at.org,
        workspace_id: at.ws,
        actor: by.actor.clone(),
        action: action.to_owned(),
        target,
        details,
        trace_id: by.trace_id.clone(),
        created_at: at.now,
    };
    tx.insert_audit(&entry).await?;
    Ok(())
}

/// `{key: value, …}` for an entry's details.
pub(super) fn details<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Records `human_task.decided`: `by` answered the open task of intent `intent` with
/// `outcome`, through `via` (`inbox`, `approval` or `resume`), acting as `as_owner`.
pub(super) async fn task_decided(
    tx: &mut dyn Transaction,
    by: &Audit,
    at: At,
    intent: IntentId,
    outcome: &str,
    via: (&str, &str),
) -> Result<()> {
    let (via, as_owner) = via;
    let details = details([
        ("outcome", Value::String(outcome.to_owned())),
        ("via", Value::String(via.to_owned())),
        ("as", Value::String(as_owner.to_owned())),
    ]);
    record(tx, by, at, actions::HUMAN_TASK_DECIDED, AuditTarget::new("intent", intent), details).await
}

/// What running `command` (by `actor`) on `intent` adds to the audit log if it applies, decided
/// before it runs: a resume whose `task_result` answers the open task (`human_task.decided`),
/// a change of controls or policy (`intent.controls_updated`, `intent.policy_updated`: they
/// emit no lifecycle event, contract §4.8). The other commands are lifecycle steps, which the
/// intent's own events record.
pub(super) fn command_entry(
    intent: &Intent,
    command: &Command,
    actor: &str,
) -> Option<(&'static str, Map<String, Value>)> {
    let acting = ("as", Value::String(actor.to_owned()));
    match command {
        Command::Resume(body) if awaits_decision(intent) => {
            let result = body.get("task_result")?.as_object()?;
            let outcome = result.get("outcome").cloned().unwrap_or(Value::Null);
            let via = ("via", Value::String("resume".into()));
            Some((actions::HUMAN_TASK_DECIDED, details([("outcome", outcome), via, acting])))
        }
        Command::UpdateControls(patch) => {
            let patch = ("controls_patch", Value::Object(patch.clone()));
            Some((actions::CONTROLS_UPDATED, details([patch, acting])))
        }
        Command::UpdatePolicy { grants_patch, envelope_patch } => {
            let grants = ("grants_patch", Value::Object(grants_patch.clone()));
            let envelope = ("envelope_patch", Value::Object(envelope_patch.clone()));
            Some((actions::POLICY_UPDATED, details([grants, envelope, acting])))
        }
        _ => None,
    }
}

impl Ledger {
    /// Records `backup.taken` (see [`axp_store::Store::audit_backup`]) in a transaction of its
    /// own: a backup writes nothing else.
    pub(super) async fn audit_backup(
        &self,
        tenant: &Tenant,
        details: Map<String, Value>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<()> {
        self.write((At::tenant(tenant, now), details, by.clone()), |(at, details, by), tx| {
            Box::pin(async move {
                let target = AuditTarget::new("server", "backup");
                record(tx, by, *at, actions::BACKUP_TAKEN, target, details.clone()).await
            })
        })
        .await
    }

    pub(super) async fn list_audit(&self, filter: &AuditFilter) -> Result<(Vec<AuditEntry>, bool)> {
        self.read(filter.clone(), |filter, tx| {
            Box::pin(async move {
                let mut page =
                    tx.list_audit(&AuditFilter { limit: filter.limit + 1, ..filter.clone() }).await?;
                let more = page.len() > filter.limit as usize;
                page.truncate(filter.limit as usize);
                Ok((page, more))
            })
        })
        .await
    }
}
