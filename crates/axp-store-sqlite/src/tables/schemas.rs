//! Payload schemas.

use async_trait::async_trait;
use axp_core::schema::Schema;
use axp_store::tables::{SchemaTable, scope_key};
use r2d2_sqlite::rusqlite::{OptionalExtension, params};

use super::*;

#[async_trait]
impl SchemaTable for SqliteTx<'_> {
    async fn schema(
        &mut self,
        ws: Option<WorkspaceId>,
        semantic_type: &str,
        _for_update: bool,
    ) -> Result<Option<Schema>> {
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM schemas WHERE scope_key = ?1 AND semantic_type = ?2")
            .map_err(db)?
            .query_row(params![scope_key(ws), semantic_type], |r| r.get(0))
            .optional()
            .map_err(db)?;
        body.map(|b| from_json(&b)).transpose()
    }

    async fn put_schema(&mut self, s: &Schema) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO schemas (scope_key, semantic_type, workspace_id, updated_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (scope_key, semantic_type)
                 DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body",
            )
            .map_err(db)?
            .execute(params![
                scope_key(s.workspace_id),
                s.semantic_type,
                s.workspace_id.map(|w| w.to_string()),
                s.updated_at.as_millis(),
                to_json(s)?
            ])
            .map_err(db)?;
        Ok(())
    }

    async fn schemas_of(&mut self, ws: WorkspaceId) -> Result<Vec<Schema>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM schemas WHERE scope_key IN (?1, 'core')")
            .map_err(db)?;
        let rows = stmt.query_map(params![ws.to_string()], |r| r.get::<_, String>(0)).map_err(db)?;
        rows.map(|b| from_json(&b.map_err(db)?)).collect()
    }
}
