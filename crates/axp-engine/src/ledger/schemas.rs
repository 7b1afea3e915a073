//! Payload schemas (contract §6 "Schemas"). The rules: an upsert replaces the schema of its
//! scope and type whole, keeping its `created_at` and the `schema_json` it replaced (what
//! `backward` still accepts); one that changes nothing writes nothing (the conformance suite
//! upserts the same schema on every run); every change is audited and announced
//! ([`Topic::Schemas`]), so every replica's schema cache starts over once it commits.

use axp_core::Timestamp;
use axp_core::api::{AuditTarget, actions};
use axp_core::schema::{Schema, SchemaScope, UpsertSchema};
use axp_store::{Audit, Error, Result, Tenant, Topic};
use serde_json::Value;

use super::Ledger;
use super::audit::{At, details, record};

impl Ledger {
    pub(super) async fn upsert_schema(
        &self,
        tenant: &Tenant,
        request: UpsertSchema,
        owner_agent: Option<String>,
        now: Timestamp,
        by: &Audit,
    ) -> Result<Schema> {
        let args = (tenant.clone(), request, owner_agent, now, by.clone());
        self.write(args, |(tenant, request, owner_agent, now, by), tx| {
            Box::pin(async move {
                let ws = (request.scope == SchemaScope::Tenant).then_some(tenant.workspace_id);
                let current = tx.schema(ws, &request.semantic_type, true).await?;
                if let Some(current) =
                    current.as_ref().filter(|c| c.unchanged_by(request, owner_agent.as_deref()))
                {
                    return Ok(current.clone());
                }
                let replaced = current.as_ref().map(|c| c.schema_json.clone());
                let previous_schema_json = match &current {
                    Some(c) if c.schema_hash != request.schema_hash => replaced,
                    Some(c) => c.previous_schema_json.clone(),
                    None => None,
                };
                let schema = Schema {
                    semantic_type: request.semantic_type.clone(),
                    schema_ref: request.schema_ref.clone(),
                    schema_hash: request.schema_hash.clone(),
                    compatibility_mode: request.compatibility_mode,
                    scope: request.scope,
                    owner_agent: owner_agent.clone(),
                    active: request.active,
                    schema_json: request.schema_json.clone(),
                    previous_schema_json,
                    workspace_id: ws,
                    created_at: current.as_ref().map_or(*now, |c| c.created_at),
                    updated_at: *now,
                };
                tx.put_schema(&schema).await?;
                let entry = details([
                    ("scope", Value::from(schema.scope.as_str())),
                    ("schema_hash", Value::from(schema.schema_hash.clone())),
                    ("compatibility_mode", Value::from(schema.compatibility_mode.as_str())),
                    ("active", Value::from(schema.active)),
                    ("replaced", Value::from(current.is_some())),
                ]);
                let target = AuditTarget::new("schema", &schema.semantic_type);
                record(tx, by, At::tenant(tenant, *now), actions::SCHEMA_UPSERTED, target, entry).await?;
                tx.announce(Topic::Schemas);
                Ok(schema)
            })
        })
        .await
    }

    pub(super) async fn get_schema(&self, tenant: &Tenant, semantic_type: &str) -> Result<Schema> {
        self.read((tenant.workspace_id, semantic_type.to_owned()), |(ws, semantic_type), tx| {
            Box::pin(async move {
                if let Some(own) = tx.schema(Some(*ws), semantic_type, false).await? {
                    return Ok(own);
                }
                tx.schema(None, semantic_type, false).await?.ok_or(Error::NotFound)
            })
        })
        .await
    }

    pub(super) async fn schemas_of(&self, tenant: &Tenant) -> Result<Vec<Schema>> {
        self.read(tenant.workspace_id, |ws, tx| Box::pin(tx.schemas_of(*ws))).await
    }
}
