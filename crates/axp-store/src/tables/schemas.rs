//! Payload schemas (contract §6 "Schemas").

use async_trait::async_trait;
use axp_core::WorkspaceId;
use axp_core::schema::Schema;

use crate::Result;

/// Table `schemas`: one row per scope and `semantic_type`, where the scope is a workspace (a
/// `tenant` schema) or the server (`core`, `workspace_id` none).
#[async_trait]
pub trait SchemaTable {
    /// The schema of type `semantic_type` in workspace `ws`'s tenant scope, or the core one
    /// when `ws` is `None` (locked with `for_update`).
    async fn schema(
        &mut self,
        ws: Option<WorkspaceId>,
        semantic_type: &str,
        for_update: bool,
    ) -> Result<Option<Schema>>;

    /// Inserts `schema`, or replaces the one of its scope (`schema.workspace_id`) and type.
    async fn put_schema(&mut self, schema: &Schema) -> Result<()>;

    /// Every schema workspace `ws` reads: its tenant ones and all core ones, in no order.
    async fn schemas_of(&mut self, ws: WorkspaceId) -> Result<Vec<Schema>>;
}

/// The `scope_key` column both backends key schemas by: the workspace id of a tenant schema,
/// `core` for the server's.
pub fn scope_key(ws: Option<WorkspaceId>) -> String {
    ws.map_or_else(|| "core".to_owned(), |ws| ws.to_string())
}
