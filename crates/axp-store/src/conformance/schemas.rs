//! Payload schemas: an upsert registers, replaces whole (keeping `created_at` and the replaced
//! `schema_json`) or, unchanged, writes nothing; every change is audited; a workspace reads its
//! own tenant schemas over the core ones, and never another workspace's.

use axp_core::api::actions;
use axp_core::schema::{CompatibilityMode, Schema, SchemaScope, UpsertSchema, upsert_request};
use serde_json::{Value, json};

use super::{after_ms, obj, slug, tenant};
use crate::{Audit, AuditFilter, Error, Store};

fn request(ty: &str, required: &str, mode: &str, scope: &str) -> UpsertSchema {
    let body = json!({
        "semantic_type": ty,
        "schema_json": {"type": "object", "required": [required]},
        "compatibility_mode": mode,
        "scope": scope,
    });
    upsert_request(&obj(body)).expect("a valid upsert")
}

pub(super) async fn registry(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    let by = Audit::new(&p.actor, Some("trace-s".into()));
    let ty = format!("conf.{}.thing.v1", slug());
    let owner = Some(p.agent_address.to_string());

    let first = request(&ty, "a", "strict", "tenant");
    let created =
        store.upsert_schema(&p.tenant, first.clone(), owner.clone(), after_ms(1), &by).await.unwrap();
    assert_eq!((created.scope, created.workspace_id), (SchemaScope::Tenant, Some(p.tenant.workspace_id)));
    assert_eq!((created.created_at, created.updated_at), (after_ms(1), after_ms(1)));
    assert_eq!(created.previous_schema_json, None);
    assert_eq!(store.get_schema(&p.tenant, &ty).await.unwrap(), created);
    assert!(
        matches!(store.get_schema(&other.tenant, &ty).await, Err(Error::NotFound)),
        "another workspace's"
    );
    assert!(store.schemas_of(&other.tenant).await.unwrap().iter().all(|s| s.semantic_type != ty));

    // The same upsert again changes nothing.
    let same = store.upsert_schema(&p.tenant, first.clone(), owner.clone(), after_ms(2), &by).await.unwrap();
    assert_eq!(same, created);

    // A new version replaces it whole, keeping what it replaced.
    let second = request(&ty, "b", "backward", "tenant");
    let replaced = store.upsert_schema(&p.tenant, second, owner.clone(), after_ms(3), &by).await.unwrap();
    assert_eq!((replaced.created_at, replaced.updated_at), (after_ms(1), after_ms(3)));
    assert_eq!(replaced.compatibility_mode, CompatibilityMode::Backward);
    assert_eq!(replaced.previous_schema_json.as_ref(), Some(&created.schema_json));
    assert_ne!(replaced.schema_hash, created.schema_hash);
    assert_eq!(store.get_schema(&p.tenant, &ty).await.unwrap(), replaced);

    let filter = AuditFilter {
        action: Some(actions::SCHEMA_UPSERTED.into()),
        ..AuditFilter::org(p.tenant.org_id, 10)
    };
    let (entries, _) = store.list_audit(&filter).await.unwrap();
    assert_eq!(entries.len(), 2, "the unchanged upsert is not audited");
    assert_eq!(
        entries.iter().map(|e| e.details["replaced"].clone()).collect::<Vec<_>>(),
        [Value::Bool(true), Value::Bool(false)]
    );
    assert!(entries.iter().all(|e| e.target.id == ty && e.trace_id.as_deref() == Some("trace-s")));

    // A core schema is read by every workspace; a workspace's own one of the type wins.
    let core_ty = format!("conf.{}.core.v1", slug());
    let core = request(&core_ty, "c", "warn", "core");
    let core = store.upsert_schema(&p.tenant, core, None, after_ms(4), &by).await.unwrap();
    assert_eq!((core.scope, core.workspace_id, core.owner_agent.as_deref()), (SchemaScope::Core, None, None));
    assert_eq!(store.get_schema(&other.tenant, &core_ty).await.unwrap(), core);
    let own = request(&core_ty, "d", "strict", "tenant");
    let own = store.upsert_schema(&other.tenant, own, None, after_ms(5), &by).await.unwrap();
    assert_eq!(store.get_schema(&other.tenant, &core_ty).await.unwrap(), own);
    assert_eq!(store.get_schema(&p.tenant, &core_ty).await.unwrap(), core, "still the core one");
    let read: Vec<Schema> = store.schemas_of(&other.tenant).await.unwrap();
    let of_type: Vec<_> = read.iter().filter(|s| s.semantic_type == core_ty).map(|s| s.scope).collect();
    assert_eq!(of_type.len(), 2);
    assert!(of_type.contains(&SchemaScope::Core) && of_type.contains(&SchemaScope::Tenant));
    assert!(read.iter().all(|s| s.semantic_type != ty), "not the other workspace's");
}
