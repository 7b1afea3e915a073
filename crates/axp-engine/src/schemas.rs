//! [`SchemaCache`]: the compiled payload schemas of each workspace, so that a create pays no
//! database read to learn whether its `intent_type` has a schema (contract §6 "Schemas").
//!
//! A workspace's entry holds every schema it reads (its own `tenant` ones over the `core`
//! ones), compiled once. Any schema change drops every entry: the ledger announces
//! [`axp_store::Topic::Schemas`] in the upsert's transaction, and the server's commit listener
//! calls [`SchemaCache::invalidate`] once it committed (on this replica before the upsert is
//! answered, on the others when the PostgreSQL notification arrives). While a replica cannot
//! hear the others (its listening connection is down) the cache is suspended and every lookup
//! reads the store. The mechanism is [`InvalidatedCache`]'s: a load that raced with a change is
//! not kept.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axp_core::WorkspaceId;
use axp_core::schema::{CompiledSchema, Schema, SchemaScope};
use axp_store::{InvalidatedCache, Result, Store, Tenant};

/// About the most workspaces remembered; past it `InvalidatedCache` evicts (its module doc says which).
const MAX_WORKSPACES: usize = 4096;

/// The active schemas one workspace's creates are checked against, by `semantic_type`.
#[derive(Default)]
pub struct WorkspaceSchemas(HashMap<String, Arc<CompiledSchema>>);

impl WorkspaceSchemas {
    /// From every schema the workspace reads: inactive ones are left out, and a tenant schema
    /// wins over a core one of the same type. One that no longer compiles is logged and left
    /// out (the upsert compiled it, so only a changed JSON Schema library gets here).
    pub fn new(schemas: Vec<Schema>) -> Self {
        let mut by_type: HashMap<String, Schema> = HashMap::new();
        for schema in schemas.into_iter().filter(|s| s.active) {
            let keep = match by_type.get(&schema.semantic_type) {
                Some(kept) => kept.scope == SchemaScope::Core && schema.scope == SchemaScope::Tenant,
                None => true,
            };
            if keep {
                by_type.insert(schema.semantic_type.clone(), schema);
            }
        }
        let compiled = by_type
            .into_iter()
            .filter_map(|(ty, schema)| match CompiledSchema::new(&schema) {
                Ok(c) => Some((ty, Arc::new(c))),
                Err(e) => {
                    tracing::warn!(semantic_type = %ty, error = %e, "a stored schema does not compile; not applied");
                    None
                }
            })
            .collect();
        Self(compiled)
    }

    /// The schema a create of `intent_type` is checked against, if any.
    pub fn get(&self, intent_type: &str) -> Option<&CompiledSchema> {
        self.0.get(intent_type).map(Arc::as_ref)
    }
}

/// See the module doc. Thread-safe; share it behind an `Arc`.
pub struct SchemaCache {
    entries: InvalidatedCache<WorkspaceId, Arc<WorkspaceSchemas>>,
    /// Store reads so far (for tests and metrics).
    loads: AtomicU64,
}

impl SchemaCache {
    /// An empty cache; `suspended` until [`SchemaCache::resume`] (a PostgreSQL replica starts
    /// so, until it listens).
    pub fn new(suspended: bool) -> Self {
        Self { entries: InvalidatedCache::new(MAX_WORKSPACES, suspended), loads: AtomicU64::new(0) }
    }

    /// The schemas `tenant`'s workspace reads: cached, or read from `store` and compiled.
    pub async fn of(&self, store: &dyn Store, tenant: &Tenant) -> Result<Arc<WorkspaceSchemas>> {
        if let Some(cached) = self.entries.get(&tenant.workspace_id) {
            return Ok(cached);
        }
        let generation = self.entries.generation();
        self.loads.fetch_add(1, Ordering::Relaxed);
        let loaded = Arc::new(WorkspaceSchemas::new(store.schemas_of(tenant).await?));
        self.entries.insert(tenant.workspace_id, loaded.clone(), generation);
        Ok(loaded)
    }

    /// How many times a lookup read the store.
    pub fn loads(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// A schema changed: forget everything.
    pub fn invalidate(&self) {
        self.entries.invalidate();
    }

    /// Changes cannot be heard: forget everything and keep nothing until resumed.
    pub fn suspend(&self) {
        self.entries.suspend();
    }

    /// Changes are heard again: cache from empty.
    pub fn resume(&self) {
        self.entries.resume();
    }
}

#[cfg(test)]
mod tests {
    use axp_core::Timestamp;
    use axp_core::schema::{CompatibilityMode, schema_hash};
    use serde_json::json;

    use super::*;

    fn schema(ty: &str, scope: SchemaScope, active: bool, required: &str) -> Schema {
        let schema_json = json!({"required": [required]}).as_object().cloned().unwrap();
        Schema {
            semantic_type: ty.into(),
            schema_ref: format!("schema://{ty}"),
            schema_hash: schema_hash(&schema_json),
            compatibility_mode: CompatibilityMode::Strict,
            scope,
            owner_agent: None,
            active,
            schema_json,
            previous_schema_json: None,
            workspace_id: (scope == SchemaScope::Tenant).then(WorkspaceId::new),
            created_at: Timestamp::default(),
            updated_at: Timestamp::default(),
        }
    }

    #[test]
    fn tenant_schemas_win_over_core_ones_and_inactive_ones_are_not_applied() {
        let payload = |k: &str| json!({ k: 1 }).as_object().cloned().unwrap();
        for order in [false, true] {
            let mut list = vec![
                schema("a.b.c.v1", SchemaScope::Core, true, "core"),
                schema("a.b.c.v1", SchemaScope::Tenant, true, "tenant"),
                schema("a.b.d.v1", SchemaScope::Tenant, false, "x"),
            ];
            if order {
                list.reverse();
            }
            let schemas = WorkspaceSchemas::new(list);
            let abc = schemas.get("a.b.c.v1").unwrap();
            assert!(abc.check(&payload("tenant")).is_ok());
            assert!(abc.check(&payload("core")).is_err());
            assert!(schemas.get("a.b.d.v1").is_none());
        }
    }
}
