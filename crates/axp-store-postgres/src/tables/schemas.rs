//! Payload schemas.

use async_trait::async_trait;
use axp_core::schema::Schema;

use super::*;

#[async_trait]
impl SchemaTable for PgTx {
    async fn schema(
        &mut self,
        ws: Option<WorkspaceId>,
        semantic_type: &str,
        for_update: bool,
    ) -> Result<Option<Schema>> {
        let sql = if for_update {
            "SELECT body FROM schemas WHERE scope_key = $1 AND semantic_type = $2 FOR UPDATE"
        } else {
            "SELECT body FROM schemas WHERE scope_key = $1 AND semantic_type = $2"
        };
        body(q(sql).bind(scope_key(ws)).bind(semantic_type).fetch_optional(self.conn()).await.map_err(db)?)
    }

    async fn put_schema(&mut self, s: &Schema) -> Result<()> {
        q("INSERT INTO schemas (scope_key, semantic_type, workspace_id, updated_at, body)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (scope_key, semantic_type)
           DO UPDATE SET updated_at = excluded.updated_at, body = excluded.body")
        .bind(scope_key(s.workspace_id))
        .bind(&s.semantic_type)
        .bind(s.workspace_id.map(|w| w.0))
        .bind(s.updated_at.as_millis())
        .bind(to_json(s)?)
        .execute(self.conn())
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn schemas_of(&mut self, ws: WorkspaceId) -> Result<Vec<Schema>> {
        bodies(
            q("SELECT body FROM schemas WHERE scope_key IN ($1, 'core')")
                .bind(ws.to_string())
                .fetch_all(self.conn())
                .await
                .map_err(db)?,
        )
    }
}
