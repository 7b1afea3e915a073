//! Retention: a workspace's overrides are its own and audited; finished intents are found by
//! when they finished and removed with every row of theirs; an unfinished intent is never
//! removed, whatever the caller asks; another workspace's rows are untouched.

use axp_core::api::actions;
use axp_core::lifecycle::{Command, Resolution};
use axp_core::retention::RetentionOverrides;
use axp_core::{EventType, Status};
use serde_json::json;

use super::{after_ms, by, create, new_intent, request, tenant};
use crate::{Audit, AuditFilter, Error, Principal, Store};

/// Creates an intent from `p` and completes it at `at_ms` after T0; returns its id.
async fn finished(store: &dyn Store, p: &Principal, at_ms: i64) -> axp_core::ids::IntentId {
    let id = create(store, p, new_intent(p, "agent://conformance/retained")).await;
    let done = Command::Resolve(Resolution::Completed(json!({"ok": true})));
    let out = store.execute(&p.tenant, id, request(done), after_ms(at_ms), None, &by()).await.unwrap();
    assert_eq!(out.intent.status, Status::Completed);
    id
}

pub(super) async fn overrides(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    assert_eq!(store.retention_overrides(&p.tenant).await.unwrap(), RetentionOverrides::default());
    let set =
        RetentionOverrides { intent_days: Some(7), dead_letter_days: None, webhook_event_days: Some(2) };
    let by = Audit::new(&p.actor, Some("trace-r".into()));
    let patch = json!({"intent_days": 7, "webhook_event_days": 2}).as_object().cloned().unwrap();
    assert_eq!(store.update_retention(&p.tenant, patch, after_ms(3), &by).await.unwrap(), set);
    // A second patch keeps the first one's fields.
    let patch = json!({"dead_letter_days": null}).as_object().cloned().unwrap();
    assert_eq!(store.update_retention(&p.tenant, patch, after_ms(4), &by).await.unwrap(), set);
    assert_eq!(store.retention_overrides(&p.tenant).await.unwrap(), set);
    assert_eq!(store.retention_overrides(&other.tenant).await.unwrap(), RetentionOverrides::default());
    let all = store.retention_workspaces().await.unwrap();
    assert!(all.contains(&(p.tenant.workspace_id, set)), "{all:?}");
    assert!(all.contains(&(other.tenant.workspace_id, RetentionOverrides::default())));

    let filter = AuditFilter {
        action: Some(actions::RETENTION_UPDATED.into()),
        ..AuditFilter::org(p.tenant.org_id, 10)
    };
    let (entries, _) = store.list_audit(&filter).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].details["intent_days"], 7);
    assert_eq!(entries[1].trace_id.as_deref(), Some("trace-r"));
    assert_eq!(entries[1].workspace_id, Some(p.tenant.workspace_id));
}

pub(super) async fn removal(store: &dyn Store) {
    let (p, _) = tenant(store).await;
    let (other, _) = tenant(store).await;
    let early = finished(store, &p, 1_000).await;
    let late = finished(store, &p, 5_000).await;
    let open = create(store, &p, new_intent(&p, "agent://conformance/retained")).await;
    let others = finished(store, &other, 1_000).await;
    let ws = p.tenant.workspace_id;

    // By when they finished, earliest first; never an unfinished one.
    assert_eq!(store.finished_intent_ids(ws, after_ms(1_000), 10).await.unwrap(), []);
    assert_eq!(store.finished_intent_ids(ws, after_ms(1_001), 10).await.unwrap(), [early]);
    assert_eq!(store.finished_intent_ids(ws, after_ms(9_000), 10).await.unwrap(), [early, late]);
    assert_eq!(store.finished_intent_ids(ws, after_ms(9_000), 1).await.unwrap(), [early]);

    // Read whole for the archive: the intent as it finished, its events in order.
    let records = store.finished_intents(ws, after_ms(2_000), 10, after_ms(9_000)).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].archived_at, after_ms(9_000));
    assert_eq!(records[0].intent, store.get_intent(&p.tenant, early).await.unwrap());
    let types: Vec<_> = records[0].events.iter().map(|e| (e.seq, e.event_type)).collect();
    assert_eq!(types.first(), Some(&(1, EventType::Created)));
    assert_eq!(types.last().map(|t| t.1), Some(EventType::Completed));
    assert!(types.windows(2).all(|w| w[0].0 + 1 == w[1].0), "{types:?}");

    // Only the finished ones go, whatever the caller asks; the other workspace's stay.
    assert_eq!(store.remove_finished_intents(ws, vec![early, open, others]).await.unwrap(), 1);
    assert!(matches!(store.get_intent(&p.tenant, early).await, Err(Error::NotFound)));
    assert!(matches!(store.events_since(&p.tenant, early, 0, 100).await, Err(Error::NotFound)));
    assert_eq!(store.get_intent(&p.tenant, open).await.unwrap().status, Status::Submitted);
    assert_eq!(store.get_intent(&other.tenant, others).await.unwrap().status, Status::Completed);
    assert_eq!(store.events_since(&other.tenant, others, 0, 100).await.unwrap().len(), 3);
    assert_eq!(store.finished_intent_ids(ws, after_ms(9_000), 10).await.unwrap(), [late]);
    assert_eq!(store.remove_finished_intents(ws, vec![early]).await.unwrap(), 0, "already gone");
    assert_eq!(store.remove_finished_intents(ws, vec![]).await.unwrap(), 0);
}
