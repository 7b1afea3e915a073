//! The audit log.

use async_trait::async_trait;
use axp_core::api::{AuditActor, AuditActorType, AuditEntry, AuditTarget};
use axp_store::AuditFilter;
use r2d2_sqlite::rusqlite::{Row, params};

use super::*;

/// An `audit_log` row as [`AuditTable::list_audit`] selects it.
struct Raw {
    audit_id: i64,
    org_id: String,
    workspace_id: Option<String>,
    actor_type: String,
    actor_id: String,
    action: String,
    target_type: String,
    target_id: String,
    trace_id: Option<String>,
    created_at: i64,
    details: String,
}

fn raw(r: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        audit_id: r.get(0)?,
        org_id: r.get(1)?,
        workspace_id: r.get(2)?,
        actor_type: r.get(3)?,
        actor_id: r.get(4)?,
        action: r.get(5)?,
        target_type: r.get(6)?,
        target_id: r.get(7)?,
        trace_id: r.get(8)?,
        created_at: r.get(9)?,
        details: r.get(10)?,
    })
}

impl Raw {
    fn entry(self) -> Result<AuditEntry> {
        let kind = AuditActorType::parse(&self.actor_type)
            .ok_or_else(|| Error::Internal(format!("unknown audit actor type {:?}", self.actor_type)))?;
        Ok(AuditEntry {
            audit_id: self.audit_id as u64,
            org_id: OrgId(uuid_of(&self.org_id)?),
            workspace_id: self.workspace_id.as_deref().map(uuid_of).transpose()?.map(WorkspaceId),
            actor: AuditActor { kind, id: self.actor_id },
            action: self.action,
            target: AuditTarget { kind: self.target_type, id: self.target_id },
            details: from_json(&self.details)?,
            trace_id: self.trace_id,
            created_at: Timestamp::from_millis(self.created_at),
        })
    }
}

#[async_trait]
impl AuditTable for SqliteTx<'_> {
    async fn insert_audit(&mut self, e: &AuditEntry) -> Result<u64> {
        self.conn
            .prepare_cached(
                "INSERT INTO audit_log (org_id, workspace_id, actor_type, actor_id, action, target_type,
                                        target_id, trace_id, created_at, details)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(db)?
            .execute(params![
                e.org_id.to_string(),
                e.workspace_id.map(|w| w.to_string()),
                e.actor.kind.as_str(),
                e.actor.id,
                e.action,
                e.target.kind,
                e.target.id,
                e.trace_id,
                e.created_at.as_millis(),
                to_json(&e.details)?
            ])
            .map_err(db)?;
        Ok(self.conn.last_insert_rowid() as u64)
    }

    /// One writer commits in id order, so every committed entry is visible in order already.
    async fn list_audit(&mut self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let sql =
            "SELECT audit_id, org_id, workspace_id, actor_type, actor_id, action, target_type, target_id,
                   trace_id, created_at, details
               FROM audit_log
              WHERE org_id = ?1
                AND (?2 IS NULL OR workspace_id = ?2 OR (?3 AND workspace_id IS NULL))
                AND (?4 IS NULL OR action = ?4)
                AND (?5 IS NULL OR actor_id = ?5)
                AND (?6 IS NULL OR target_id = ?6)
                AND (?7 IS NULL OR created_at >= ?7)
                AND (?8 IS NULL OR created_at < ?8)
                AND (?9 IS NULL OR audit_id < ?9)
              ORDER BY audit_id DESC LIMIT ?10";
        let mut stmt = self.conn.prepare_cached(sql).map_err(db)?;
        let rows = stmt
            .query_map(
                params![
                    f.org_id.to_string(),
                    f.workspace_id.map(|w| w.to_string()),
                    f.org_wide,
                    f.action,
                    f.actor_id,
                    f.target_id,
                    f.since.map(Timestamp::as_millis),
                    f.until.map(Timestamp::as_millis),
                    f.before.map(|b| b.min(i64::MAX as u64) as i64),
                    f.limit
                ],
                raw,
            )
            .map_err(db)?;
        rows.map(|r| r.map_err(db)?.entry()).collect()
    }
}
