//! The audit log. Ids are cursors of the writing transaction (`xid << 20 | n`, see the module
//! doc of `tables`), and reads stop at the safe horizon: a page below a cursor never changes.

use async_trait::async_trait;
use axp_core::api::{AuditActor, AuditActorType, AuditEntry, AuditTarget};

use super::*;

fn entry(r: &PgRow) -> Result<AuditEntry> {
    let actor_type: String = get(r, 3)?;
    let kind = AuditActorType::parse(&actor_type)
        .ok_or_else(|| Error::Internal(format!("unknown audit actor type {actor_type:?}")))?;
    Ok(AuditEntry {
        audit_id: get::<i64>(r, 0)? as u64,
        org_id: OrgId(get(r, 1)?),
        workspace_id: get::<Option<Uuid>>(r, 2)?.map(WorkspaceId),
        actor: AuditActor { kind, id: get(r, 4)? },
        action: get(r, 5)?,
        target: AuditTarget { kind: get(r, 6)?, id: get(r, 7)? },
        trace_id: get(r, 8)?,
        created_at: Timestamp::from_millis(get(r, 9)?),
        details: from_json(&get::<String>(r, 10)?)?,
    })
}

#[async_trait]
impl AuditTable for PgTx {
    async fn insert_audit(&mut self, e: &AuditEntry) -> Result<u64> {
        let id = self.next_cursor().await?;
        q("INSERT INTO audit_log (audit_id, org_id, workspace_id, actor_type, actor_id, action, target_type,
                                  target_id, trace_id, created_at, details)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
        .bind(id as i64)
        .bind(e.org_id.0)
        .bind(e.workspace_id.map(|w| w.0))
        .bind(e.actor.kind.as_str())
        .bind(&e.actor.id)
        .bind(&e.action)
        .bind(&e.target.kind)
        .bind(&e.target.id)
        .bind(&e.trace_id)
        .bind(e.created_at.as_millis())
        .bind(to_json(&e.details)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(id)
    }

    /// Entries below the horizon only. A first page (no cursor) that finds newer entries held
    /// back first waits a little for the horizon to pass them, as the queue's reads do, so an
    /// action is listed about a batch's length after it committed.
    async fn list_audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        if f.before.is_none() {
            let row = q("SELECT max(audit_id),
                                max(audit_id) >= (SELECT axp_horizon())
                           FROM audit_log WHERE org_id = $1")
            .bind(f.org_id.0)
            .fetch_one(self.conn())
            .await
            .map_err(db)?;
            if let (Some(newest), Some(true)) = (get::<Option<i64>>(&row, 0)?, get::<Option<bool>>(&row, 1)?)
            {
                self.wait_for_horizon(newest).await?;
            }
        }
        let sql =
            "SELECT audit_id, org_id, workspace_id, actor_type, actor_id, action, target_type, target_id,
                   trace_id, created_at, details
               FROM audit_log
              WHERE org_id = $1
                AND ($2::uuid IS NULL OR workspace_id = $2 OR ($3 AND workspace_id IS NULL))
                AND ($4::text IS NULL OR action = $4)
                AND ($5::text IS NULL OR actor_id = $5)
                AND ($6::text IS NULL OR target_id = $6)
                AND ($7::bigint IS NULL OR created_at >= $7)
                AND ($8::bigint IS NULL OR created_at < $8)
                AND audit_id < LEAST($9, (SELECT axp_horizon()))
              ORDER BY audit_id DESC LIMIT $10";
        let rows = q(sql)
            .bind(f.org_id.0)
            .bind(f.workspace_id.map(|w| w.0))
            .bind(f.org_wide)
            .bind(&f.action)
            .bind(&f.actor_id)
            .bind(&f.target_id)
            .bind(f.since.map(Timestamp::as_millis))
            .bind(f.until.map(Timestamp::as_millis))
            .bind(f.before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64))
            .bind(i64::from(f.limit))
            .fetch_all(self.conn())
            .await
            .map_err(db)?;
        rows.iter().map(entry).collect()
    }
}
